"""SynthDigits: an MNIST-format digit data set drawn from stroke shapes.

``generate(out, num, seed, num_test=None)`` writes the four files of the MNIST release, gzipped IDX
exactly as MNIST ships them (magic 2051 / 2049, big-endian sizes), so :func:`common_tools.imagesets.load_mnist`
reads them like the real ones::

    <out>/train-images-idx3-ubyte.gz   uint8 [num, 28, 28], white digit on black (0 background)
    <out>/train-labels-idx1-ubyte.gz   uint8 [num], 0..9
    <out>/t10k-images-idx3-ubyte.gz    uint8 [num_test, 28, 28]  (num_test: max(10, num / 6) by default,
    <out>/t10k-labels-idx1-ubyte.gz    uint8 [num_test]           MNIST's 60,000 : 10,000)

How a digit is drawn (:func:`draw_digits`, numpy only, vectorised over a batch):

- Shape: each class has one to three stroke templates (polylines and elliptic arcs in a 1.2 x 2
  box, e.g. a 7 with or without a crossbar, an open or closed 4, a 1 with a flag and a base), given
  as line segments.
- Style: a smooth random warp of the template (two sinusoidal displacement fields, so joined
  strokes stay joined), then a random affine: rotation +-15 deg, shear +-0.3, aspect 0.75-1.25.
- Placement as in MNIST: the digit's box is scaled to fit 16-20 pixels and its stroke centre of mass
  put at the image centre, +-1.5 pixels (moved back in where the ink would come within 1 pixel of
  the border).
- Ink: the distance of every pixel centre to the nearest segment (a [B, segments, 784] field),
  turned into a stroke of half-width 0.7-1.9 pixels with an anti-aliased edge of 0.7-1.5 pixels;
  peak brightness 0.8-1.0, multiplicative ink noise (sd 0-8 %) on the stroke and additive noise
  (sd 0-3 %, biased down by one sd and clipped at 0, so about 85 % of the background stays exactly 0
  as in MNIST and the rest is faint speckle).

Determinism: image ``i`` of a split depends only on (seed, split, i // 1000), so the same seed gives
the same bytes and a smaller ``num`` gives a prefix of a larger one. Labels are balanced: every
block of 10 consecutive images holds each digit once, in random order. Speed: several thousand
images per second on one core.

    python -m common_tools.synthetic digits --out runs/data/synthdigits --num 60000 --seed 0
    python -m common_tools.synthetic digits-grid --out docs/images/synthdigits_grid.png
"""

from __future__ import annotations

import argparse
import os
from typing import List, Optional, Tuple

import numpy as np

from common_tools.errors import UserError
from common_tools.imagesets import MNIST_FILES, write_idx

SIZE = 28          # image side, pixels
CHUNK = 1000       # images drawn from one random stream (seed, split, chunk)
_SPLIT_ID = {"train": 0, "test": 1}

Polyline = List[Tuple[float, float]]


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int) -> Polyline:
    """Points of an elliptic arc, angles in degrees, y down (0 right, 90 bottom, 180 left, 270 top)."""
    t = np.radians(np.linspace(a0, a1, n + 1))
    return list(zip((cx + rx * np.cos(t)).tolist(), (cy + ry * np.sin(t)).tolist()))


def _line(*points: Tuple[float, float]) -> Polyline:
    return [tuple(map(float, p)) for p in points]


# class -> templates; a template is a list of strokes (polylines) in x in [-0.6, 0.6], y in [-1, 1] (down)
TEMPLATES = {
    0: [[_arc(0, 0, 0.5, 0.9, 0, 360, 16)],
        [_arc(0, 0, 0.42, 0.9, -60, 300, 16) + _line((0.28, -0.75))]],  # a slightly open, overlapping 0
    1: [[_line((0, -0.95), (0, 0.95))],
        [_line((-0.3, -0.6), (0.05, -0.95), (0.05, 0.95))],
        [_line((-0.3, -0.6), (0.05, -0.95), (0.05, 0.9)), _line((-0.3, 0.9), (0.4, 0.9))]],
    2: [[_arc(0, -0.45, 0.45, 0.45, 200, 390, 8) + _line((-0.5, 0.9), (0.5, 0.9))],
        [_arc(0, -0.45, 0.45, 0.45, 200, 400, 8) + _line((-0.45, 0.8))
         + _arc(-0.25, 0.8, 0.2, 0.12, 180, 450, 5)[1:] + _line((0.5, 0.9))]],   # with a loop at the base
    3: [[_arc(0, -0.47, 0.42, 0.45, 200, 450, 9) + _arc(0, 0.45, 0.5, 0.47, 270, 520, 9)[1:]],
        [_line((-0.45, -0.9), (0.45, -0.9), (-0.05, -0.1)) + _arc(0, 0.42, 0.48, 0.52, 255, 515, 9)]],
    4: [[_line((0.2, -0.95), (-0.5, 0.35), (0.55, 0.35)), _line((0.2, -0.95), (0.2, 0.95))],
        [_line((-0.4, -0.95), (-0.45, 0.3), (0.55, 0.3)), _line((0.25, -0.95), (0.25, 0.95))]],
    5: [[_line((0.5, -0.9), (-0.35, -0.9), (-0.42, -0.12)) + _arc(0, 0.35, 0.47, 0.55, 215, 480, 10)],
        [_line((-0.42, -0.12), (-0.35, -0.9)) + _arc(0, 0.35, 0.47, 0.55, 215, 480, 10),
         _line((-0.35, -0.9), (0.5, -0.9))]],  # the bar drawn as a second stroke
    6: [[_line((0.35, -0.95), (-0.05, -0.6), (-0.38, -0.05)) + _arc(0, 0.45, 0.45, 0.45, 180, 540, 12)],
        [_arc(0.45, 0.1, 0.9, 1.05, 240, 180, 6) + _arc(0, 0.45, 0.45, 0.45, 180, 520, 11)]],
    7: [[_line((-0.5, -0.9), (0.5, -0.9), (-0.1, 0.95))],
        [_line((-0.5, -0.9), (0.5, -0.9), (-0.1, 0.95)), _line((-0.2, 0.0), (0.35, 0.0))],
        [_line((-0.5, -0.7), (-0.5, -0.9), (0.5, -0.9), (0.22, -0.2), (0.07, 0.4), (0.02, 0.95))]],  # serif, bent stem
    8: [[_arc(0, -0.5, 0.38, 0.42, 90, 450, 12), _arc(0, 0.45, 0.48, 0.47, 270, 630, 12)],
        [_arc(0, -0.5, 0.36, 0.42, 135, 405, 9) + _arc(0, 0.45, 0.48, 0.47, 225, -45, 10)
         + _line((-0.26, -0.2))]],  # one stroke, crossing in the middle
    9: [[_arc(0, -0.45, 0.45, 0.45, 0, 360, 12), _line((0.45, -0.45), (0.4, 0.95))],
        [_arc(0, -0.45, 0.45, 0.45, 0, 360, 12) + _line((0.4, 0.4)) + _arc(0, 0.4, 0.4, 0.55, 0, 120, 5)[1:]]],
}


def _segments(template) -> np.ndarray:
    """[S, 2, 2] (segment, end, xy) of a template's strokes."""
    segs = [np.stack([np.asarray(s[:-1]), np.asarray(s[1:])], axis=1) for s in template if len(s) > 1]
    return np.concatenate(segs).astype(np.float32)


def _build_table():
    """All templates padded to one segment count (repeating a segment leaves the distance field as it is)."""
    segs, owner = [], []
    for digit in range(10):
        for template in TEMPLATES[digit]:
            segs.append(_segments(template))
            owner.append(digit)
    s_max = max(len(s) for s in segs)
    table = np.stack([np.concatenate([s, np.repeat(s[-1:], s_max - len(s), axis=0)]) for s in segs])
    return table, np.asarray(owner)


_TABLE, _OWNER = _build_table()                       # [T, S, 2, 2] float32, [T] digit of each template
_FIRST = np.searchsorted(_OWNER, np.arange(10))       # first template of each digit
_COUNT = np.bincount(_OWNER, minlength=10)            # templates per digit
_PIX = (np.arange(SIZE, dtype=np.float32) + 0.5)      # pixel centres
_SLICE = 64                                           # images per distance field (keeps it in cache)


def _distance(p: np.ndarray) -> np.ndarray:
    """Segments [b, S, 2, 2] in pixels -> float32 [b, 28, 28] distance of each pixel centre to the nearest."""
    ax, ay = p[:, :, 0, 0, None, None], p[:, :, 0, 1, None, None]       # [b, S, 1, 1]
    dx, dy = p[:, :, 1, 0, None, None] - ax, p[:, :, 1, 1, None, None] - ay
    inv = 1.0 / np.maximum(dx * dx + dy * dy, 1e-6)
    rx = _PIX[None, None, None, :] - ax                                  # [b, S, 1, 28] (columns)
    ry = _PIX[None, None, :, None] - ay                                  # [b, S, 28, 1] (rows)
    t = np.clip((rx * dx + ry * dy) * inv, 0.0, 1.0)                     # [b, S, 28, 28]
    ex, ey = rx - t * dx, ry - t * dy
    return np.sqrt((ex * ex + ey * ey).min(axis=1))                      # [b, 28, 28]


def draw_digits(labels, rng: np.random.Generator) -> np.ndarray:
    """Draw one digit per label: uint8 [len(labels), 28, 28], white on black.

    Every random draw is taken from ``rng`` in a fixed order whatever the labels' values.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    b = len(labels)
    if b and (labels.min() < 0 or labels.max() > 9):
        raise UserError(f"digit labels must be 0..9, got {labels.min()}..{labels.max()}")
    f32 = np.float32
    # ---- every random draw, in a fixed order
    variant = rng.integers(0, 1 << 30, size=b)
    wk = rng.normal(0.0, 2.2, size=(b, 2, 2, 2)).astype(f32)     # warp: [b, field, out xy, in xy] frequencies
    wp = rng.uniform(0, 2 * np.pi, size=(b, 2, 2)).astype(f32)   # phases
    wa = rng.uniform(0.0, 0.07, size=(b, 2, 2)).astype(f32)      # amplitudes (template units)
    angle = np.radians(rng.uniform(-15, 15, size=b)).astype(f32)
    shear = rng.uniform(-0.3, 0.3, size=b).astype(f32)
    aspect = rng.uniform(0.75, 1.25, size=b).astype(f32)
    box = rng.uniform(16.0, 20.0, size=b).astype(f32)            # pixels of the longer side
    shift = rng.uniform(-1.5, 1.5, size=(b, 2)).astype(f32)
    half = rng.uniform(0.7, 1.9, size=b).astype(f32)             # stroke half-width, pixels
    edge = rng.uniform(0.7, 1.5, size=b).astype(f32)             # anti-aliased edge, pixels
    peak = rng.uniform(0.8, 1.0, size=b).astype(f32)
    ink_sd = rng.uniform(0.0, 0.08, size=b).astype(f32)
    add_sd = rng.uniform(0.0, 0.03, size=b).astype(f32)
    ink = rng.standard_normal((b, SIZE, SIZE), dtype=f32)
    add = rng.standard_normal((b, SIZE, SIZE), dtype=f32)
    if b == 0:
        return np.zeros((0, SIZE, SIZE), np.uint8)

    # ---- shape: template segments [b, S, 2, 2] with a smooth warp
    template = _FIRST[labels] + variant % _COUNT[labels]
    p = _TABLE[template]                                          # [b, S, 2 ends, 2 xy]
    phase = np.einsum("bfoi,bsei->bseof", wk, p) + wp[:, None, None]  # [b, S, 2, 2 out, 2 fields]
    p = p + (wa[:, None, None] * np.sin(phase)).sum(-1)
    # ---- affine: rotation . shear . aspect
    c, s = np.cos(angle), np.sin(angle)
    m = np.empty((b, 2, 2), f32)
    m[:, 0, 0], m[:, 0, 1] = c * aspect, c * shear - s
    m[:, 1, 0], m[:, 1, 1] = s * aspect, s * shear + c
    p = np.einsum("boi,bsei->bseo", m, p)
    # ---- placement: longer side of the box -> `box` pixels, stroke centre of mass -> image centre
    lo, hi = p.min(axis=(1, 2)), p.max(axis=(1, 2))               # [b, 2]
    scale = box / np.maximum((hi - lo).max(axis=1), 1e-3)
    mid = p.mean(axis=2)                                          # segment midpoints [b, S, 2]
    length = np.linalg.norm(p[:, :, 1] - p[:, :, 0], axis=-1)     # padding repeats count twice; fine
    com = (mid * length[..., None]).sum(1) / np.maximum(length.sum(1), 1e-6)[:, None]
    p = (p - com[:, None, None]) * scale[:, None, None, None] + (SIZE / 2 + shift)[:, None, None]
    reach = (half + 0.5 * edge)[:, None]                          # ink beyond the centre line, pixels
    lo, hi = p.min(axis=(1, 2)) - reach, p.max(axis=(1, 2)) + reach
    p = p + (np.maximum(1.0 - lo, 0.0) - np.maximum(hi - (SIZE - 1.0), 0.0))[:, None, None]  # keep a 1 px margin
    p = p.astype(f32)
    # ---- distance of each pixel centre to the nearest segment, in slices of _SLICE images
    dist = np.empty((b, SIZE, SIZE), f32)
    for i in range(0, b, _SLICE):
        dist[i:i + _SLICE] = _distance(p[i:i + _SLICE])
    # ---- ink
    v = np.clip((half[:, None, None] - dist) / edge[:, None, None] + 0.5, 0.0, 1.0)
    v = v * peak[:, None, None] * (1.0 + ink_sd[:, None, None] * ink) + add_sd[:, None, None] * (add - 1.0)
    return np.clip(np.rint(v * 255.0), 0, 255).astype(np.uint8)


def balanced_labels(rng: np.random.Generator, num: int) -> np.ndarray:
    """``num`` labels in blocks of 10, each block a random order of 0..9."""
    blocks = -(-num // 10)
    return rng.permuted(np.tile(np.arange(10, dtype=np.uint8), (blocks, 1)), axis=1).reshape(-1)[:num]


def digits(seed: int, num: int, split: str = "train") -> Tuple[np.ndarray, np.ndarray]:
    """(images uint8 [num, 28, 28], labels uint8 [num]) of SynthDigits split ``split`` for ``seed``.

        x, y = digits(0, 100)          # the first 100 training digits of seed 0
    """
    if split not in _SPLIT_ID:
        raise UserError(f"unknown split {split!r}; expected 'train' or 'test'")
    images = np.empty((num, SIZE, SIZE), np.uint8)
    labels = np.empty(num, np.uint8)
    for start in range(0, num, CHUNK):
        rng = np.random.default_rng((seed, _SPLIT_ID[split], start // CHUNK))
        n = min(CHUNK, num - start)
        y = balanced_labels(rng, CHUNK)                # CHUNK is a multiple of 10: blocks never straddle
        x = draw_digits(y, rng)                        # drawn whole so a prefix is the same images
        images[start:start + n], labels[start:start + n] = x[:n], y[:n]
    return images, labels


def generate(out, num: int = 60000, seed: int = 0, num_test: Optional[int] = None) -> str:
    """Write SynthDigits in the MNIST IDX layout (four .gz files) under ``out``; returns ``out``."""
    if num < 1:
        raise UserError(f"--num must be at least 1, got {num}")
    if num_test is None:
        num_test = max(10, round(num / 6))
    if num_test < 1:
        raise UserError(f"--num_test must be at least 1, got {num_test}")
    if seed < 0:
        raise UserError(f"--seed must be 0 or more, got {seed}")
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise UserError(f"output path exists and is not a folder: {out}")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {out}: {exc.strerror or exc}") from None
    for split, count in (("train", num), ("test", num_test)):
        images, labels = digits(seed, count, split)
        image_name, label_name = MNIST_FILES[split]
        write_idx(os.path.join(out, image_name + ".gz"), images)
        write_idx(os.path.join(out, label_name + ".gz"), labels)
    return out


# ---- the labelled grid for the README ------------------------------------------------------------

def save_grid(out, seed: int = 0, per_class: int = 8, zoom: int = 3) -> str:
    """Save a grid of SynthDigits: one row per digit 0..9, ``per_class`` samples each, labelled."""
    from PIL import Image, ImageDraw, ImageFont

    if per_class < 1 or zoom < 1:
        raise UserError(f"--per_class and --zoom must be positive, got {per_class} and {zoom}")
    images, labels = digits(seed, max(CHUNK, 20 * per_class))
    tile, pad, label_w = SIZE * zoom, 2, 22
    sheet = Image.new("L", (label_w + per_class * (tile + pad), 10 * (tile + pad)), 255)
    d = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=16) if hasattr(ImageFont, "load_default") else None
    for digit in range(10):
        y0 = digit * (tile + pad)
        d.text((5, y0 + tile // 2 - 9), str(digit), fill=0, font=font)
        for k, i in enumerate(np.flatnonzero(labels == digit)[:per_class]):
            img = Image.fromarray(images[i]).resize((tile, tile), Image.NEAREST)
            sheet.paste(img, (label_w + k * (tile + pad), y0))
    out = os.fspath(out)
    try:
        if os.path.dirname(out):
            os.makedirs(os.path.dirname(out), exist_ok=True)
        sheet.save(out, optimize=True)
    except (OSError, ValueError) as exc:  # ValueError: unknown image extension
        raise UserError(f"cannot write the grid to {out}: {exc}") from None
    return out


# ---- registry hooks ---------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "example: python -m common_tools.synthetic digits --out runs/data/synthdigits --num 60000 --seed 0"
    parser.add_argument("--out", required=True, help="output folder (the four MNIST .gz files)")
    parser.add_argument("--num", type=int, default=60000, help="training images (default 60000, as MNIST)")
    parser.add_argument("--num_test", "--num-test", dest="num_test", type=int, default=None,
                        help="test images (default max(10, num / 6): 10000 for 60000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed -> same bytes")


def add_grid_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "example: python -m common_tools.synthetic digits-grid --out docs/images/synthdigits_grid.png"
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the digits")
    parser.add_argument("--per_class", "--per-class", dest="per_class", type=int, default=8,
                        help="samples per digit (default 8)")
    parser.add_argument("--zoom", type=int, default=3, help="pixels per digit pixel (default 3)")
