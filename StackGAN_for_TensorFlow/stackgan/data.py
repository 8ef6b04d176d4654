"""StackGAN data: the reference's on-disk layout, its preprocessing, and the training batches.

The layout (``Data/birds`` of the reference; Oxford-102 flowers is the same under ``Data/flowers``)::

    <data_dir>/{train,test}/char-CNN-RNN-embeddings.pickle   float32 [N, 10, 1024]: 10 captions per image
    <data_dir>/{train,test}/filenames.pickle                  N keys "002.Laysan_Albatross/Laysan_Albatross_0002_1027"
    <data_dir>/{train,test}/class_info.pickle                 N class numbers
    <data_dir>/{train,test}/76images.pickle, 304images.pickle N uint8 [76, 76, 3] / [304, 304, 3] (made here)
    <cub_dir>/images.txt, bounding_boxes.txt, images/<key>.jpg  CUB-200-2011 (default <data_dir>/CUB_200_2011)

The pickles are the published Python-2 ones: every one is read with ``common_tools.safe_pickle``
(``encoding="latin1"``), which refuses anything but plain data and numpy arrays, so a pickle that
would run code is one error line and nothing is loaded.

:func:`preprocess` is ``misc/preprocess_birds.py`` / ``preprocess_flowers.py``: for every key of
each split's ``filenames.pickle``, the square crop centred on the CUB bounding box (x, y, w, h) with
half side R = int(0.75 max(w, h)) clipped to the image (birds; flowers are not cropped), a bicubic
resize to 304, then 304 -> 76, written as lists of uint8 arrays (pickle protocol 2, as the
reference's). One difference: the reference resized float images with ``scipy.misc.imresize``,
which also stretched each crop's value range to 0..255; the crops here keep their pixel values.

:class:`Batches` is the reference's ``Dataset.next_batch``: each epoch a fresh permutation (the last
partial batch dropped), random crops of ``image_size`` from ``load_size`` (64 of 76, 256 of 304) with
random horizontal flips, pixels to [-1, 1], a "wrong" image of another class per sample (drawn
exactly among the other classes' images) and each sample's embedding the mean of ``num_embedding``
(4) of its 10 captions, drawn without replacement.

    train = load_split("Data/birds", "train", cfg)       # cfg.load_size picks 76images / 304images
    images, wrong, embeddings = next(Batches(train, cfg, seed=0))
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from common_tools import safe_pickle
from common_tools.errors import UserError

EMBEDDING_FILES = {"cnn-rnn": "char-CNN-RNN-embeddings.pickle",
                   "skip-thought": "skip-thought-embeddings.pickle"}
SPLITS = ("train", "test")
CROP_SCALE = 0.75            # R = int(0.75 * max(w, h)) around the box centre (misc/utils.custom_crop)
LR_HR_RATIO = 4              # 304 -> 76


def images_name(load_size: int) -> str:
    """``76images.pickle`` / ``304images.pickle``: the reference's name for ``load_size`` px images."""
    return f"{int(load_size)}images.pickle"


def _load(path: str, what: str):
    if not os.path.isfile(path):
        raise UserError(f"{what} not found: {path}")
    return safe_pickle.load(path, encoding="latin1")


# ---------------------------------------------------------------------------------------------
# One split of the text-to-image pickles
# ---------------------------------------------------------------------------------------------

@dataclass
class Split:
    """One split (train or test) as arrays; ``images`` None when loaded without them."""
    name: str
    directory: str
    embeddings: np.ndarray          # float32 [N, K, D]: K captions per image (10)
    filenames: List[str]            # N keys "002.Laysan_Albatross/Laysan_Albatross_0002_1027"
    class_id: np.ndarray            # int64 [N]
    images: Optional[np.ndarray]    # uint8 [N, L, L, 3] or None

    def __len__(self) -> int:
        return len(self.filenames)


def read_embeddings(path: str, embedding_dim: Optional[int] = None) -> np.ndarray:
    """An embedding pickle as float32 [N, K, D] ([N, D] reads as K = 1); one line if it is not."""
    data = _load(path, "embedding pickle")
    try:
        emb = np.asarray(data, dtype=np.float32)
    except (TypeError, ValueError):
        raise UserError(f"{path}: expected a float array [N, 10, {embedding_dim or 1024}] of "
                        f"caption embeddings, got a {type(data).__name__} that is not one") from None
    if emb.ndim == 2:
        emb = emb[:, None, :]
    want = embedding_dim or "D"
    if emb.ndim != 3 or emb.shape[0] == 0 or (embedding_dim and emb.shape[2] != embedding_dim):
        raise UserError(f"{path}: embeddings of shape {list(emb.shape)}, expected [N, 10, {want}] "
                        f"(N images, captions per image, embedding size)")
    if not np.isfinite(emb).all():
        raise UserError(f"{path}: the embeddings hold NaN or inf values")
    return emb


def _string_list(data, path: str, n: Optional[int] = None) -> List[str]:
    if isinstance(data, np.ndarray):
        data = data.tolist()
    if not isinstance(data, (list, tuple)) or not all(isinstance(s, (str, bytes)) for s in data):
        raise UserError(f"{path}: expected a list of {n or 'N'} file name strings, got "
                        f"{type(data).__name__}")
    out = [s.decode("latin1") if isinstance(s, bytes) else s for s in data]
    if n is not None and len(out) != n:
        raise UserError(f"{path}: {len(out)} file names for {n} embeddings: expected one per image")
    return out


def _class_ids(data, path: str, n: int) -> np.ndarray:
    try:
        ids = np.asarray(data)
    except (TypeError, ValueError):
        ids = np.asarray([])
    if ids.ndim != 1 or len(ids) != n or not np.issubdtype(ids.dtype, np.integer):
        raise UserError(f"{path}: expected {n} integer class numbers (one per image), got "
                        f"{type(data).__name__} of shape {list(np.shape(ids))}")
    return ids.astype(np.int64)


def read_images(path: str, n: int, load_size: int) -> np.ndarray:
    """An images pickle (a list of N uint8 [L, L, 3]) as one uint8 array [N, L, L, 3]."""
    data = _load(path, "images pickle")
    try:
        images = np.asarray(data)
    except (TypeError, ValueError):
        images = np.asarray([])
    want = [n, load_size, load_size, 3]
    if list(images.shape) != want or images.dtype != np.uint8:
        raise UserError(f"{path}: images of shape {list(images.shape)} ({images.dtype}), expected "
                        f"uint8 {want} (rerun misc/preprocess_*.py for this split)")
    return images


def load_split(data_dir: str, split: str, cfg=None, *, load_size: Optional[int] = None,
               embedding_type: Optional[str] = None, embedding_dim: Optional[int] = None,
               images: bool = True) -> Split:
    """Read ``<data_dir>/<split>/``: embeddings, file names, class numbers and (``images``) the
    ``<load_size>images.pickle``; sizes from ``cfg`` (load_size, embedding_type, embedding_dim)
    unless given. Every mismatch is one UserError naming the file and what was expected."""
    directory = os.path.join(os.fspath(data_dir), split)
    if not os.path.isdir(directory):
        raise UserError(f"{directory} is not a folder: expected the data set's {split}/ folder "
                        f"with {EMBEDDING_FILES['cnn-rnn']}, filenames.pickle and class_info.pickle")
    load_size = load_size or (cfg.load_size if cfg is not None else None)
    embedding_type = embedding_type or (cfg.embedding_type if cfg is not None else "cnn-rnn")
    embedding_dim = embedding_dim or (cfg.embedding_dim if cfg is not None else None)
    emb = read_embeddings(os.path.join(directory, EMBEDDING_FILES[embedding_type]), embedding_dim)
    n = emb.shape[0]
    names_path = os.path.join(directory, "filenames.pickle")
    filenames = _string_list(_load(names_path, "file names pickle"), names_path, n)
    class_path = os.path.join(directory, "class_info.pickle")
    class_id = _class_ids(_load(class_path, "class info pickle"), class_path, n)
    imgs = None
    if images:
        if not load_size:
            raise ValueError("load_split(images=True) needs load_size (or cfg)")
        path = os.path.join(directory, images_name(load_size))
        if not os.path.isfile(path):
            raise UserError(f"{path} not found: run misc/preprocess_birds.py (or preprocess_flowers.py) "
                            f"first, it writes {images_name(load_size)} from the image folder")
        imgs = read_images(path, n, load_size)
    return Split(split, directory, emb, filenames, class_id, imgs)


def load_splits(cfg, data_dir: str) -> dict:
    """What a training run reads: {"train": the train Split with its images (at least one batch),
    "test": the test Split without images (preview captions), or None when there is no test/}."""
    train = load_split(data_dir, "train", cfg)
    updates_per_epoch(len(train), cfg.batch_size, os.path.join(data_dir, "train"))
    has_test = os.path.isdir(os.path.join(data_dir, "test"))
    return {"train": train, "test": load_split(data_dir, "test", cfg, images=False) if has_test else None}


def read_captions(data_dir: str, filename: str, class_id: int) -> List[str]:
    """The 10 captions of ``filename`` from ``text_c10/`` (in ``data_dir`` or beside it), [] if none.

    Flowers' keys ``jpg/image_00001`` live in ``text_c10/class_00001/image_00001.txt``.
    """
    name = filename.replace("jpg/", f"class_{int(class_id):05d}/") if "jpg/" in filename else filename
    for root in (data_dir, os.path.dirname(os.path.abspath(data_dir))):
        path = os.path.join(root, "text_c10", name + ".txt")
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                return [line.strip() for line in f if line.strip()]
    return []


# ---------------------------------------------------------------------------------------------
# Training batches
# ---------------------------------------------------------------------------------------------

def updates_per_epoch(n: int, batch_size: int, what: str = "the train split") -> int:
    """Iterations per epoch: the reference's int(N / batch) (the last partial batch is dropped)."""
    if n < batch_size:
        raise UserError(f"{what} has {n} images, fewer than batch_size {batch_size}: use a smaller "
                        "TRAIN.BATCH_SIZE")
    return n // batch_size


class Batches:
    """Endless training batches (images, wrong_images, embeddings) of ``split``, seeded.

    images / wrong_images float32 [B, S, S, 3] in [-1, 1] (S = cfg.image_size cropped from
    cfg.load_size), embeddings float32 [B, D]: the mean of cfg.num_embedding random captions.
    """

    def __init__(self, split: Split, cfg, seed: int):
        if split.images is None:
            raise ValueError("Batches needs a split loaded with its images")
        self.split, self.cfg = split, cfg
        self.size = cfg.image_size
        if split.images.shape[1] < self.size:
            raise UserError(f"{split.directory}: images of {split.images.shape[1]} px cannot be "
                            f"cropped to {self.size} px")
        self.batch = cfg.batch_size
        self.per_epoch = updates_per_epoch(len(split), self.batch, f"{split.directory}")
        self.rng = np.random.default_rng(seed)
        classes = split.class_id
        if cfg.b_wrong and len(np.unique(classes)) < 2:
            raise UserError(f"{split.directory}: all images are of one class, so there are no "
                            "mismatched (wrong) images: set TRAIN.B_WRONG False or add classes")
        self.others = {c: np.flatnonzero(classes != c) for c in np.unique(classes)}
        self.num_embedding = min(cfg.num_embedding, split.embeddings.shape[1])
        self._perm, self._pos = None, self.per_epoch   # a new permutation on the first call

    def __iter__(self):
        return self

    def transform(self, images: np.ndarray) -> np.ndarray:
        """uint8 [B, L, L, 3] -> float32 [B, S, S, 3] in [-1, 1]: random crop, random flip."""
        n, load = images.shape[0], images.shape[1]
        out = np.empty((n, self.size, self.size, 3), np.float32)
        offsets = np.floor((load - self.size) * self.rng.random((n, 2))).astype(int)
        flips = self.rng.random(n) > 0.5
        for i in range(n):
            y, x = offsets[i]
            crop = images[i, y:y + self.size, x:x + self.size]
            out[i] = crop[:, ::-1] if flips[i] else crop
        return out * np.float32(2.0 / 255.0) - np.float32(1.0)

    def sample_embeddings(self, ids: np.ndarray) -> np.ndarray:
        """The mean of num_embedding of each image's captions, drawn without replacement."""
        emb = self.split.embeddings[ids]                                   # [B, K, D]
        pick = np.argsort(self.rng.random(emb.shape[:2]), axis=1)[:, :self.num_embedding]
        return np.take_along_axis(emb, pick[:, :, None], axis=1).mean(axis=1).astype(np.float32)

    def wrong_ids(self, ids: np.ndarray) -> np.ndarray:
        """For each image, a random image of another class (any image without b_wrong)."""
        if not self.cfg.b_wrong:
            return self.rng.integers(0, len(self.split), size=len(ids))
        out = np.empty_like(ids)
        for i, c in enumerate(self.split.class_id[ids]):
            others = self.others[c]
            out[i] = others[self.rng.integers(len(others))]
        return out

    def __next__(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._pos >= self.per_epoch:
            self._perm, self._pos = self.rng.permutation(len(self.split)), 0
        ids = self._perm[self._pos * self.batch:(self._pos + 1) * self.batch]
        self._pos += 1
        images = self.split.images
        return (self.transform(images[ids]), self.transform(images[self.wrong_ids(ids)]),
                self.sample_embeddings(ids))


# ---------------------------------------------------------------------------------------------
# Preprocessing: misc/preprocess_birds.py, misc/preprocess_flowers.py
# ---------------------------------------------------------------------------------------------

def _read_table(path: str, columns: int, what: str) -> List[List[str]]:
    if not os.path.isfile(path):
        raise UserError(f"{path} not found: expected the CUB-200-2011 {what} (unpack CUB_200_2011.tgz "
                        "into the data folder, or give --cub_dir)")
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < columns:
                raise UserError(f"{path} line {n}: expected {columns} columns, got {line.strip()!r}")
            rows.append(parts)
    return rows


def read_bounding_boxes(cub_dir: str) -> Dict[str, Tuple[int, int, int, int]]:
    """{"001.Black_footed_Albatross/Black_Footed_Albatross_0046_18": (x, y, w, h)} from CUB's
    ``images.txt`` and ``bounding_boxes.txt`` (matched by their image id, as ints like the
    reference's ``astype(int)``)."""
    images = _read_table(os.path.join(cub_dir, "images.txt"), 2, "image list")
    boxes_path = os.path.join(cub_dir, "bounding_boxes.txt")
    boxes = {row[0]: row[1:5] for row in _read_table(boxes_path, 5, "bounding boxes")}
    out = {}
    for image_id, name in images:
        if image_id not in boxes:
            raise UserError(f"{boxes_path} has no box for image {image_id} ({name}) of images.txt")
        try:
            box = tuple(int(float(v)) for v in boxes[image_id])
        except ValueError:
            raise UserError(f"{boxes_path}: the box of image {image_id} is not 4 numbers: "
                            f"{' '.join(boxes[image_id])}") from None
        out[os.path.splitext(name)[0]] = box
    return out


def square_crop(image: np.ndarray, bbox: Sequence[int]) -> np.ndarray:
    """The reference's ``custom_crop``: the square of half side R = int(0.75 max(w, h)) centred on
    the box (x, y, w, h), clipped to the image (so not square at the borders)."""
    x, y, w, h = bbox
    cx, cy = int((2 * x + w) / 2), int((2 * y + h) / 2)
    r = int(max(w, h) * CROP_SCALE)
    y1, y2 = max(0, cy - r), min(image.shape[0], cy + r)
    x1, x2 = max(0, cx - r), min(image.shape[1], cx + r)
    return image[y1:y2, x1:x2]


def _bicubic(image: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((size, size), Image.BICUBIC), np.uint8)


def load_image(path: str) -> np.ndarray:
    """An RGB uint8 array (grey and RGBA images converted, as the reference's ``colorize``)."""
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def _dump(obj, path: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(obj, f, protocol=2)
    os.replace(tmp, path)


def preprocess(data_dir: str, image_path: Callable[[str], str],
               boxes: Optional[Dict[str, Tuple[int, int, int, int]]] = None,
               load_size: int = 304, splits: Sequence[str] = SPLITS,
               say: Callable[[str], None] = print) -> List[str]:
    """Write ``<split>/<load_size>images.pickle`` and ``<load_size // 4>images.pickle`` for each
    split's ``filenames.pickle`` keys; ``image_path(key)`` is the key's image file; ``boxes`` the
    birds' bounding boxes (None: no crop, flowers). Every listed image is read before anything is
    written: a missing or unreadable one is one UserError naming it (the pickles' rows must line up
    with the embeddings, so none may be skipped). Returns the paths written."""
    lr_size = load_size // LR_HR_RATIO
    if lr_size < 1 or load_size % LR_HR_RATIO:
        raise UserError(f"--load_size must be a multiple of {LR_HR_RATIO}, got {load_size}")
    work = []
    for split in splits:
        directory = os.path.join(data_dir, split)
        names_path = os.path.join(directory, "filenames.pickle")
        work.append((directory, _string_list(_load(names_path, "file names pickle"), names_path)))
    written = []
    for directory, names in work:
        hr, lr, bad = [], [], []
        for n, key in enumerate(names, 1):
            path = image_path(key)
            if boxes is not None and key not in boxes:
                raise UserError(f"{key} of {directory}/filenames.pickle is not in the CUB images.txt")
            try:
                img = load_image(path)
            except FileNotFoundError:
                bad.append(f"{path} (missing)")
                continue
            except OSError as exc:
                bad.append(f"{path} (unreadable: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__})")
                continue
            if boxes is not None:
                img = square_crop(img, boxes[key])
            big = _bicubic(img, load_size)
            hr.append(big)
            lr.append(_bicubic(big, lr_size))
            if n % 500 == 0:
                say(f"{directory}: {n} of {len(names)} images")
        if bad:
            raise UserError(f"{len(bad)} of the {len(names)} images listed in "
                            f"{directory}/filenames.pickle cannot be read, e.g. {bad[0]}; nothing "
                            "written for this split")
        for size, images in ((load_size, hr), (lr_size, lr)):
            out = os.path.join(directory, images_name(size))
            _dump(images, out)
            written.append(out)
            say(f"wrote {out}: {len(images)} images of {size}x{size}")
    return written


def preprocess_birds(data_dir: str, cub_dir: Optional[str] = None, load_size: int = 304,
                     say=print) -> List[str]:
    """misc/preprocess_birds.py: boxes and images from ``cub_dir`` (default
    ``<data_dir>/CUB_200_2011``), pickles into ``<data_dir>/{train,test}``."""
    cub_dir = cub_dir or os.path.join(data_dir, "CUB_200_2011")
    boxes = read_bounding_boxes(cub_dir)
    return preprocess(data_dir, lambda key: os.path.join(cub_dir, "images", key + ".jpg"), boxes,
                      load_size=load_size, say=say)


def preprocess_flowers(data_dir: str, image_dir: Optional[str] = None, load_size: int = 304,
                       say=print) -> List[str]:
    """misc/preprocess_flowers.py: keys ``jpg/image_00001`` -> ``<image_dir>/jpg/image_00001.jpg``
    (default ``image_dir`` = ``data_dir``), resized whole (no boxes)."""
    image_dir = image_dir or data_dir
    return preprocess(data_dir, lambda key: os.path.join(image_dir, key + ".jpg"), None,
                      load_size=load_size, say=say)
