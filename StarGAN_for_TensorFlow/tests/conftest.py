"""Put StarGAN_for_TensorFlow/ on sys.path so tests import ``stargan``; a small SynthFaces set."""

import contextlib
import os
import sys
import warnings

import pytest

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if FOLDER not in sys.path:
    sys.path.insert(0, FOLDER)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def faces(tmp_path_factory):
    """24 SynthFaces in the CelebA layout (4 test images with the tiny preset's n_test)."""
    from common_tools.synthetic.faces import generate

    root = str(tmp_path_factory.mktemp("synthfaces"))
    generate(root, 24, seed=0)
    return {"root": root, "images": os.path.join(root, "img_align_celeba"),
            "attrs": os.path.join(root, "list_attr_celeba.txt")}


@contextlib.contextmanager
def eagerly():
    """Run the step's tf.functions eagerly: a few tiny steps cost less than tracing them. For tests
    of what surrounds the step (driver policies, files); the traced step has its own tests
    (test_stargan_step.py) and every CLI run traces it."""
    import tensorflow as tf

    tf.config.run_functions_eagerly(True)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Even though the `tf.config.experimental_run_functions")
            yield
    finally:
        tf.config.run_functions_eagerly(False)


@pytest.fixture(scope="session")
def eager_mode():
    """``with eager_mode(): ...`` (see :func:`eagerly`)."""
    return eagerly


@pytest.fixture(scope="session")
def trained(faces, tmp_path_factory):
    """A finished tiny run (4 iterations, checkpoints at 2 and 4), trained in this process."""
    from stargan.config import StarGANConfig
    from stargan.train import train

    out = str(tmp_path_factory.mktemp("run"))
    with open(os.devnull, "w") as quiet, eagerly():
        train(StarGANConfig.tiny(), out, faces["images"], faces["attrs"], stream=quiet)
    return out
