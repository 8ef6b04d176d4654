"""CelebA: the 40 attribute names, the attribute-file reader, split protocols, image preprocessing
specs and tf.data pipelines.

Reading the attribute file and the splits need only numpy; TensorFlow is imported inside
:func:`make_dataset` and :func:`load_images`.

This module knows the data set, never a model. A model states its own protocol with the specs here
and passes it in, e.g.::

    PREPROCESS = celeba.Preprocess(crop=celeba.CenterCrop(178), resize="bilinear", flip=True)
    train_idx, test_idx = celeba.seeded_split(len(attrs), seed=1234, n_test=1999)
    ds = celeba.make_dataset(image_dir, files, labels, PREPROCESS, image_size=128)

Preprocessing (:class:`Preprocess`; every pipeline gives float32 NHWC in [-1, 1]): crop the photo
(:class:`CenterCrop`: a centred square, a smaller photo is zero-padded; :class:`Crop`: a fixed box, the
photo must hold it), resize to ``image_size`` (``"bilinear"``: antialiased, like PIL's resize;
``"bicubic_tf1"``: TF1 ``resize_images(BICUBIC)``, no half-pixel centres), clip to [0, 255],
``/127.5 - 1``; ``flip``: random horizontal flip of training images only, stateless: decided by the
pipeline's seed and the element's number in the stream, so one seed gives the same flips in every
run (and a pipeline rebuilt from a seed, as on resume, flips the same way again).

Splits: :func:`seeded_split` (``random.seed(seed); random.shuffle(rows)``, the first ``n_test`` rows
are the test set) and :func:`partition_split` (``list_eval_partition.txt``, or fixed ranges of image
numbers: CelebA's official ones by default). :class:`SeededSplit` / :class:`PartitionSplit` are the
same protocols as values that can be stored (``to_dict`` / :func:`split_from_dict`).

Attribute conflicts: :data:`CONFLICTS` (which attributes a 1 in another one rules out: a bald face has
no bangs, one hair colour at a time ...) and :func:`resolve_conflicts`.

Unreadable images: :func:`make_dataset` checks every file once up front (it exists, is not empty,
starts with a JPEG/PNG/BMP/GIF signature and a JPEG ends with its EOI marker), warns once per bad
file naming it, leaves it out, and records the result on the returned data set as
``dataset.image_check`` (an :class:`ImageCheck`: ``.checked``, ``.skipped`` names, ``.count``).
A file that passes the check but then fails to decode (e.g. a JPEG header over a garbage body) is
left out when the pipeline reaches it, with a warning naming it, and added to ``image_check`` then.
:func:`load_images` raises a one-line UserError naming such a file.
"""

from __future__ import annotations

import math
import os
import random
import re
import warnings
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

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

ALIGNED_SHAPE = (218, 178)  # (height, width) of an img_align_celeba photo
# CelebA's official partition by image number (000001.jpg is 1), in list_eval_partition.txt order 0, 1, 2
OFFICIAL_RANGES = {"train": (1, 182000), "val": (182001, 182637), "test": (182638, 202599)}
PARTITION_FILE = "list_eval_partition.txt"

HAIR_COLOURS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")  # at most one is 1
# attribute -> the attributes a 1 in it rules out (set to 0 by resolve_conflicts)
CONFLICTS: Dict[str, Tuple[str, ...]] = {
    "Bald": ("Bangs",),
    "Receding_Hairline": ("Bangs",),
    "Bangs": ("Bald", "Receding_Hairline"),
    **{c: tuple(o for o in HAIR_COLOURS if o != c) for c in HAIR_COLOURS},
    "Straight_Hair": ("Wavy_Hair",),
    "Wavy_Hair": ("Straight_Hair",),
}
HAIR_COLOUR_CONFLICTS: Dict[str, Tuple[str, ...]] = {c: CONFLICTS[c] for c in HAIR_COLOURS}  # the hair rule alone


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


_VALUE = re.compile(r"^[+-]?\d+$")


def _row_shape_error(path: str, lineno: int, parts: List[str], k: int) -> UserError:
    """The one-line error for a row without exactly a file name and ``k`` values."""
    expected = f"{path} line {lineno}: expected a file name and {k} values"
    if not parts:
        return UserError(f"{expected}, got an empty line")
    if _VALUE.match(parts[0]):  # the row starts with a value: its file name is missing
        return UserError(f"{expected}, got {len(parts)} values and no file name")
    return UserError(f"{expected}, got {len(parts) - 1} values after {parts[0]!r}")


def read_attributes(path) -> CelebAAttributes:
    """Read a CelebA attribute file: count line, names line, then ``file v1 v2 ...`` rows.

    CelebA has the 40 :data:`ATTRIBUTE_NAMES`; a custom data set may name any attributes, as long as
    every row has one value (-1 or 1; 0 is read as -1) per name and line 1 counts the rows.

        attrs = read_attributes("data/list_attr_celeba.txt")
        y = attrs.labels(["Male", "Young"])          # float32 0/1 [N, 2]
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
        if len(parts) != k + 1 or _VALUE.match(parts[0]):
            raise _row_shape_error(path, i + 3, parts, k)
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


# ---- attribute conflicts ---------------------------------------------------------------------------

def resolve_conflicts(labels, name: str, names: Sequence[str],
                      conflicts: Mapping[str, Sequence[str]] = CONFLICTS) -> np.ndarray:
    """A float32 copy of ``labels`` [N, len(names)] (1 = has it) where, in the rows with ``name`` at
    1, the attributes it rules out (``conflicts[name]``, those among ``names``) are set to 0.

        b[:, i] = 1 - a[:, i]                                 # flip attribute i
        b = resolve_conflicts(b, names[i], names)             # e.g. Blond_Hair -> Black_Hair 0
        b = resolve_conflicts(b, names[i], names, HAIR_COLOUR_CONFLICTS)   # the hair rule only
    """
    names = list(names)
    if name not in names:
        raise UserError(f"unknown attribute {name!r}; expected one of {', '.join(names)}")
    out = np.array(labels, np.float32, copy=True)
    on = out[:, names.index(name)] == 1
    for other in conflicts.get(name, ()):
        if other in names:
            out[on, names.index(other)] = 0
    return out


# ---- splits ----------------------------------------------------------------------------------------

def seeded_split(n: int, seed: int = 1234, n_test: int = 1999) -> Tuple[np.ndarray, np.ndarray]:
    """(train_idx, test_idx) of the shuffled-first-n_test protocol: ``random.seed(seed);
    random.shuffle(rows)``, the first ``n_test`` shuffled rows are the test set. Indices are row
    numbers (0-based); the global ``random`` state is left as it was.

        train_idx, test_idx = seeded_split(len(attrs), seed=1234, n_test=1999)
    """
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


def partition_split(files: Sequence[str], partition_file=None,
                    ranges: Mapping[str, Tuple[int, int]] = OFFICIAL_RANGES) -> Dict[str, np.ndarray]:
    """``{name: indices into files}`` for each part of ``ranges`` (CelebA's train / val / test).

    With ``partition_file`` (``list_eval_partition.txt``: ``<file> <k>``, k the part's position in
    ``ranges``: 0|1|2 for CelebA) it decides; otherwise the image number (000001.jpg is 1) falls in a
    range (inclusive), e.g. train 1-182000, val 182001-182637, test 182638-202599 (numbers outside
    every range belong to no part).

        parts = partition_split(attrs.files, "data/list_eval_partition.txt")
        train_files = [attrs.files[i] for i in parts["train"]]
    """
    keys = list(ranges)
    codes = {str(k): k for k in range(len(keys))}
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
                if len(parts) != 2 or parts[1] not in codes:
                    raise UserError(f"{partition_file} line {lineno}: expected '<file> "
                                    f"{'|'.join(codes)}', got {line.strip()[:60]!r}")
                table[parts[0]] = codes[parts[1]]
        for i, name in enumerate(files):
            if name not in table:
                raise UserError(f"{partition_file}: no partition for image {name}")
            split[i] = table[name]
    else:
        bounds = list(ranges.values())
        for i, name in enumerate(files):
            stem = os.path.splitext(os.path.basename(name))[0]
            if not stem.isdigit():
                raise UserError(f"image {name} has no CelebA number; pass a partition file (list_eval_partition.txt)")
            number = int(stem)
            split[i] = next((k for k, (lo, hi) in enumerate(bounds) if lo <= number <= hi), -1)
    return {key: np.flatnonzero(split == k) for k, key in enumerate(keys)}


@dataclass(frozen=True)
class SeededSplit:
    """The :func:`seeded_split` protocol as a value (train/test of a data folder, storable)."""

    seed: int = 1234                  # random.seed of the shuffle
    n_test: int = 1999                # rows in the test set (the first ones after shuffling)
    max_test_fraction: float = 1.0    # cap n_test at this fraction of the rows (a small folder trains on most)

    def train_test(self, files: Sequence[str], data_root=None) -> Tuple[np.ndarray, np.ndarray]:
        """(train_idx, test_idx) into ``files``; ``data_root`` is not needed."""
        n = len(files)
        n_test = min(int(self.n_test), int(math.floor(n * float(self.max_test_fraction) + 1e-9)))
        return seeded_split(n, seed=int(self.seed), n_test=n_test)

    def to_dict(self) -> dict:
        return {"kind": "seeded", **asdict(self)}


@dataclass(frozen=True)
class PartitionSplit:
    """The :func:`partition_split` protocol as a value: ``<data_root>/<partition_file>`` when it exists,
    else ``ranges`` of image numbers; the parts named "train" and "test" are used."""

    partition_file: str = PARTITION_FILE                   # relative to the data folder
    ranges: Tuple[Tuple[str, int, int], ...] = tuple((k, lo, hi) for k, (lo, hi) in OFFICIAL_RANGES.items())

    def parts(self, files: Sequence[str], data_root=None) -> Dict[str, np.ndarray]:
        path = os.path.join(os.fspath(data_root), self.partition_file) if data_root is not None else None
        ranges = {k: (int(lo), int(hi)) for k, lo, hi in self.ranges}
        return partition_split(files, path if path and os.path.isfile(path) else None, ranges)

    def train_test(self, files: Sequence[str], data_root=None) -> Tuple[np.ndarray, np.ndarray]:
        parts = self.parts(files, data_root)
        missing = [k for k in ("train", "test") if k not in parts]
        if missing:
            raise UserError(f"partition split has no part named {', '.join(missing)}; its parts: {', '.join(parts)}")
        return parts["train"], parts["test"]

    def to_dict(self) -> dict:
        return {"kind": "partition", "partition_file": self.partition_file,
                "ranges": [[k, int(lo), int(hi)] for k, lo, hi in self.ranges]}


SplitSpec = Union[SeededSplit, PartitionSplit]


def split_from_dict(d, where: str = "split") -> SplitSpec:
    """The spec a ``to_dict()`` of :class:`SeededSplit` / :class:`PartitionSplit` describes."""
    try:
        kind = d["kind"]
        if kind == "seeded":
            return SeededSplit(seed=int(d["seed"]), n_test=int(d["n_test"]),
                               max_test_fraction=float(d["max_test_fraction"]))
        if kind == "partition":
            return PartitionSplit(partition_file=str(d["partition_file"]),
                                  ranges=tuple((str(k), int(lo), int(hi)) for k, lo, hi in d["ranges"]))
    except (KeyError, TypeError, ValueError):
        pass
    raise UserError(f"{where}: expected a split description {{'kind': 'seeded'|'partition', ...}}, got {d!r:.80}")


# ---- preprocessing specs ---------------------------------------------------------------------------

def _whole(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UserError(f"crop {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Crop:
    """A fixed square box of the photo: rows top..top+size, columns left..left+size (it must fit)."""

    top: int    # first row of the box
    left: int   # first column of the box
    size: int   # side of the box, px

    def __post_init__(self):
        _whole(self.top, "top", 0), _whole(self.left, "left", 0), _whole(self.size, "size", 1)

    def offset(self, shape: Tuple[int, int] = ALIGNED_SHAPE) -> Tuple[int, int]:
        """(row, column) of the box's corner in a photo of ``shape`` (height, width)."""
        return self.top, self.left

    def to_dict(self) -> dict:
        return {"kind": "box", "top": self.top, "left": self.left, "size": self.size}


@dataclass(frozen=True)
class CenterCrop:
    """A centred ``size`` x ``size`` square (a smaller photo is zero-padded to it)."""

    size: int   # side of the square, px

    def __post_init__(self):
        _whole(self.size, "size", 1)

    def offset(self, shape: Tuple[int, int] = ALIGNED_SHAPE) -> Tuple[int, int]:
        """(row, column) of the square's corner in a photo of ``shape`` (negative where padded)."""
        return tuple((n - self.size) // 2 if n >= self.size else -((self.size - n) // 2) for n in shape)

    def to_dict(self) -> dict:
        return {"kind": "center", "size": self.size}


CropSpec = Union[Crop, CenterCrop]
RESIZE_METHODS = ("bilinear", "bicubic_tf1")


def crop_from_dict(d, where: str = "crop") -> CropSpec:
    """The crop a ``to_dict()`` of :class:`Crop` / :class:`CenterCrop` describes."""
    try:
        if d["kind"] == "box":
            return Crop(int(d["top"]), int(d["left"]), int(d["size"]))
        if d["kind"] == "center":
            return CenterCrop(int(d["size"]))
    except (KeyError, TypeError, ValueError):
        pass
    raise UserError(f"{where}: expected a crop {{'kind': 'box'|'center', ...}}, got {d!r:.80}")


def crop_box(inner: CropSpec, outer: CropSpec, shape: Tuple[int, int] = ALIGNED_SHAPE) -> Tuple[float, ...]:
    """Where ``inner``'s square lies in ``outer``'s, both cut from a photo of ``shape``: the
    normalised box (y1, x1, y2, x2) of ``tf.image.crop_and_resize`` on images cropped by ``outer``.

        crop_box(Crop(40, 15, 148), CenterCrop(178))    # (20/178, 15/178, 168/178, 163/178)
    """
    (ti, li), (to, lo), s = inner.offset(shape), outer.offset(shape), float(outer.size)
    return ((ti - to) / s, (li - lo) / s, (ti - to + inner.size) / s, (li - lo + inner.size) / s)


@dataclass(frozen=True)
class Preprocess:
    """How a photo becomes a network input: crop, resize to the image size, [-1, 1], optional flip.

        Preprocess(crop=CenterCrop(178), resize="bilinear", flip=True)
        Preprocess(crop=Crop(top=26, left=3, size=170), resize="bicubic_tf1")
    """

    crop: CropSpec           # the square cut from the photo before resizing
    resize: str = "bilinear"  # "bilinear": antialiased (like PIL); "bicubic_tf1": TF1 BICUBIC, no half-pixel centres
    flip: bool = False        # random horizontal flip of training images (make_dataset, training=True), seeded

    def __post_init__(self):
        if not isinstance(self.crop, (Crop, CenterCrop)):
            raise UserError(f"Preprocess.crop must be a celeba.Crop or celeba.CenterCrop, got {self.crop!r}")
        if self.resize not in RESIZE_METHODS:
            raise UserError(f"unknown resize method {self.resize!r}; expected one of {', '.join(RESIZE_METHODS)}")
        if not isinstance(self.flip, bool):
            raise UserError(f"Preprocess.flip must be True or False, got {self.flip!r}")

    def to_dict(self) -> dict:
        return {"crop": self.crop.to_dict(), "resize": self.resize, "flip": self.flip}

    @classmethod
    def from_dict(cls, d, where: str = "preprocess") -> "Preprocess":
        if not isinstance(d, Mapping) or "crop" not in d:
            raise UserError(f"{where}: expected {{'crop': ..., 'resize': ..., 'flip': ...}}, got {d!r:.80}")
        return cls(crop=crop_from_dict(d["crop"], where), resize=d.get("resize", "bilinear"),
                   flip=bool(d.get("flip", False)))


# ---- image checks ----------------------------------------------------------------------------------

@dataclass
class ImageCheck:
    """Result of checking image files: how many were checked and which were skipped (and why)."""

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

def _check_spec(preprocess, image_size: int) -> None:
    if not isinstance(preprocess, Preprocess):
        raise UserError(f"expected a celeba.Preprocess (crop, resize, flip) for the images, got {preprocess!r:.80}")
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


def _crop(image, crop: CropSpec):
    """uint8 [H, W, 3] -> the crop's square (uint8) [c, c, 3]."""
    import tensorflow as tf

    if isinstance(crop, CenterCrop):
        return tf.image.resize_with_crop_or_pad(image, crop.size, crop.size)
    return tf.image.crop_to_bounding_box(image, crop.top, crop.left, crop.size, crop.size)


def _resize(crop, method: str, image_size: int):
    """uint8 crop [h, w, 3] -> float32 [image_size, image_size, 3] in [-1, 1]."""
    import tensorflow as tf

    size = int(image_size)
    x = tf.cast(crop, tf.float32)
    if method == "bilinear":
        x = tf.image.resize(x, [size, size], method="bilinear", antialias=True)
    else:  # "bicubic_tf1": TF1 tf.image.resize_images(..., BICUBIC), no half-pixel centres
        x = tf.raw_ops.ResizeBicubic(images=x[None], size=[size, size], align_corners=False,
                                     half_pixel_centers=False)[0]
    x = tf.clip_by_value(x, 0.0, 255.0)
    return x / 127.5 - 1.0


def _load_problem(path: str, crop: CropSpec) -> Optional[str]:
    """Why ``path`` cannot be loaded and cropped (eager; for naming a failure), or None."""
    import tensorflow as tf

    problem = _image_problem(path)
    if problem is not None:
        return problem
    try:
        image = _decode(tf.io.read_file(path))
    except tf.errors.OpError:
        return "corrupt image data (the decoder rejected it; expected a whole JPEG/PNG/BMP/GIF file)"
    h, w = int(image.shape[0]), int(image.shape[1])
    if isinstance(crop, Crop) and (h < crop.top + crop.size or w < crop.left + crop.size):
        return (f"the image is {w}x{h}; the crop of {crop.size}x{crop.size} at (row {crop.top}, column {crop.left}) "
                f"needs at least {crop.left + crop.size}x{crop.top + crop.size} "
                f"(an aligned CelebA image is {ALIGNED_SHAPE[1]}x{ALIGNED_SHAPE[0]})")
    return None


_HISTORY = 8  # paths each element carries through the decode: its own and the 7 listed before it
_GROUP = 64   # elements numbered / checked together (keeps the bookkeeping to ~20 us per image)


def _load_naming_failures(ds, crop: CropSpec, check: ImageCheck, name_of: Mapping[str, str]):
    """(path, label) elements -> (uint8 crop [c, c, 3], label); an element whose file fails to
    decode or crop is left out, warned about by name and added to ``check`` (once per file, under
    its listed name ``name_of[path]``).

    The decode stays in the graph (parallel, in order, ``ignore_errors``). Before it every element
    gets a sequence number and the paths of itself and the ones listed before it; after it a gap in
    the numbers names the dropped files from the history of the next element that got through. A
    sentinel after the last element names failures at the very end, and is then removed.
    """
    import tensorflow as tf

    label_spec = ds.element_spec[1]
    sentinel = tf.data.Dataset.from_tensors((tf.constant(""), tf.zeros(label_spec.shape, label_spec.dtype)))
    ds = ds.concatenate(sentinel).batch(_GROUP)

    def number(state, chunk):  # -> per element: seq, history [_HISTORY] (its own path last)
        seq0, tail = state
        paths, ys = chunk
        g = tf.shape(paths, out_type=tf.int64)[0]
        window = tf.concat([tail, paths], 0)  # [_HISTORY - 1 + g]
        index = tf.range(g)[:, None] + tf.range(_HISTORY, dtype=tf.int64)[None, :]  # [g, _HISTORY]
        return (seq0 + g, window[-(_HISTORY - 1):]), (paths, ys, seq0 + tf.range(g), tf.gather(window, index))

    ds = ds.scan((tf.constant(0, tf.int64), tf.fill([_HISTORY - 1], "")), number).unbatch()
    c = crop.size

    def load(path, y, seq, history):
        image = tf.cond(tf.equal(path, ""), lambda: tf.zeros([c, c, 3], tf.uint8),
                        lambda: _crop(_decode(tf.io.read_file(path)), crop))
        return image, y, seq, history

    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).ignore_errors().batch(_GROUP)

    def report(gaps, history):  # eager (py_function): name the files dropped before each survivor
        for gap, row in zip(gaps.numpy().tolist(), history.numpy()):
            if gap <= 0:
                continue
            paths = [p.decode("utf-8", "replace") for p in row]
            named = paths[-1 - min(gap, _HISTORY - 1):-1]
            for path in named:
                _record_skip(check, name_of.get(path, path), path, _load_problem(path, crop) or "could not be loaded")
            if gap > len(named):
                warnings.warn(f"skipping {gap - len(named)} more unreadable image(s) listed before {named[0]} "
                              "(too many in a row to name)", stacklevel=2)
        return np.int64(0)

    def track(last, group):
        images, ys, seqs, history = group
        gaps = seqs - tf.concat([last[None], seqs[:-1]], 0) - 1
        done = tf.cond(tf.reduce_any(gaps > 0), lambda: tf.py_function(report, [gaps, history], tf.int64),
                       lambda: tf.constant(0, tf.int64))
        keep = tf.not_equal(history[:, -1], "")  # not the sentinel
        with tf.control_dependencies([done]):
            keep = tf.identity(keep)
        return seqs[-1], (tf.boolean_mask(images, keep), tf.boolean_mask(ys, keep))

    return ds.scan(tf.constant(-1, tf.int64), track).unbatch()


def _record_skip(check: ImageCheck, name: str, path: str, problem: str) -> None:
    if name not in check.reasons:
        check.skipped.append(name)
        check.reasons[name] = problem
    if path not in _warned:
        _warned.add(path)
        warnings.warn(f"skipping image {path}: {problem}", stacklevel=2)


def make_dataset(image_dir, files: Sequence[str], labels, preprocess: Preprocess, image_size: int = 128,
                 batch_size: int = 16, training: bool = True, repeat: bool = True,
                 seed: Optional[int] = None, drop_remainder: bool = True, cache: bool = False):
    """tf.data.Dataset of (images float32 [B, S, S, 3] in [-1, 1], labels float32 [B, k]).

    ``preprocess`` (a :class:`Preprocess`) crops and resizes each photo; ``training`` shuffles (and
    flips, when ``preprocess.flip``: element ``i`` of the stream is mirrored when
    ``stateless_random_uniform(seed=[seed, i]) < 0.5``, so the same ``seed`` gives the same
    batches, flips included, in every run; ``seed=None``: a fresh random one); ``cache`` keeps the
    decoded crops in memory (about 95 KB per image) so later epochs skip JPEG decoding. The file
    check is on ``dataset.image_check`` (files that only fail when decoded are added to it when the
    pipeline reaches them).

        pre = Preprocess(crop=CenterCrop(178), resize="bilinear", flip=True)
        ds = make_dataset("data/img_align_celeba", attrs.files, attrs.labels(["Male"]), pre, 128)
    """
    import tensorflow as tf

    _check_spec(preprocess, image_size)
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
    name_of = {p: files[i] for p, i in zip(paths, keep)}
    n = len(paths)
    ds = tf.data.Dataset.from_tensor_slices((paths, labels[keep]))
    auto = tf.data.AUTOTUNE
    finish = lambda c, y: (_resize(c, preprocess.resize, image_size), y)  # noqa: E731
    if cache:
        ds = _load_naming_failures(ds, preprocess.crop, check, name_of).cache()
        if training:
            ds = ds.shuffle(min(n, 1024), seed=seed, reshuffle_each_iteration=True)
    elif training:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if not cache:
        ds = _load_naming_failures(ds, preprocess.crop, check, name_of)
    ds = ds.map(finish, num_parallel_calls=auto)
    if training and preprocess.flip:  # stateless: element i's flip depends on (seed, i) only
        base = tf.constant(int(seed) if seed is not None else random.SystemRandom().randrange(2 ** 31), tf.int64)
        ds = ds.enumerate().map(
            lambda i, xy: (tf.image.stateless_random_flip_left_right(xy[0], seed=tf.stack([base, i])), xy[1]),
            num_parallel_calls=auto)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(auto)
    ds.image_check = check
    return ds


def load_images(image_dir, files: Sequence[str], preprocess: Preprocess, image_size: int = 128) -> np.ndarray:
    """float32 [N, S, S, 3] in [-1, 1]: the test-time transform of ``preprocess`` (no flip) of each file.

    A missing, unreadable, undecodable or too small file is a one-line UserError naming it. Decodes
    in parallel.

        x = load_images("data/img_align_celeba", ["000001.jpg"], Preprocess(crop=CenterCrop(178)), 128)
    """
    import tensorflow as tf

    _check_spec(preprocess, image_size)
    size = int(image_size)
    paths = [os.path.join(os.fspath(image_dir), name) for name in files]
    if not paths:
        return np.zeros((0, size, size, 3), np.float32)
    for path in paths:
        problem = _image_problem(path)
        if problem is not None:
            raise UserError(f"cannot read image {path}: {problem}")
    crop, method = preprocess.crop, preprocess.resize
    ds = (tf.data.Dataset.from_tensor_slices(paths)
          .map(lambda p: _resize(_crop(_decode(tf.io.read_file(p)), crop), method, size),
               num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
          .batch(64).prefetch(tf.data.AUTOTUNE))
    try:
        return np.concatenate([batch.numpy() for batch in ds])
    except tf.errors.OpError:
        pass
    for path in paths:  # find the culprit to name it
        problem = _load_problem(path, crop)
        if problem is not None:
            raise UserError(f"cannot load image {path}: {problem}")
    raise UserError(f"cannot load the images in {image_dir}")  # pragma: no cover
