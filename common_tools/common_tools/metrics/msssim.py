"""MS-SSIM (Wang et al. 2003) as the PGGAN paper uses it for diversity: lower = more diverse.

Per image pair at each of 5 scales: SSIM/contrast-structure with an 11x11 Gaussian (sigma 1.5, both
shrunk when the image is smaller than 11 px: size = min(11, H, W), sigma = 1.5 * size / 11), VALID
filtering, K1 0.01, K2 0.03, MAX 255, mean over pixels and channels; then 2x2 average downsampling.
MS-SSIM = prod_{s<5} cs_s^w_s * ssim_5^w_5, weights [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
(values clipped at 0). The diversity score pairs consecutive images (0, 1), (2, 3), ... and averages.
"""

from __future__ import annotations

import numpy as np

from common_tools.errors import UserError

WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])


def _gauss_taps(size: int, sigma: float) -> np.ndarray:
    offset = 0.5 if size % 2 == 0 else 0.0
    x = np.arange(size) - size // 2 + offset
    g = np.exp(-(x**2) / (2.0 * sigma**2))
    return g / g.sum()  # the 2-D window is outer(g, g), already normalised


def _blur_valid(x: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """VALID correlation of [N, H, W, C] with the separable window along H then W."""
    k = len(taps)
    x = np.lib.stride_tricks.sliding_window_view(x, k, axis=1) @ taps
    return np.lib.stride_tricks.sliding_window_view(x, k, axis=2) @ taps


def ssim_and_cs(a: np.ndarray, b: np.ndarray, max_val: float = 255.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-image mean SSIM and contrast-structure term of batches [N, H, W, C]."""
    _, h, w, _ = a.shape
    size = min(11, h, w)
    taps = _gauss_taps(size, 1.5 * size / 11)
    mu1, mu2 = _blur_valid(a, taps), _blur_valid(b, taps)
    s11 = _blur_valid(a * a, taps) - mu1 * mu1
    s22 = _blur_valid(b * b, taps) - mu2 * mu2
    s12 = _blur_valid(a * b, taps) - mu1 * mu2
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
    v1, v2 = 2.0 * s12 + c2, s11 + s22 + c2
    ssim = np.mean((2.0 * mu1 * mu2 + c1) * v1 / ((mu1 * mu1 + mu2 * mu2 + c1) * v2), axis=(1, 2, 3))
    return ssim, np.mean(v1 / v2, axis=(1, 2, 3))


def _downsample(x: np.ndarray) -> np.ndarray:
    h, w = x.shape[1] // 2 * 2, x.shape[2] // 2 * 2
    x = x[:, :h, :w]
    return (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2]) * 0.25


def ms_ssim(a, b, max_val: float = 255.0) -> np.ndarray:
    """MS-SSIM per pair of batches [N, H, W, C] (float64) -> [N]."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 4:
        raise UserError(f"MS-SSIM needs two batches [N, H, W, C] of one shape, got {a.shape} and {b.shape}")
    if min(a.shape[1:3]) < 2 ** (len(WEIGHTS) - 1):
        raise UserError(f"MS-SSIM needs images of at least {2 ** (len(WEIGHTS) - 1)} px for 5 scales, got {a.shape[1:3]}")
    ssims, css = [], []
    for _ in WEIGHTS:
        s, cs = ssim_and_cs(a, b, max_val)
        ssims.append(s)
        css.append(cs)
        a, b = _downsample(a), _downsample(b)
    ssims = np.clip(np.array(ssims), 0, None)
    css = np.clip(np.array(css), 0, None)
    return np.prod(css[:-1] ** WEIGHTS[:-1, None], axis=0) * ssims[-1] ** WEIGHTS[-1]


def msssim_diversity(images, max_val: float = 255.0, batch_size: int = 256) -> dict:
    """Mean MS-SSIM over consecutive pairs (0, 1), (2, 3), ... of a set [N, H, W, 3]; lower = more diverse."""
    x = np.asarray(images)
    if x.ndim != 4 or len(x) < 2:
        raise UserError(f"MS-SSIM diversity needs at least 2 images [N, H, W, C], got shape {x.shape}")
    n = len(x) // 2 * 2
    scores = np.concatenate([ms_ssim(x[i:min(i + batch_size, n):2], x[i + 1:min(i + batch_size, n):2], max_val)
                             for i in range(0, n, batch_size)])
    return {"msssim": float(scores.mean()), "msssim_std": float(scores.std()), "pairs": int(len(scores))}
