"""Evaluation metrics that agree with their published references (see docs in each module).

- ``psnr_ssim``: ``psnr``, ``ssim``, ``psnr_ssim_batch`` (Wang et al. SSIM; equals skimage/TF settings)
- ``fid``: ``inception_features``, ``fid_from_features``, ``fid_between`` (2015-12-05 Inception pool3)
- ``kid``: ``kid_from_features``, ``kid_between``; ``inception_score.inception_score``;
  ``swd.swd`` (PGGAN); ``msssim``: ``ms_ssim``, ``msssim_diversity`` (PGGAN diversity)
- ``attr_classifier``: the AttGAN-protocol attribute classifier, ``editing_accuracy``, ``domain_fid``,
  ``default_preprocess``, ``default_classifier_dir``

Importing this package loads numpy/scipy only; TensorFlow is imported when a network is needed.
CLI: ``python -m common_tools.metrics --help``.
"""

from common_tools.metrics.psnr_ssim import psnr, psnr_ssim_batch, ssim
from common_tools.metrics.attr_classifier import (AttributeClassifier, build_classifier, default_classifier_dir,
                                                  default_preprocess, domain_fid, editing_accuracy,
                                                  ensure_classifier, train_classifier)

# Functions importable from the package without loading their module up front. (The SWD and IS
# functions share their module's name, so they are reached as ``metrics.swd.swd`` and
# ``metrics.inception_score.inception_score``.)
_LAZY = {
    "inception_features": "fid", "fid_from_features": "fid", "fid_between": "fid",
    "kid_from_features": "kid", "kid_between": "kid",
    "msssim_diversity": "msssim", "ms_ssim": "msssim",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"common_tools.metrics.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'common_tools.metrics' has no attribute {name!r}")


__all__ = ["psnr", "ssim", "psnr_ssim_batch", "AttributeClassifier", "build_classifier", "train_classifier",
           "ensure_classifier", "editing_accuracy", "domain_fid", "default_preprocess", "default_classifier_dir",
           *_LAZY]
