"""KID (Binkowski et al. 2018): unbiased MMD^2 with the cubic polynomial kernel on pool3 features.

k(x, y) = (x.y / d + 1)^3. For each of ``num_subsets`` draws of m = min(N1, N2, 1000) rows (without
replacement) from each set:
    MMD^2_u = sum_{i != j} [k(x_i, x_j) + k(y_i, y_j)] / (m (m - 1)) - 2 sum_{i, j} k(x_i, y_j) / m^2
KID is the mean over subsets (std reported too). Unbiased, so it can be slightly negative.
"""

from __future__ import annotations

import numpy as np

from common_tools.errors import UserError


def polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between two equal-size sets [m, d] with k(x, y) = (x.y / d + 1)^3."""
    m, d = x.shape
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    same = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(same - 2.0 * kxy.sum() / m**2)


def kid_from_features(f1: np.ndarray, f2: np.ndarray, num_subsets: int = 100, max_subset_size: int = 1000,
                      seed: int = 0) -> dict:
    """``{"kid": mean, "kid_std": std, "subset_size": m, "num_subsets": ...}`` over feature sets [N, d]."""
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1]:
        raise UserError(f"KID needs feature sets [N, d] of the same d, got {f1.shape} and {f2.shape}")
    m = min(len(f1), len(f2), max_subset_size)
    if m < 2:
        raise UserError(f"KID needs at least 2 samples per set, got {len(f1)} and {len(f2)}")
    rng = np.random.default_rng(seed)
    vals = np.array([polynomial_mmd2(f1[rng.choice(len(f1), m, replace=False)],
                                     f2[rng.choice(len(f2), m, replace=False)]) for _ in range(num_subsets)])
    return {"kid": float(vals.mean()), "kid_std": float(vals.std()), "subset_size": int(m),
            "num_subsets": int(num_subsets)}


def kid_between(real, fake, batch_size: int = 50, progress: bool = True, **kw) -> dict:
    """KID between two image sets (folder paths or arrays [N, H, W, 3] in [0, 255])."""
    from common_tools.metrics.fid import inception_features

    return kid_from_features(inception_features(real, batch_size, progress),
                             inception_features(fake, batch_size, progress), **kw)
