"""CelebA: the 40 attribute names, the attribute-file reader, the StarGAN/STGAN splits and tf.data.

Reading the attribute file and the splits need only numpy; TensorFlow is imported inside
:func:`make_dataset` and :func:`load_images`.

Image presets (both give float32 NHWC in [-1, 1]):

- ``"stargan"``: random horizontal flip (training only), centre crop 178x178, bilinear resize to
  ``image_size`` (antialiased, like the PIL resize of the reference), ``/127.5 - 1``.
- ``"stgan"``: crop 170x170 at (row 26, col 3) for 128 px and other sizes, 148x148 at (40, 15) for
  64 px; TF1-style bicubic resize (no half-pixel centres), clip to [0, 255], ``/127.5 - 1``; no flip.

Unreadable images: :func:`make_dataset` checks every file once up front (it exists, is not empty,
starts with a JPEG/PNG/BMP/GIF signature and a JPEG ends with its EOI marker), warns once per bad
file naming it, leaves it out, and records the result on the returned data set as
``dataset.image_check`` (an :class:`ImageCheck`: ``.checked``, ``.skipped`` names, ``.count``).
Files that pass the check but still fail to decode are dropped by ``ignore_errors`` (logged by TF).
"""

from __future__ import annotations

import os
import random
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from common_tools.errors import UserError

ATTRIBUTE_NAMES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald",
    "Bangs", "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair",
    "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin",
    "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones",
    "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard",
    "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks",
    "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings",
    "Wearing_Hat", "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young",
)

PRESETS = ("stargan", "stgan")
STARGAN_CROP = 178
STGAN_CROPS = {128: (26, 3, 170), 64: (40, 15, 148)}  # image_size -> (top, left, size)
OFFICIAL_RANGES = {"train": (1, 182000), "val": (182001, 182637), "test": (182638, 202599)}


@dataclass(frozen=True)
class CelebAAttributes:
    """The rows of a ``list_attr_celeba.txt``: file names, attribute names, values +-1 [N, k]."""

    path: str
    files: Tuple[str, ...]
    names: Tuple[str, ...]
    values: np.ndarray  # int8 [N, len(names)], +1 / -1

    def __len__(self) -> int:
        return len(self.files)

    def index_of(self, name: str) -> int:
        if name not in self.names:
            raise UserError(f"unknown attribute {name!r} in {self.path}; valid names: {', '.join(self.names)}")
        return self.names.index(name)

    def labels(self, selected: Sequence[str]) -> np.ndarray:
        """float32 [N, len(selected)]: 1.0 where the value is 1, else 0.0, in ``selected`` order."""
        if isinstance(selected, str):
            selected = [selected]
        unknown = [n for n in selected if n not in self.names]
        if unknown:
            raise UserError(f"unknown attribute(s) {', '.join(unknown)} (file {self.path}); "
                            f"valid names: {', '.join(self.names)}")
        cols = [self.names.index(n) for n in selected]
        return (self.values[:, cols] == 1).astype(np.float32)


def read_attributes(path) -> CelebAAttributes:
    """Read a CelebA attribute file: count line, names line, then ``file v1 v2 ...`` rows.

    CelebA has the 40 :data:`ATTRIBUTE_NAMES`; a custom data set may name any attributes, as long as
    every row has one value (-1 or 1; 0 is read as -1) per name and line 1 counts the rows.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f"attribute file not found: {path} (expected a CelebA list_attr_celeba.txt)")
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) < 2:
        raise UserError(f"{path}: expected a count line and a line of attribute names, "
                        f"got {len(lines)} line(s)")
    try:
        count = int(lines[0].strip())
    except ValueError:
        raise UserError(f"{path} line 1: expected the number of images, got {lines[0].strip()[:60]!r}") from None
    names = tuple(lines[1].split())
    if not names:
        raise UserError(f"{path} line 2: expected the attribute names, got an empty line")
    if len(set(names)) != len(names):
        raise UserError(f"{path} line 2: attribute names repeat")
    rows = lines[2:]
    if len(rows) != count:
        raise UserError(f"{path}: line 1 says {count} images but the file has {len(rows)} rows")
    k = len(names)
    files: List[str] = []
    values = np.empty((count, k), dtype=np.int8)
    for i, line in enumerate(rows):
        parts = line.split()
        if len(parts) != k + 1:
            raise UserError(f"{path} line {i + 3}: expected a file name and {k} values, got {len(parts)} fields")
        try:
            row = [int(v) for v in parts[1:]]
        except ValueError:
            raise UserError(f"{path} line {i + 3}: values must be -1 or 1, got {' '.join(parts[1:])[:60]!r}") from None
        if any(v not in (-1, 0, 1) for v in row):
            raise UserError(f"{path} line {i + 3}: values must be -1 or 1 (0 is read as -1)")
        files.append(parts[0])
        values[i] = row
    values[values == 0] = -1
    return CelebAAttributes(path=path, files=tuple(files), names=names, values=values)


def stargan_split(n: int, seed: int = 1234, n_test: int = 1999) -> Tuple[np.ndarray, np.ndarray]:
    """(train_idx, test_idx) of the StarGAN reference: ``random.seed(seed); random.shuffle(rows)``,
    the first ``n_test`` shuffled rows are the test set. Indices are row numbers (0-based)."""
    if n_test < 0 or n_test >= n:
        raise UserError(f"n_test must be in [0, {n - 1}] for {n} images, got {n_test}")
    order = list(range(n))
    # random.shuffle's draws depend only on the length, so shuffling indices permutes like the rows
    state = random.getstate()
    try:
        random.seed(seed)
        random.shuffle(order)
    finally:
        random.setstate(state)
    order = np.asarray(order, dtype=np.int64)
    return order[n_test:], order[:n_test]


def stgan_split(files: Sequence[str], partition_file=None) -> Dict[str, np.ndarray]:
    """``{"train", "val", "test"}`` -> indices into ``files``.

    With ``partition_file`` (``list_eval_partition.txt``: ``name 0|1|2``) it decides; otherwise the
    official fixed ranges by image number: train 1-182000, val 182001-182637, test 182638-202599
    (other numbers belong to no split).
    """
    split = np.empty(len(files), dtype=np.int64)
    if partition_file is not None:
        partition_file = os.fspath(partition_file)
        if not os.path.isfile(partition_file):
            raise UserError(f"partition file not found: {partition_file} (expected list_eval_partition.txt)")
        table: Dict[str, int] = {}
        with open(partition_file, "r", encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                    raise UserError(f"{partition_file} line {lineno}: expected '<file> 0|1|2', got {line.strip()[:60]!r}")
                table[parts[0]] = int(parts[1])
        for i, name in enumerate(files):
            if name not in table:
                raise UserError(f"{partition_file}: no partition for image {name}")
            split[i] = table[name]
    else:
        for i, name in enumerate(files):
            stem = os.path.splitext(os.path.basename(name))[0]
            if not stem.isdigit():
                raise UserError(f"image {name} has no CelebA number; pass a partition file (list_eval_partition.txt)")
            number = int(stem)
            split[i] = next((k for k, (lo, hi) in enumerate(OFFICIAL_RANGES.values()) if lo <= number <= hi), -1)
    return {key: np.flatnonzero(split == k) for k, key in enumerate(OFFICIAL_RANGES)}


# ---- image checks ----------------------------------------------------------------------------------

@dataclass
class ImageCheck:
    """Result of checking image files up front: how many were checked and which were skipped."""

    checked: int = 0
    skipped: List[str] = field(default_factory=list)
    reasons: Dict[str, str] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.skipped)


_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"GIF87a", b"GIF89a")
_warned: set = set()


def _image_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be an image file, or None when it looks whole."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            if not any(head.startswith(sig) for sig in _SIGNATURES):
                return "not a JPEG/PNG/BMP/GIF file" if size else "empty file"
            if head.startswith(b"\xff\xd8"):
                f.seek(max(0, size - 64))
                if b"\xff\xd9" not in f.read():
                    return "truncated JPEG (no end marker)"
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    return None


def check_images(image_dir, files: Sequence[str]) -> Tuple[np.ndarray, ImageCheck]:
    """Indices of the files that look whole, and an :class:`ImageCheck` naming the others.

    Warns once per bad file (per process). Costs one open, two small reads per file.
    """
    image_dir = os.fspath(image_dir)
    check = ImageCheck(checked=len(files))
    keep: List[int] = []
    for i, name in enumerate(files):
        path = os.path.join(image_dir, name)
        problem = _image_problem(path)
        if problem is None:
            keep.append(i)
            continue
        check.skipped.append(name)
        check.reasons[name] = problem
        if path not in _warned:
            _warned.add(path)
            warnings.warn(f"skipping image {path}: {problem}", stacklevel=3)
    return np.asarray(keep, dtype=np.int64), check


# ---- tf.data -----------------------------------------------------------------------------------

def _check_preset(preset: str, image_size: int) -> None:
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    if int(image_size) < 1:
        raise UserError(f"image_size must be positive, got {image_size}")


def _decode(contents):
    """Bytes -> uint8 [H, W, 3]; JPEGs with the accurate integer DCT (as PIL decodes them)."""
    import tensorflow as tf

    image = tf.cond(
        tf.io.is_jpeg(contents),
        lambda: tf.io.decode_jpeg(contents, channels=3, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(contents, channels=3, expand_animations=False))
    image.set_shape([None, None, 3])
    return image


def _crop(image, preset: str, image_size: int):
    """uint8 [H, W, 3] -> the preset's crop (uint8)."""
    import tensorflow as tf

    if preset == "stargan":
        return tf.image.resize_with_crop_or_pad(image, STARGAN_CROP, STARGAN_CROP)
    top, left, size = STGAN_CROPS.get(int(image_size), STGAN_CROPS[128])
    return tf.image.crop_to_bounding_box(image, top, left, size, size)


def _resize(crop, preset: str, image_size: int):
    """uint8 crop [h, w, 3] -> float32 [image_size, image_size, 3] in [-1, 1]."""
    import tensorflow as tf

    size = int(image_size)
    x = tf.cast(crop, tf.float32)
    if preset == "stargan":
        x = tf.image.resize(x, [size, size], method="bilinear", antialias=True)
    else:  # TF1 tf.image.resize_images(..., BICUBIC): no half-pixel centres
        x = tf.raw_ops.ResizeBicubic(images=x[None], size=[size, size], align_corners=False,
                                     half_pixel_centers=False)[0]
    x = tf.clip_by_value(x, 0.0, 255.0)
    return x / 127.5 - 1.0


def make_dataset(image_dir, files: Sequence[str], labels, preset: str = "stargan", image_size: int = 128,
                 batch_size: int = 16, training: bool = True, repeat: bool = True,
                 seed: Optional[int] = None, drop_remainder: bool = True, cache: bool = False):
    """tf.data.Dataset of (images float32 [B, S, S, 3] in [-1, 1], labels float32 [B, k]).

    ``training`` shuffles (and flips, for "stargan"); ``cache`` keeps the decoded crops in memory
    (about 95 KB per image) so later epochs skip JPEG decoding. The up-front file check is on
    ``dataset.image_check``.
    """
    import tensorflow as tf

    _check_preset(preset, image_size)
    image_dir = os.fspath(image_dir)
    if not os.path.isdir(image_dir):
        raise UserError(f"image folder not found: {image_dir} (expected e.g. .../img_align_celeba)")
    files = list(files)
    labels = np.asarray(labels, dtype=np.float32)
    if labels.ndim != 2 or len(labels) != len(files):
        raise UserError(f"labels must be [N, k] with N = {len(files)} files, got shape {labels.shape}")
    if batch_size < 1:
        raise UserError(f"batch_size must be positive, got {batch_size}")
    keep, check = check_images(image_dir, files)
    if len(keep) == 0:
        raise UserError(f"no readable images among {len(files)} files in {image_dir}")
    paths = [os.path.join(image_dir, files[i]) for i in keep]
    n = len(paths)
    ds = tf.data.Dataset.from_tensor_slices((paths, labels[keep]))
    auto = tf.data.AUTOTUNE
    load = lambda p, y: (_crop(_decode(tf.io.read_file(p)), preset, image_size), y)  # noqa: E731
    finish = lambda c, y: (_resize(c, preset, image_size), y)  # noqa: E731
    if cache:
        ds = ds.map(load, num_parallel_calls=auto).ignore_errors(log_warning=True).cache()
        if training:
            ds = ds.shuffle(min(n, 1024), seed=seed, reshuffle_each_iteration=True)
    elif training:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if not cache:
        ds = ds.map(load, num_parallel_calls=auto).ignore_errors(log_warning=True)
    ds = ds.map(finish, num_parallel_calls=auto)
    if training and preset == "stargan":
        ds = ds.map(lambda x, y: (tf.image.random_flip_left_right(x, seed=seed), y), num_parallel_calls=auto)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(auto)
    ds.image_check = check
    return ds


def load_images(image_dir, files: Sequence[str], preset: str = "stargan", image_size: int = 128) -> np.ndarray:
    """float32 [N, S, S, 3] in [-1, 1]: the preset's test-time transform (no flip) of each file.

    A missing, unreadable or too small file is a UserError naming it. Decodes in parallel.
    """
    import tensorflow as tf

    _check_preset(preset, image_size)
    size = int(image_size)
    paths = [os.path.join(os.fspath(image_dir), name) for name in files]
    if not paths:
        return np.zeros((0, size, size, 3), np.float32)
    for path in paths:
        problem = _image_problem(path)
        if problem is not None:
            raise UserError(f"cannot read image {path}: {problem}")
    ds = (tf.data.Dataset.from_tensor_slices(paths)
          .map(lambda p: _resize(_crop(_decode(tf.io.read_file(p)), preset, size), preset, size),
               num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
          .batch(64).prefetch(tf.data.AUTOTUNE))
    try:
        return np.concatenate([batch.numpy() for batch in ds])
    except tf.errors.OpError:
        pass
    for path in paths:  # find the culprit to name it
        try:
            image = _decode(tf.io.read_file(path))
            h, w = int(image.shape[0]), int(image.shape[1])
        except tf.errors.OpError as exc:
            raise UserError(f"cannot decode image {path}: {exc.message.splitlines()[0]}") from None
        top, left, crop = (0, 0, STARGAN_CROP) if preset == "stargan" else STGAN_CROPS.get(size, STGAN_CROPS[128])
        if preset == "stgan" and (h < top + crop or w < left + crop):
            raise UserError(f"image {path} is {w}x{h}; the stgan crop needs at least "
                            f"{left + crop}x{top + crop} (an aligned CelebA image is 178x218)")
    raise UserError(f"cannot load the images in {image_dir}")  # pragma: no cover
