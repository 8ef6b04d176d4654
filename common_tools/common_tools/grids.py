"""Image grids for training previews and demo pages (numpy + Pillow only).

Inputs are NHWC (or one HWC image): uint8 as is, or float with its range said explicitly by the
caller, ``value_range=(-1, 1)`` (a tanh output) or ``value_range=(0, 1)``. Nothing is guessed from
the pixels: a bright [-1, 1] image with no negative pixel still maps 0.0 to 128, and a float array
without ``value_range`` is a ValueError. Grayscale (C=1) is repeated to RGB; RGBA drops alpha.

    save_grid("runs/x/samples/step-100.png", fakes, nrow=5, value_range=(-1, 1))  # fakes: [N,128,128,3]
    row = hstack_with_gap([inputs, *results], gap=12, value_range=(-1, 1))        # input | gap | results
    save_png("strip.png", row)                                                    # uint8: no range needed
"""

from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np

VALUE_RANGES = ((-1.0, 1.0), (0.0, 1.0))


def _check_range(value_range) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"value_range must be (-1, 1) or (0, 1), got {value_range!r}") from None
    if (lo, hi) not in VALUE_RANGES:
        raise ValueError(f"value_range must be (-1, 1) or (0, 1), got {value_range!r}")
    return lo, hi


def to_uint8(images, *, value_range=None) -> np.ndarray:
    """Convert images to uint8. uint8 passes through, other integers are clipped to 0..255, bool is
    0/255; float needs ``value_range=(-1, 1)`` or ``(0, 1)`` (ValueError without it): lo -> 0, hi -> 255,
    values outside are clipped, NaN is lo and +-inf the nearer end.

        to_uint8(np.array([0.0, 0.5]), value_range=(-1, 1)).tolist() == [128, 191]
    """
    arr = np.asarray(images)
    if value_range is not None:
        lo, hi = _check_range(value_range)
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.integer):
        return np.clip(arr, 0, 255).astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"expected uint8, integer, bool or float images, got dtype {arr.dtype}")
    if value_range is None:
        raise ValueError(f"float images ({arr.dtype}, shape {arr.shape}) need value_range=(-1, 1) or "
                         f"(0, 1): the range is never guessed from the pixels")
    arr = np.nan_to_num(arr.astype(np.float32), nan=lo, posinf=hi, neginf=lo)
    arr = (arr - lo) / (hi - lo)
    return np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)


def _as_nhwc3(images, value_range=None) -> np.ndarray:
    arr = to_uint8(images, value_range=value_range)
    if arr.ndim == 2:
        arr = arr[None, :, :, None]
    elif arr.ndim == 3:
        arr = arr[None] if arr.shape[-1] in (1, 3, 4) else arr[..., None]
    if arr.ndim != 4:
        raise ValueError(f"expected images shaped [N,H,W,C], [H,W,C] or [H,W], got {arr.shape}")
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif arr.shape[-1] == 4:
        arr = arr[..., :3]
    elif arr.shape[-1] != 3:
        raise ValueError(f"expected 1, 3 or 4 channels, got {arr.shape[-1]}")
    return arr


def make_grid(images, nrow: int, padding: int = 2, pad_value: int = 255, *,
              value_range=None) -> np.ndarray:
    """Tile N images into rows of ``nrow`` with ``padding`` px borders; returns uint8 HxWx3.

    ``value_range``: (-1, 1) or (0, 1) for float images (see :func:`to_uint8`); None for uint8.
    """
    arr = _as_nhwc3(images, value_range)
    n, h, w, _ = arr.shape
    if n == 0:
        raise ValueError("make_grid needs at least one image")
    ncol = max(1, min(int(nrow), n))
    nrows = math.ceil(n / ncol)
    grid = np.full((nrows * (h + padding) + padding, ncol * (w + padding) + padding, 3),
                   pad_value, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, ncol)
        y, x = padding + r * (h + padding), padding + c * (w + padding)
        grid[y:y + h, x:x + w] = arr[i]
    return grid


def hstack_with_gap(images: Sequence, gap: int = 12, pad_value: int = 255, *,
                    value_range=None) -> np.ndarray:
    """Join images left to right: the first, a ``gap``-px blank column, then the rest side by side.

    Each item is one image (HWC) or a batch (NHWC, stacked vertically first); all must share H.
    ``value_range`` applies to every float item (see :func:`to_uint8`).
    """
    parts = []
    for item in images:
        arr = _as_nhwc3(item, value_range)
        parts.append(np.concatenate(list(arr), axis=0))  # batch -> one tall column
    if not parts:
        raise ValueError("hstack_with_gap needs at least one image")
    heights = {p.shape[0] for p in parts}
    if len(heights) != 1:
        raise ValueError(f"images must share one height, got {sorted(heights)}")
    first, rest = parts[0], parts[1:]
    if not rest:
        return first
    blank = np.full((first.shape[0], gap, 3), pad_value, dtype=np.uint8)
    return np.concatenate([first, blank, *rest], axis=1)


def save_png(path: str, image, *, value_range=None) -> str:
    """Save an HxW or HxWx{1,3,4} image as PNG; returns path. Float images need ``value_range``."""
    from PIL import Image

    arr = to_uint8(image, value_range=value_range)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    Image.fromarray(arr).save(path, format="PNG")
    return path


def save_grid(path: str, images, nrow: int, padding: int = 2, *, value_range=None) -> np.ndarray:
    """:func:`make_grid` then :func:`save_png`; returns the grid."""
    grid = make_grid(images, nrow, padding=padding, value_range=value_range)
    save_png(path, grid)
    return grid
