"""Small labelled image sets read offline: MNIST-style IDX files, CIFAR-10 python batches and
tensorflow_datasets folders. Nothing here downloads anything.

Readers need only numpy (TensorFlow is imported inside :func:`image_dataset`, tensorflow_datasets
inside :func:`load_tfds`), and every bad file is a one-line :class:`~common_tools.errors.UserError`
naming it::

    images, labels = load_mnist("data/mnist", split="train")       # uint8 [60000, 28, 28], uint8 [60000]
    images, labels = load_cifar10("data/cifar10", split="test")    # uint8 [10000, 32, 32, 3], uint8 [10000]
    images, labels = load_dataset("data/mnist", "mnist", "train")  # whichever layout the folder holds
    ds = image_dataset(images, labels, image_size=32, batch_size=256, training=True, seed=0)

Layouts (:func:`find_dataset` says which one a folder holds, or in one line what it expected):

- ``"idx"``: the four files of the MNIST release, gzipped or not, in the folder itself or in
  ``raw/``, ``MNIST/raw/`` or ``FashionMNIST/raw/`` under it (torchvision's layout)::

      train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]
      t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]

  MNIST, Fashion-MNIST and the embedded SynthDigits (``python -m common_tools.synthetic digits``) all
  use these names; the ``train-images.idx3-ubyte`` spelling of some mirrors is accepted too.
- ``"cifar10"``: the python release, ``data_batch_1`` ... ``data_batch_5`` and ``test_batch``, in
  ``cifar-10-batches-py/`` or in the folder itself. The batches are Python-2 pickles read through
  :mod:`common_tools.safe_pickle` (keys ``data``/``labels`` as str or bytes), so a pickle that would
  run code is refused and nothing is loaded.
- ``"tfds"``: a tensorflow_datasets ``data_dir`` holding ``<name>/<version>/dataset_info.json``,
  read with ``tfds.builder(name, data_dir=folder)`` and download disabled, when the package
  ``tensorflow_datasets`` is installed (it is not a dependency of this repo).

IDX format (http://yann.lecun.com/exdb/mnist/): a 4-byte magic ``0x00 0x00 <type> <ndim>`` (type
0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), ``ndim`` big-endian
uint32 sizes, then the values, big-endian, row-major. MNIST images have magic 2051
(``00 00 08 03``), labels 2049 (``00 00 08 01``).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np

from common_tools.errors import UserError

# IDX type byte -> big-endian numpy dtype
IDX_TYPES: Dict[int, np.dtype] = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_TYPE_OF = {dt.newbyteorder("=").str[1:]: code for code, dt in IDX_TYPES.items()}  # "u1" -> 0x08

SPLITS = ("train", "test")
# split -> (images, labels) file names of the MNIST release (shared by Fashion-MNIST), without ".gz"
MNIST_FILES: Dict[str, Tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_SUBFOLDERS = ("", "raw", os.path.join("MNIST", "raw"), os.path.join("FashionMNIST", "raw"))
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_FILES: Dict[str, Tuple[str, ...]] = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}
# data set name (tensorflow_datasets spelling) -> the offline layouts that can hold it
KNOWN_LAYOUTS: Dict[str, Tuple[str, ...]] = {
    "mnist": ("idx", "tfds"),
    "fashion_mnist": ("idx", "tfds"),
    "cifar10": ("cifar10", "tfds"),
}


# ---- IDX -------------------------------------------------------------------------------------------

def _read_bytes(path: str) -> bytes:
    """The file's contents, gunzipped when it starts with the gzip signature (whatever its name)."""
    if not os.path.isfile(path):
        raise UserError(f"IDX file not found: {path}")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as exc:
        what = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path}: corrupt or truncated gzip file ({what}); "
                        "expected a whole .gz of an IDX file") from None


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """The array held by the IDX bytes ``data`` (native byte order); ``source`` names it in errors."""
    if len(data) < 4:
        raise UserError(f"{source}: not an IDX file ({len(data)} bytes; expected a 4-byte magic number and sizes)")
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or type_code not in IDX_TYPES or ndim < 1:
        raise UserError(f"{source}: bad IDX magic number 0x{data[:4].hex()} (expected 00 00 <type> <ndim>, "
                        "e.g. 0x00000803 = 2051 for images, 0x00000801 = 2049 for labels)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise UserError(f"{source}: truncated IDX header ({len(data)} bytes; the magic says {ndim} sizes, "
                        f"{header} bytes)")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_TYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    have = len(data) - header
    if have < expected:
        raise UserError(f"{source}: truncated IDX file: the header says {'x'.join(map(str, shape))} values "
                        f"({expected} bytes), the file holds {have}")
    if have > expected:
        raise UserError(f"{source}: {have - expected} unexpected bytes after the "
                        f"{'x'.join(map(str, shape))} values the IDX header declares")
    array = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return array.reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path) -> np.ndarray:
    """Read an IDX file, gzipped or plain: uint8 images [N, H, W], labels [N], ...

    The magic number is checked and the data size must match the sizes in the header exactly; a
    bad file is a one-line UserError naming it.

        images = read_idx("data/mnist/train-images-idx3-ubyte.gz")   # uint8 [60000, 28, 28]
    """
    path = os.fspath(path)
    return parse_idx(_read_bytes(path), source=path)


def idx_bytes(array) -> bytes:
    """The IDX encoding of ``array`` (uint8, int8, int16, int32, float32 or float64; any rank >= 1)."""
    array = np.asarray(array)
    key = array.dtype.newbyteorder("=").str[1:]
    if key not in _TYPE_OF or array.ndim < 1:
        raise UserError(f"cannot write dtype {array.dtype} with shape {array.shape} as IDX "
                        "(expected uint8, int8, int16, int32, float32 or float64, rank >= 1)")
    code = _TYPE_OF[key]
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()


def write_idx(path, array, compress: Optional[bool] = None) -> str:
    """Write ``array`` as an IDX file; gzipped when ``compress`` or (by default) ``path`` ends in ``.gz``.

    The gzip header carries no name and no time, so the same array gives the same bytes.

        write_idx("out/train-labels-idx1-ubyte.gz", labels.astype(np.uint8))
    """
    path = os.fspath(path)
    data = idx_bytes(array)
    if compress if compress is not None else path.endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def _find_idx_file(folder: str, name: str) -> Optional[str]:
    """``name`` (or ``name``.gz, or the ``train-images.idx3-ubyte`` spelling) under ``folder``'s IDX places."""
    dotted = name.replace("-idx", ".idx")
    for sub in _IDX_SUBFOLDERS:
        for candidate in (name + ".gz", name, dotted + ".gz", dotted):
            path = os.path.join(folder, sub, candidate)
            if os.path.isfile(path):
                return path
    return None


def _idx_root(folder: str) -> Optional[str]:
    """The subfolder of ``folder`` holding the MNIST training images, or None."""
    found = _find_idx_file(folder, MNIST_FILES["train"][0]) or _find_idx_file(folder, MNIST_FILES["test"][0])
    return None if found is None else os.path.dirname(found)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}; expected 'train' or 'test'")


def load_mnist(folder, split: str = "train") -> Tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 28, 28], labels uint8 [N]) of ``split`` from the MNIST IDX files in ``folder``.

    Reads MNIST, Fashion-MNIST and SynthDigits alike (same file names); see the module docstring for
    where the files may lie.

        x, y = load_mnist("data/mnist", "test")   # x: uint8 [10000, 28, 28], y: uint8 [10000]
    """
    _check_split(split)
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise UserError(f"data folder not found: {folder} (expected a folder with the MNIST IDX files)")
    paths = []
    for name in MNIST_FILES[split]:
        path = _find_idx_file(folder, name)
        if path is None:
            raise UserError(f"{folder}: no {name}[.gz] (expected the MNIST IDX files "
                            f"{', '.join(n + '.gz' for n in MNIST_FILES[split])} in it or in raw/)")
        paths.append(path)
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or images.dtype != np.uint8:
        raise UserError(f"{paths[0]}: holds {images.dtype} {list(images.shape)}; expected uint8 images [N, H, W]")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise UserError(f"{paths[1]}: holds {labels.dtype} {list(labels.shape)}; expected uint8 labels [N]")
    if len(images) != len(labels):
        raise UserError(f"{paths[1]}: {len(labels)} labels for the {len(images)} images of {paths[0]}")
    return images, labels


# ---- CIFAR-10 ---------------------------------------------------------------------------------------

def _cifar_root(folder: str) -> Optional[str]:
    for root in (os.path.join(folder, CIFAR10_FOLDER), folder):
        if os.path.isfile(os.path.join(root, "test_batch")) or os.path.isfile(os.path.join(root, "data_batch_1")):
            return root
    return None


def read_cifar_batch(path) -> Tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 32, 32, 3], labels uint8 [N]) of one CIFAR-10 python batch file.

    The pickle is read with :mod:`common_tools.safe_pickle` (plain data and numpy arrays only);
    keys may be str or bytes (``b"data"``, ``b"labels"``), as Python-2 pickles give them.
    """
    from common_tools import safe_pickle

    path = os.fspath(path)
    batch = safe_pickle.load(path, encoding="latin1")
    if not isinstance(batch, dict):
        raise UserError(f"{path}: holds a {type(batch).__name__}; "
                        "expected a CIFAR-10 batch dict with 'data' and 'labels'")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise UserError(f"{path}: keys {sorted(map(str, batch))[:6]}; "
                        "expected a CIFAR-10 batch with 'data' and 'labels'")
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        what = f"{data.dtype} {list(data.shape)}" if isinstance(data, np.ndarray) else type(data).__name__
        raise UserError(f"{path}: 'data' is {what}; expected uint8 [N, 3072] (1024 red, 1024 green, 1024 blue)")
    try:
        labels = np.asarray(batch["labels"], dtype=np.int64).reshape(-1)
    except (TypeError, ValueError):
        raise UserError(f"{path}: 'labels' is not a list of class numbers") from None
    if len(labels) != len(data):
        raise UserError(f"{path}: {len(labels)} labels for {len(data)} images")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise UserError(f"{path}: labels range {labels.min()}..{labels.max()}; expected CIFAR-10 classes 0..9")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # [N, 3, 32, 32] planes -> NHWC
    return np.ascontiguousarray(images), labels.astype(np.uint8)


def load_cifar10(folder, split: str = "train") -> Tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 32, 32, 3], labels uint8 [N]) of ``split`` from the CIFAR-10 python batches.

        x, y = load_cifar10("data", "train")   # data/cifar-10-batches-py/data_batch_1..5
    """
    _check_split(split)
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise UserError(f"data folder not found: {folder} (expected a folder with {CIFAR10_FOLDER}/)")
    root = _cifar_root(folder) or folder
    names = CIFAR10_FILES[split]
    missing = [n for n in names if not os.path.isfile(os.path.join(root, n))]
    if missing:
        raise UserError(f"{root}: no {', '.join(missing)} (expected the CIFAR-10 python batches "
                        f"{', '.join(names)} in {CIFAR10_FOLDER}/ or in the folder itself)")
    parts = [read_cifar_batch(os.path.join(root, n)) for n in names]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


# ---- tensorflow_datasets ----------------------------------------------------------------------------

def _tfds_root(folder: str, name: str) -> Optional[str]:
    """The tensorflow_datasets data_dir holding ``name``: ``folder`` itself, or the one above ``name``'s folder."""
    parent = os.path.dirname(os.path.abspath(folder))
    for data_dir, ds_dir in ((folder, os.path.join(folder, name)), (parent, folder)):
        if os.path.basename(os.path.normpath(ds_dir)) != name or not os.path.isdir(ds_dir):
            continue
        for version in sorted(os.listdir(ds_dir)):
            if os.path.isfile(os.path.join(ds_dir, version, "dataset_info.json")):
                return data_dir
    return None


def load_tfds(folder, name: str, split: str = "train") -> Tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, H, W, C], labels uint8 [N]) of ``name`` from a tensorflow_datasets data_dir.

    Needs the ``tensorflow_datasets`` package (not a dependency here: a one-line UserError says so
    when it is missing). Never downloads: ``download=False``.

        x, y = load_tfds("~/tensorflow_datasets", "mnist", "train")
    """
    _check_split(split)
    folder = os.path.expanduser(os.fspath(folder))
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise UserError(f"{folder} is a tensorflow_datasets folder, but the package tensorflow_datasets is not "
                        "installed (pip install tensorflow-datasets, or give the raw "
                        f"{'MNIST IDX files' if name != 'cifar10' else 'CIFAR-10 python batches'} instead)") from None
    try:
        builder = tfds.builder(name, data_dir=folder)
        data = builder.as_dataset(split=split, as_supervised=True, batch_size=-1)
        images, labels = tfds.as_numpy(data)
    except Exception as exc:  # tfds raises AssertionError / FileNotFoundError / DatasetNotFoundError, ...
        what = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{folder}: cannot read {name} {split} from this tensorflow_datasets folder "
                        f"without downloading ({type(exc).__name__}: {what[:200]})") from None
    images, labels = np.asarray(images), np.asarray(labels)
    if images.dtype != np.uint8 or images.ndim != 4 or labels.ndim != 1 or len(labels) != len(images):
        raise UserError(f"{folder}: {name} {split} gave images {images.dtype} {list(images.shape)} and labels "
                        f"{list(labels.shape)}; expected uint8 [N, H, W, C] and [N]")
    return images, labels.astype(np.uint8)


# ---- finding a data set -----------------------------------------------------------------------------

@dataclass(frozen=True)
class DatasetSource:
    """Where :func:`find_dataset` found a data set."""

    name: str    # data set name in tensorflow_datasets spelling: mnist, fashion_mnist, cifar10
    layout: str  # "idx" (MNIST files), "cifar10" (python batches) or "tfds" (tensorflow_datasets data_dir)
    root: str    # the folder the files were found in (for "tfds": the data_dir)


def _expected(name: str) -> str:
    parts = []
    for layout in KNOWN_LAYOUTS[name]:
        if layout == "idx":
            parts.append("the MNIST IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                         "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)")
        elif layout == "cifar10":
            parts.append(f"the CIFAR-10 python batches ({CIFAR10_FOLDER}/data_batch_1..5, test_batch)")
        else:
            parts.append(f"a tensorflow_datasets folder ({name}/<version>/dataset_info.json)")
    return " or ".join(parts)


def find_dataset(path, name: str) -> DatasetSource:
    """Which offline layout ``path`` holds data set ``name`` in (see the module docstring).

    A folder holding none of them is a one-line UserError saying what was expected.

        find_dataset("data/mnist", "mnist")   # DatasetSource(name='mnist', layout='idx', root='data/mnist')
    """
    if name not in KNOWN_LAYOUTS:
        raise UserError(f"unknown data set {name!r}; expected one of {', '.join(KNOWN_LAYOUTS)}")
    path = os.path.expanduser(os.fspath(path))
    if not os.path.isdir(path):
        raise UserError(f"data folder not found: {path} (expected a folder with {_expected(name)})")
    for layout in KNOWN_LAYOUTS[name]:
        root = {"idx": _idx_root, "cifar10": _cifar_root}[layout](path) if layout != "tfds" else _tfds_root(path, name)
        if root is not None:
            return DatasetSource(name=name, layout=layout, root=root)
    raise UserError(f"{path} holds no {name} data: expected {_expected(name)}")


def load_dataset(path, name: str, split: str = "train") -> Tuple[np.ndarray, np.ndarray]:
    """(images uint8, labels uint8 [N]) of ``split`` of ``name`` from whichever layout ``path`` holds.

    MNIST-style sets give [N, 28, 28] (a tensorflow_datasets channel of 1 is dropped), CIFAR-10
    [N, 32, 32, 3].

        x, y = load_dataset("data/mnist", "mnist", "train")
    """
    _check_split(split)
    source = find_dataset(path, name)
    if source.layout == "idx":
        return load_mnist(source.root, split)
    if source.layout == "cifar10":
        return load_cifar10(source.root, split)
    images, labels = load_tfds(source.root, name, split)
    if "idx" in KNOWN_LAYOUTS[name] and images.shape[-1] == 1:
        images = images[..., 0]
    return images, labels


# ---- tf.data ----------------------------------------------------------------------------------------

def image_dataset(images, labels, image_size: int = 32, batch_size: int = 256, training: bool = True,
                  seed: int = 0, drop_remainder: bool = True):
    """tf.data.Dataset of (float32 [B, S, S, C] in [0, 1], int32 [B]) batches of in-memory images.

    Pixels / 255, bilinear resize to ``image_size`` (S), shuffled (over the whole set, reshuffled
    each epoch) when ``training``; grayscale [N, H, W] gets C = 1. No repeat, no augmentation.

        ds = image_dataset(*load_mnist("data/mnist"), image_size=32, batch_size=256, training=True)
    """
    import tensorflow as tf

    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.dtype != np.uint8:
        raise UserError(f"images must be uint8 [N, H, W] or [N, H, W, C], got {images.dtype} {list(images.shape)}")
    if labels.shape != (len(images),):
        raise UserError(f"labels must be [N] with N = {len(images)} images, got shape {list(labels.shape)}")
    if int(image_size) < 1 or int(batch_size) < 1:
        raise UserError(f"image_size and batch_size must be positive, got {image_size} and {batch_size}")
    if drop_remainder and len(images) < batch_size:
        raise UserError(f"{len(images)} images make no whole batch of {batch_size} (drop_remainder=True)")
    size = int(image_size)
    ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
    if training:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)

    def prepare(x, y):
        x = tf.cast(x, tf.float32) / 255.0
        if x.shape[0] != size or x.shape[1] != size:
            x = tf.image.resize(x, [size, size], method="bilinear")
        return x, y

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(int(batch_size), drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
