"""FID with the 2015-12-05 Inception pool3 features (TTUR / pytorch-fid / clean-fid weights).

d^2 = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2), S with N - 1. The trace of the square root is
computed as Tr sqrt(A S2 A) with A = sqrt(S1), both from float64 symmetric eigen decompositions with
negative eigenvalues clipped to 0: (S1 S2)^1/2 is similar to A S2 A, which is symmetric PSD, so the
result is real by construction (no "imaginary component" failures of scipy.linalg.sqrtm). When one
side is an array of N <= 2048 images, the same quantity is computed exactly in that side's rank-(N-1)
eigenbasis (see :func:`trace_sqrt_product_low_rank`): milliseconds instead of two 2048x2048
decompositions.

Statistics of a folder are cached (key: absolute path + file names + mtimes + sizes + weights file)
under ``~/.cache/ganzoo/fid_stats`` (or ``cache_dir``), so a second FID against the same reals only
computes the fakes.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from typing import Sequence

import numpy as np

from common_tools.errors import UserError

MIN_SAMPLES = 2048
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


# ---- images ------------------------------------------------------------------------------------------

def list_images(folder: str) -> list[str]:
    """Image files of a folder (not recursive), sorted; UserError when missing or empty."""
    if not os.path.isdir(folder):
        raise UserError(f"image folder not found: {folder}")
    files = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTS))
    if not files:
        raise UserError(f"no images in {folder} (expected files ending in {', '.join(IMAGE_EXTS)})")
    return [os.path.join(folder, f) for f in files]


def load_image(path: str) -> np.ndarray:
    """An RGB uint8 image [H, W, 3]."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read image {path}: {exc}") from None


def check_images(images, what: str = "images") -> np.ndarray:
    """Validate an image batch [N, H, W, 3], uint8 or float in [0, 255]; returns it as float32."""
    x = np.asarray(images)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise UserError(f"{what}: expected an array [N, H, W, 3], got shape {x.shape}")
    if len(x) == 0:
        raise UserError(f"{what}: no images")
    if x.dtype != np.uint8:
        lo, hi = float(x.min()), float(x.max())
        if lo < -0.5 or hi > 255.5:
            raise UserError(f"{what}: values in [{lo:.3g}, {hi:.3g}]; expected uint8 or floats in [0, 255] "
                            "(for images in [-1, 1] pass (x + 1) * 127.5)")
        if hi <= 1.0:
            warnings.warn(f"{what}: float values all in [0, 1]; FID expects [0, 255] (pass x * 255)", stacklevel=3)
    return x.astype(np.float32)


def _batches(images, batch_size: int):
    """Yield float32 batches [n, H, W, 3] from an array, a list of arrays, or a list of file paths."""
    if isinstance(images, np.ndarray):
        for i in range(0, len(images), batch_size):
            yield images[i:i + batch_size].astype(np.float32)
        return
    for i in range(0, len(images), batch_size):
        items = [load_image(p) if isinstance(p, str) else np.asarray(p) for p in images[i:i + batch_size]]
        by_shape: dict[tuple, list] = {}
        for im in items:  # images of different sizes run in separate sub-batches
            by_shape.setdefault(im.shape, []).append(im)
        for group in by_shape.values():
            yield check_images(np.stack(group), "images").astype(np.float32)


def inception_features(images, batch_size: int = 50, progress: bool = True, npz_path: str | None = None) -> np.ndarray:
    """2048-d pool3 features [N, 2048] float64 of images [N, H, W, 3] in [0, 255] (any size).

    ``images``: an array (uint8 or float in [0, 255]), a list of such [H, W, 3] arrays or of image
    file paths, or a folder path.
    """
    from common_tools.metrics.inception import load_inception

    if isinstance(images, (str, os.PathLike)):
        images = list_images(os.fspath(images))
    elif isinstance(images, np.ndarray):
        images = check_images(images)
    if len(images) == 0:
        raise UserError("no images to compute Inception features of")
    model = load_inception(npz_path)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(images), desc="inception", unit="img", leave=False)
    feats = []
    for batch in _batches(images, batch_size):
        feats.append(np.asarray(model(batch), dtype=np.float64))
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    return np.concatenate(feats)


# ---- statistics and distance ----------------------------------------------------------------------------

def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) of features [N, d], sigma with N - 1."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise UserError(f"need features [N >= 2, d] for FID statistics, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr (S1 S2)^1/2 = Tr sqrt(A S2 A), A = sqrt(S1); float64 eigh, negative eigenvalues clipped."""
    a = _sqrt_psd(np.asarray(sigma1, np.float64))
    m = a @ np.asarray(sigma2, np.float64) @ a
    w = np.linalg.eigvalsh((m + m.T) / 2)
    return float(np.sqrt(np.clip(w, 0, None)).sum())


def trace_sqrt_product_low_rank(features1: np.ndarray, sigma2: np.ndarray) -> float:
    """The same Tr sqrt(A S2 A) when S1 comes from N1 <= d samples, without a d x d decomposition.

    S1 = X^T X / (N1 - 1) (X centred) has rank r < N1; its eigenvectors V [d, r] and eigenvalues L
    come from the symmetric eigen decomposition of the Gram matrix X X^T / (N1 - 1) (V = X^T U L^-1/2).
    With A = V L^1/2 V^T, the non-zero eigenvalues of A S2 A are those of L^1/2 (V^T S2 V) L^1/2 [r, r].
    """
    x = np.asarray(features1, np.float64)
    x = x - x.mean(axis=0)
    n = len(x) - 1
    w, u = np.linalg.eigh(x @ x.T / n)
    keep = w > max(w.max(), 0.0) * 1e-12
    w, u = w[keep], u[:, keep]
    v = x.T @ u / np.sqrt(n * w)                                   # [d, r], orthonormal columns
    half = np.sqrt(w)
    m = half[:, None] * (v.T @ np.asarray(sigma2, np.float64) @ v) * half[None, :]
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2, features1: np.ndarray | None = None) -> float:
    """d^2 from two (mu, sigma); pass ``features1`` (the samples behind sigma1) when there are fewer
    of them than dimensions, to take the exact low-rank route (much faster for d = 2048)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    if mu1.shape != mu2.shape:
        raise UserError(f"feature statistics differ in size: {mu1.shape} vs {mu2.shape}")
    diff = mu1 - mu2
    if features1 is not None and len(features1) <= len(mu1):
        tr = trace_sqrt_product_low_rank(features1, sigma2)
    else:
        tr = trace_sqrt_product(sigma1, sigma2)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr)


def _warn_few(n: int, what: str) -> None:
    if n < MIN_SAMPLES:
        warnings.warn(f"FID from {n} {what} samples is biased upward and noisy; the standard uses at least "
                      f"{MIN_SAMPLES} (papers: 10k-50k). Compare only numbers computed with the same N.",
                      stacklevel=3)


def fid_from_features(f1: np.ndarray, f2: np.ndarray) -> float:
    """FID between two feature sets [N1, d] and [N2, d]."""
    for f, what in ((f1, "first"), (f2, "second")):
        _warn_few(len(f), what)
    if len(f2) < len(f1):  # Tr sqrt(S1 S2) is symmetric: let the smaller set take the low-rank route
        f1, f2 = f2, f1
    return frechet_distance(*statistics(f1), *statistics(f2), features1=f1)


# ---- cached statistics of folders ------------------------------------------------------------------------

def stats_cache_dir(cache_dir: str | None = None) -> str:
    return cache_dir or os.path.join(os.path.expanduser("~"), ".cache", "ganzoo", "fid_stats")


def folder_key(folder: str, files: Sequence[str], npz_path: str | None = None) -> str:
    """Cache key of a folder's statistics: path, names, mtimes, sizes, and the weights file."""
    from common_tools.metrics import weights as W

    h = hashlib.sha1(os.path.abspath(folder).encode())
    for p in files:
        st = os.stat(p)
        h.update(f"\0{os.path.basename(p)}\0{st.st_mtime_ns}\0{st.st_size}".encode())
    wpath = npz_path or W.weights_path()
    if os.path.isfile(wpath):
        st = os.stat(wpath)
        h.update(f"\0weights\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()


def folder_statistics(folder: str, batch_size: int = 50, cache_dir: str | None = None,
                      progress: bool = True) -> tuple[np.ndarray, np.ndarray, int]:
    """(mu, sigma, n) of a folder's pool3 features, read from / written to the statistics cache."""
    files = list_images(folder)
    cdir = stats_cache_dir(cache_dir)
    path = os.path.join(cdir, folder_key(folder, files) + ".npz")
    if os.path.isfile(path):
        with np.load(path) as z:
            return z["mu"], z["sigma"], int(z["n"])
    feats = inception_features(files, batch_size=batch_size, progress=progress)
    mu, sigma = statistics(feats)
    os.makedirs(cdir, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}.npz"
    np.savez(tmp, mu=mu, sigma=sigma, n=len(feats), folder=os.path.abspath(folder))
    os.replace(tmp, path)
    return mu, sigma, len(feats)


def _stats(x, batch_size, cache_dir, progress, what):
    """(mu, sigma, n, features or None): folders go through the statistics cache."""
    if isinstance(x, (str, os.PathLike)):
        return (*folder_statistics(os.fspath(x), batch_size, cache_dir, progress), None)
    feats = inception_features(check_images(x, what), batch_size=batch_size, progress=progress)
    return (*statistics(feats), len(feats), feats)


def fid_between(real, fake, batch_size: int = 50, cache_dir: str | None = None, progress: bool = True) -> float:
    """FID between two image sets, each a folder path or an array [N, H, W, 3] (uint8 or float in [0, 255])."""
    mu1, s1, n1, f1 = _stats(real, batch_size, cache_dir, progress, "real images")
    mu2, s2, n2, f2 = _stats(fake, batch_size, cache_dir, progress, "fake images")
    _warn_few(n1, "real")
    _warn_few(n2, "fake")
    if f1 is None or (f2 is not None and n2 < n1):  # the array side (smaller if both) goes low-rank
        return frechet_distance(mu2, s2, mu1, s1, features1=f2)
    return frechet_distance(mu1, s1, mu2, s2, features1=f1)
