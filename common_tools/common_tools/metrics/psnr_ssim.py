"""PSNR and SSIM with the settings of Wang et al. 2004 (numpy/scipy only).

SSIM: 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, population covariance, computed per
channel and averaged over channels, then over the valid pixels only. "Valid" means the mean is taken
over the pixels whose whole 11x11 window lies inside the image, which is what BOTH references do:

- ``tf.image.ssim(a, b, max_val=255, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03)`` filters
  with a VALID convolution;
- ``skimage.metrics.structural_similarity(a, b, data_range=255, channel_axis=-1,
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`` filters with reflect padding and
  then crops (win_size - 1) / 2 = 5 pixels per side before averaging, which leaves exactly the VALID
  region; its Gaussian is truncated at 3.5 sigma = radius 5, i.e. the same 11 taps.

So one implementation equals both: skimage to ~1e-15 (both float64), TF to ~1e-7 (TF works in float32).
skimage's *defaults* (7x7 uniform window, sample covariance) give a different number.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage

from common_tools.errors import UserError

WIN_SIZE = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03


def _gaussian_taps(size: int = WIN_SIZE, sigma: float = SIGMA) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-0.5 * (x / sigma) ** 2)
    return g / g.sum()


def _as_pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise UserError(f"images differ in shape: {a.shape} vs {b.shape}; expected equal [H, W] or [H, W, C]")
    if a.ndim not in (2, 3):
        raise UserError(f"expected an image [H, W] or [H, W, C], got shape {a.shape}")
    return a.astype(np.float64), b.astype(np.float64)


def psnr(a, b, data_range: float = 255) -> float:
    """Peak signal-to-noise ratio in dB, 10*log10(MAX^2 / MSE); ``inf`` for identical images."""
    a, b = _as_pair(a, b)
    mse = np.mean((a - b) ** 2)
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(data_range**2 / mse))


def _valid_filter(x: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable correlation of a 2-D array, keeping only the VALID region."""
    pad = (len(taps) - 1) // 2
    y = ndimage.correlate1d(x, taps, axis=0, mode="reflect")
    y = ndimage.correlate1d(y, taps, axis=1, mode="reflect")
    return y[pad:-pad, pad:-pad]


def _ssim_channel(x: np.ndarray, y: np.ndarray, data_range: float, taps: np.ndarray) -> float:
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    ux, uy = _valid_filter(x, taps), _valid_filter(y, taps)
    uxx, uyy, uxy = _valid_filter(x * x, taps), _valid_filter(y * y, taps), _valid_filter(x * y, taps)
    vx = uxx - ux * ux  # population (co)variances
    vy = uyy - uy * uy
    vxy = uxy - ux * uy
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    return float(s.mean(dtype=np.float64))


def ssim(a, b, data_range: float = 255) -> float:
    """Mean SSIM of one image pair ([H, W] or [H, W, C]); H and W must be at least 11."""
    a, b = _as_pair(a, b)
    if min(a.shape[:2]) < WIN_SIZE:
        raise UserError(f"SSIM needs images of at least {WIN_SIZE}x{WIN_SIZE} pixels, got {a.shape[:2]}")
    taps = _gaussian_taps()
    if a.ndim == 2:
        return _ssim_channel(a, b, data_range, taps)
    return float(np.mean([_ssim_channel(a[..., c], b[..., c], data_range, taps) for c in range(a.shape[-1])]))


def psnr_ssim_batch(A: Sequence | np.ndarray, B: Sequence | np.ndarray, data_range: float = 255) -> dict:
    """Mean PSNR and SSIM over image pairs ``A[i], B[i]``: ``{"psnr", "ssim", "n"}``.

    A PSNR of ``inf`` (an identical pair) makes the mean ``inf``; ``psnr_finite_n`` counts the others.
    """
    if len(A) != len(B):
        raise UserError(f"got {len(A)} images against {len(B)}; expected the same number of each")
    if len(A) == 0:
        raise UserError("no images to compare")
    p = np.array([psnr(a, b, data_range) for a, b in zip(A, B)])
    s = np.array([ssim(a, b, data_range) for a, b in zip(A, B)])
    return {"psnr": float(p.mean()), "ssim": float(s.mean()), "n": int(len(p)),
            "psnr_finite_n": int(np.isfinite(p).sum())}
