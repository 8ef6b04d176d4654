"""The card's test strips: per image one PNG, the input, a 12-px gap, then the results side by side.

Written by test.py (online G), bin2img.py (the offline model's outputs) and the training samples;
read back by psnr_ssim.py and att_classification/. Input and results go through ONE conversion
(``value_range=(-1, 1)``), so a strip of an unchanged image reads back pixel-identical.

    png = strip(x, [rec, flip1, ..., flip13])             # uint8 [S, S + 12 + 14·S, 3]
    stems, inputs, results = read_strips("output/demo/om_testing", size=64, n_results=14)
"""

from __future__ import annotations

import os

import numpy as np

from common_tools.errors import UserError
from common_tools.grids import hstack_with_gap

from . import data as data_lib

GAP = 12  # px between the input and the results


def strip(x, results) -> np.ndarray:
    """uint8 [S, S·(1+k) + GAP, 3] of an image x [S,S,3] and k results [S,S,3], all in [-1, 1]."""
    return hstack_with_gap([x, np.concatenate(list(results), axis=1)], gap=GAP, value_range=(-1, 1))


def single_strips(G, cfg, xa, a, test_int: float = 1.0) -> np.ndarray:
    """Strips of images xa [N,S,S,3] with labels a stacked vertically: input | reconstruction and
    the n_att single flips (the training samples)."""
    import tensorflow as tf

    a_ = data_lib.scale(a, cfg.thres_int)
    outs = [G(tf.constant(xa), tf.constant(b_ - a_), training=False).numpy()
            for b_ in data_lib.single_edits(a, cfg.atts, cfg.thres_int, test_int)]
    return np.concatenate([strip(x, [o[j] for o in outs]) for j, x in enumerate(xa)], axis=0)


def split_strip(image: np.ndarray, size: int, n_results: int | None = None, where: str = "a strip"):
    """Inverse of :func:`strip`: (input [S,S,3], results [k,S,S,3]) of a uint8 strip; ``n_results``
    (when given) is the k the strip must hold."""
    h, w = image.shape[:2]
    k, rem = divmod(w - size - GAP, size)
    if h != size or rem or k < 1:
        raise UserError(f"{where} is {w}x{h} px, which does not fit {size}-px images: expected height "
                        f"{size} and width {size} + {GAP} + k·{size} (a strip of test.py / bin2img.py)")
    if n_results is not None and k != n_results:
        raise UserError(f"{where} holds {k} results, expected {n_results} (the reconstruction and one "
                        "flip per attribute of this experiment): not a strip of this model")
    results = image[:, size + GAP:].reshape(size, k, size, 3).transpose(1, 0, 2, 3)
    return image[:, :size], results


def _names(img_dir: str) -> list:
    if not os.path.isdir(img_dir):
        raise UserError(f"strip folder not found: {img_dir} (expected test.py's or bin2img.py's --save_dir)")
    names = sorted(n for n in os.listdir(img_dir) if n.lower().endswith(".png"))
    if not names:
        raise UserError(f"no .png strips in {img_dir}: run test.py or bin2img.py first")
    return names


def read_image(path: str) -> np.ndarray:
    """uint8 RGB [H, W, 3] of an image file; one line naming the file when it cannot be read."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError, SyntaxError) as exc:
        raise UserError(f"cannot read strip {path}: {exc} (expected a PNG strip written by test.py "
                        "or bin2img.py)") from None


def strip_size(img_dir: str) -> int:
    """Image size of the strips in ``img_dir`` (the height of the first)."""
    return read_image(os.path.join(img_dir, _names(img_dir)[0])).shape[0]


def read_strips(img_dir: str, size: int, n_results: int | None = None):
    """(stems, inputs [N,S,S,3] uint8, results [N,k,S,S,3] uint8) of every .png strip in img_dir."""
    stems, inputs, results = [], [], []
    for name in _names(img_dir):
        path = os.path.join(img_dir, name)
        x, r = split_strip(read_image(path), size, n_results, where=f"strip {path}")
        stems.append(os.path.splitext(name)[0])
        inputs.append(x)
        results.append(r)
    return stems, np.stack(inputs), np.stack(results)
