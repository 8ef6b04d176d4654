"""PGAN's quality figures from ``common_tools.metrics``: the PGGAN paper's sliced Wasserstein distance
per Laplacian level (real vs generated), MS-SSIM of generated pairs (diversity, lower = more diverse;
the card reports 0.2948 on GPU), and FID only where TensorFlow and the Inception weights are there
(a MindSpore project never needs TensorFlow: without it FID is skipped with the reason).

    G, info = load_generator("runs/pgan/checkpoints/AvG_900.ckpt")
    faces = ImageFolder("runs/data/synthfaces")
    figures = quality(G, faces, n=256)     # {"swd": {"swd_16": .., "swd_avg": ..}, "msssim": .., "fid": None, ...}

SWD needs images of at least 16 x 16 (its pyramid stops at 16); MS-SSIM's five scales need 16 too.
Smaller generators get ``None`` with the reason in ``notes``. The paper uses 16,384 images for SWD
and 10,000 pairs for MS-SSIM; fewer give noisier figures (``n`` is reported).
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

from .inference import generate

SWD_MIN = 16
CARD_MSSSIM = 0.2948  # the card's GPU figure at 128 x 128 on CelebA


def real_images(data, n: int, size: int, start: int = 0) -> np.ndarray:
    """uint8 [n, size, size, 3] from an ImageFolder-like ``data`` (its ``batch`` in [-1, 1], NCHW)."""
    x = data.batch(start, n, size)
    return np.round((np.clip(x, -1.0, 1.0).transpose(0, 2, 3, 1) + 1.0) * 127.5).astype(np.uint8)


def fake_images(G, n: int, seed: int = 1, alpha: float = 0.0) -> np.ndarray:
    """uint8 [n, R, R, 3] of G on ``n`` seeded latents (the card's eval noise for seed 1)."""
    z = np.random.RandomState(seed).randn(n, G.latent_dim).astype(np.float32)
    return generate(G, z, alpha)


def fid_status() -> tuple:
    """(True, "") when FID can run here, else (False, why): it needs TensorFlow and the Inception weights."""
    if importlib.util.find_spec("tensorflow") is None:
        return False, "FID skipped: TensorFlow is not installed (a MindSpore project does not need it)"
    from common_tools.metrics import weights

    if not os.path.isfile(weights.weights_path()):
        return False, "FID skipped: no Inception weights (make weights)"
    return True, ""


def quality(G, data, n: int = 256, seed: int = 1, fid: bool = False) -> dict:
    """SWD (real vs fake) per level, MS-SSIM of fake pairs, FID when ``fid`` and available."""
    from common_tools.metrics.msssim import msssim_diversity
    from common_tools.metrics.swd import swd

    r = G.resolution
    out = {"resolution": r, "n": int(n), "swd": None, "msssim": None, "fid": None, "notes": []}
    fakes = fake_images(G, n, seed)
    if r < SWD_MIN:
        out["notes"].append(f"SWD and MS-SSIM need >= {SWD_MIN} px; this generator is {r}x{r}")
        return out
    reals = real_images(data, n, r)
    out["swd"] = {k: float(v) for k, v in swd(reals, fakes, seed=seed).items() if k != "n"}
    ms = msssim_diversity(fakes)
    out["msssim"], out["msssim_pairs"] = ms["msssim"], ms["pairs"]
    out["msssim_reals"] = msssim_diversity(reals)["msssim"]     # the data's own diversity, for scale
    if fid:
        ok, why = fid_status()
        if ok:
            from common_tools.metrics.fid import fid_between

            out["fid"] = float(fid_between(reals, fakes, progress=False))
        else:
            out["notes"].append(why)
    return out
