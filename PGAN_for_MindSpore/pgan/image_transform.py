"""The card's image transforms (src/image_transform.py): crop the face box, resize to the scale,
scale to [-1, 1] and lay out NCHW.

    box = crop_box(178, 218, (89, 121, 128))     # (25, 57, 153, 185): CelebA's aligned face box
    face = crop_and_resize(pil_image, (89, 121, 128), 8)   # uint8 [8, 8, 3], PIL bilinear
    x = to_model_input(np.stack(faces))          # float32 [N, 3, 8, 8], x / 127.5 - 1

The crop is a ``size`` square centred at (``cx``, ``cy``); an image too small for it is
centre-cropped to its largest square instead (:func:`crop_box` returns ``None`` for the box then,
and :func:`crop_and_resize` says so through its second value).
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def crop_box(width: int, height: int, crop) -> "tuple | None":
    """The (left, top, right, bottom) of the ``crop = (cx, cy, size)`` box, or None if it does not fit."""
    cx, cy, side = (int(v) for v in crop)
    left, top = cx - side // 2, cy - side // 2
    if left < 0 or top < 0 or left + side > width or top + side > height:
        return None
    return left, top, left + side, top + side


def centre_square(width: int, height: int) -> tuple:
    """The largest centred square of a ``width`` x ``height`` image."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def crop_and_resize(img: Image.Image, crop, size: int) -> "tuple[np.ndarray, bool]":
    """uint8 [size, size, 3]: the card's Crop then Resize (bilinear) of ``img``; and whether the box
    did not fit (the image was centre-cropped instead)."""
    img = img.convert("RGB")
    box = crop_box(img.width, img.height, crop)
    fell_back = box is None
    if fell_back:
        box = centre_square(img.width, img.height)
    return np.asarray(img.crop(box).resize((size, size), resample=Image.BILINEAR), np.uint8), fell_back


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W, 3] -> float32 [N, 3, H, W] in [-1, 1] (x / 127.5 - 1, the card's Normalize + HWC2CHW)."""
    x = np.asarray(images, np.float32) / 127.5 - 1.0
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
