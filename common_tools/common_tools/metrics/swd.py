"""Sliced Wasserstein distance on Laplacian-pyramid patches, the PGGAN paper's metric (Karras et al. 2018).

Per set of images (uint8-range values, [N, H, W, 3]):
- Laplacian pyramid from full size down to 16x16: kernel [1,4,6,4,1]^T[1,4,6,4,1]/256 with mirror
  padding; down = blur then every second pixel; up = zero-insert then blur x4; level = x - up(down(x)),
  the last level is the 16x16 low-pass image.
- Per image and level: 128 random 7x7x3 patches (fully inside the image) -> 147-d descriptors.
- Per level and set: normalise each colour channel by the mean and std over all its descriptors.
- SWD between the real and fake descriptor sets of a level: 4 repeats x 128 random unit directions;
  project, sort, mean |difference|; mean over repeats. Reported x 1e3 per level, plus their average.
Both sets must have the same number of images (the paper uses 16,384). Deterministic for a ``seed``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from common_tools.errors import UserError

NHOOD_SIZE = 7
NHOODS_PER_IMAGE = 128
DIR_REPEATS = 4
DIRS_PER_REPEAT = 128
_BINOMIAL = np.float32([1, 4, 6, 4, 1])
GAUSS_5x5 = np.outer(_BINOMIAL, _BINOMIAL) / 256.0


def pyr_down(x: np.ndarray) -> np.ndarray:
    """[N, C, H, W] -> [N, C, H/2, W/2]: 5x5 binomial blur (mirror), keep every second pixel."""
    return ndimage.convolve(x, GAUSS_5x5[None, None], mode="mirror")[:, :, ::2, ::2]


def pyr_up(x: np.ndarray) -> np.ndarray:
    """[N, C, H, W] -> [N, C, 2H, 2W]: zero-insert, blur with 4x the kernel (mirror)."""
    n, c, h, w = x.shape
    up = np.zeros((n, c, 2 * h, 2 * w), x.dtype)
    up[:, :, ::2, ::2] = x
    return ndimage.convolve(up, GAUSS_5x5[None, None] * 4.0, mode="mirror")


def laplacian_pyramid(x: np.ndarray, num_levels: int) -> list[np.ndarray]:
    pyramid = [np.array(x, dtype=np.float32)]  # a copy: levels are updated in place
    for _ in range(1, num_levels):
        pyramid.append(pyr_down(pyramid[-1]))
        pyramid[-2] -= pyr_up(pyramid[-1])
    return pyramid


def pyramid_resolutions(size: int) -> list[int]:
    res, out = size, []
    while res >= 16:
        out.append(res)
        res //= 2
    return out


def patch_descriptors(level: np.ndarray, rng: np.random.Generator, nhood_size: int = NHOOD_SIZE,
                      per_image: int = NHOODS_PER_IMAGE) -> np.ndarray:
    """Random patches [N * per_image, C, k, k] of a pyramid level [N, C, H, W]; centres >= k//2 from edges."""
    n, c, h, w = level.shape
    r = nhood_size // 2
    img = np.repeat(np.arange(n), per_image)
    ys = rng.integers(r, h - r, size=len(img))
    xs = rng.integers(r, w - r, size=len(img))
    offs = np.arange(-r, r + 1)
    rows = (ys[:, None] + offs)[:, None, :, None]  # [M, 1, k, 1]
    cols = (xs[:, None] + offs)[:, None, None, :]  # [M, 1, 1, k]
    return level[img[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols]


def normalize_descriptors(desc: np.ndarray) -> np.ndarray:
    """Per colour channel over all descriptors of a level and set; -> [M, C*k*k]."""
    desc = desc - desc.mean(axis=(0, 2, 3), keepdims=True)
    desc = desc / desc.std(axis=(0, 2, 3), keepdims=True)
    return desc.reshape(len(desc), -1)


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, rng: np.random.Generator,
                       dir_repeats: int = DIR_REPEATS, dirs_per_repeat: int = DIRS_PER_REPEAT) -> float:
    """Mean over repeats of mean |sort(a.d) - sort(b.d)| over random unit directions d."""
    if a.shape != b.shape:
        raise UserError(f"SWD needs descriptor sets of equal shape, got {a.shape} and {b.shape} "
                        "(use the same number of real and fake images)")
    results = []
    for _ in range(dir_repeats):
        dirs = rng.standard_normal((a.shape[1], dirs_per_repeat))
        dirs /= np.sqrt(np.sum(dirs**2, axis=0, keepdims=True))
        dirs = dirs.astype(np.float32)
        pa = np.sort(a @ dirs, axis=0)
        pb = np.sort(b @ dirs, axis=0)
        results.append(np.mean(np.abs(pa - pb)))
    return float(np.mean(results))


def _nchw(images, what: str) -> np.ndarray:
    x = np.asarray(images)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise UserError(f"SWD {what}: expected [N, H, W, 3] images, got shape {x.shape}")
    if x.shape[1] != x.shape[2] or x.shape[1] < 16:
        raise UserError(f"SWD {what}: expected square images of at least 16x16, got {x.shape[2]}x{x.shape[1]} "
                        "(bring the reals to the generator's resolution first, as the PGGAN metric does)")
    return np.float32(x).transpose(0, 3, 1, 2)


def level_descriptors(images, rng: np.random.Generator, batch_size: int = 64, what: str = "images") -> list[np.ndarray]:
    """Normalised descriptors per pyramid level for one image set [N, H, W, 3] (0..255 values)."""
    x = _nchw(images, what)
    levels = len(pyramid_resolutions(x.shape[2]))
    per_level: list[list[np.ndarray]] = [[] for _ in range(levels)]
    for i in range(0, len(x), batch_size):
        for lod, level in enumerate(laplacian_pyramid(x[i:i + batch_size], levels)):
            per_level[lod].append(patch_descriptors(level, rng))
    return [normalize_descriptors(np.concatenate(d)) for d in per_level]


def swd(real, fake, seed: int = 0) -> dict:
    """SWD x 1e3 per pyramid level (``"swd_<res>"``) and their average ``"swd_avg"``.

    ``real``, ``fake``: arrays [N, H, W, 3] with the same N and size, uint8 or 0..255 floats.
    """
    real, fake = np.asarray(real), np.asarray(fake)
    if real.shape != fake.shape:
        raise UserError(f"SWD needs real and fake sets of the same shape, got {real.shape} and {fake.shape}")
    rng = np.random.default_rng(seed)
    d_real = level_descriptors(real, rng, what="real")
    d_fake = level_descriptors(fake, rng, what="fake")
    dists = [sliced_wasserstein(a, b, rng) * 1e3 for a, b in zip(d_real, d_fake)]
    out = {f"swd_{res}": d for res, d in zip(pyramid_resolutions(real.shape[1]), dists)}
    out["swd_avg"] = float(np.mean(dists))
    out["n"] = int(len(real))
    return out
