"""Image grids for training previews and demo pages (numpy + Pillow only).

Inputs are NHWC (or one HWC image) float in [-1, 1] (detected by a negative minimum), float in
[0, 1], or uint8. Grayscale (C=1) is repeated to RGB; RGBA drops alpha.

    save_grid("runs/x/samples/step-100.png", fakes, nrow=5)   # fakes: [N,128,128,3] in [-1,1]
    row = hstack_with_gap([inputs, *results], gap=12)          # STGAN test row
"""

from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np


def to_uint8(images) -> np.ndarray:
    """Convert images to uint8: float in [-1,1] (if min < 0) or [0,1] are scaled; uint8 passes through."""
    arr = np.asarray(images)
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.integer):
        return np.clip(arr, 0, 255).astype(np.uint8)
    arr = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
    if arr.size and arr.min() < 0:
        arr = (arr + 1.0) / 2.0
    return np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)


def _as_nhwc3(images) -> np.ndarray:
    arr = to_uint8(images)
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


def make_grid(images, nrow: int, padding: int = 2, pad_value: int = 255) -> np.ndarray:
    """Tile N images into rows of ``nrow`` with ``padding`` px borders; returns uint8 HxWx3."""
    arr = _as_nhwc3(images)
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


def hstack_with_gap(images: Sequence, gap: int = 12, pad_value: int = 255) -> np.ndarray:
    """Join images left to right: the first, a ``gap``-px blank column, then the rest side by side.

    Each item is one image (HWC) or a batch (NHWC, stacked vertically first); all must share H.
    """
    parts = []
    for item in images:
        arr = _as_nhwc3(item)
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


def save_png(path: str, uint8_image) -> str:
    """Save an HxW or HxWx{1,3,4} image (any range :func:`to_uint8` accepts) as PNG; returns path."""
    from PIL import Image

    arr = to_uint8(uint8_image)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    Image.fromarray(arr).save(path, format="PNG")
    return path


def save_grid(path: str, images, nrow: int, padding: int = 2) -> np.ndarray:
    """:func:`make_grid` then :func:`save_png`; returns the grid."""
    grid = make_grid(images, nrow, padding=padding)
    save_png(path, grid)
    return grid
