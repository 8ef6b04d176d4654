"""Face images for progressive training through a ``mindspore.dataset`` pipeline with parallel decode.

The card's pipeline (image_transform.py): crop a ``crop_size`` square centred at (``crop_cx``,
``crop_cy``) (the aligned CelebA face box: 128 x 128 around (89, 121) of a 178 x 218 photo), resize
it to the scale's side with PIL's bilinear filter, x / 127.5 - 1, NCHW float32. An image too small
for the box is centre-cropped to its largest square instead (said once).

    faces = ImageFolder("data/celeba")                  # a folder of images, or a CelebA root
    x = faces.batch(start=0, count=16, size=8)          # float32 [16, 3, 8, 8] in [-1, 1]

The data order is a function of the position in the image stream: epoch e is the permutation
``default_rng((seed, e))`` of the files, so the batch of a global step depends only on how many
images earlier steps drew (``PGANConfig.phase(step).images_before``): a resumed run reads exactly
what an uninterrupted one would. ``batch`` reads from a pipeline started at that position:
``GeneratorDataset`` (stream positions) -> ``map`` (decode, crop, resize; ``workers`` threads, in
order) -> ``batch``, which decodes the next batches while the step runs; a ``batch`` call at
another position, count or size starts a new pipeline there. Files that are not images (empty,
wrong signature, truncated JPEG) are left out when the folder is listed, one warning each; a file
that then fails to decode is named in a warning and replaced by the next decodable image of the
stream. Resized images are kept in memory while the scale's images fit in ``CACHE_BYTES``.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings

import numpy as np
from PIL import Image

from common_tools import celeba
from common_tools.errors import UserError

from .image_transform import crop_and_resize, to_model_input

EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
CACHE_BYTES = 512 * 2 ** 20  # keep a scale's resized images in memory up to this size


def image_dir(path) -> str:
    """``path`` itself, or its ``img_align_celeba/`` when it is a CelebA / SynthFaces root."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise UserError(f"--train_data_path {path} is not a folder: expected a folder of face images "
                        "(e.g. python -m common_tools.synthetic faces --out DIR, then DIR)")
    inner = os.path.join(path, "img_align_celeba")
    return inner if os.path.isdir(inner) else path


class ImageFolder:
    """The images of one folder as a seeded, position-addressed stream of batches."""

    def __init__(self, path, crop_cx=89, crop_cy=121, crop_size=128, seed=1, workers=None, stream=None):
        self.root = image_dir(path)
        names = sorted(n for n in os.listdir(self.root) if n.lower().endswith(EXTENSIONS)
                       and os.path.isfile(os.path.join(self.root, n)))
        if not names:
            raise UserError(f"no images in {self.root}: expected {', '.join(EXTENSIONS)} files")
        keep, check = celeba.check_images(self.root, names)
        self.skipped = list(check.skipped)
        self.names = [names[i] for i in keep]
        if not self.names:
            raise UserError(f"none of the {len(names)} files in {self.root} is a readable image")
        self.crop = (int(crop_cx), int(crop_cy), int(crop_size))
        self.seed = int(seed)
        self.stream = stream
        self.workers = max(1, min(workers or 4, os.cpu_count() or 1))  # mindspore.dataset allows up to the CPU count
        self._perms = {}
        self._cache = {}        # size -> {index: uint8 [size, size, 3]}
        self._bad = set()       # indices that failed to decode
        self._said_small = False
        self._lock = threading.Lock()   # the map's worker threads share the caches above
        self._pipeline = None   # (size, count, stride, next start, iterator) of the running pipeline
        self._exhausted = False  # set by a worker when no image of the folder decodes

    def __len__(self) -> int:
        return len(self.names)

    def describe(self) -> str:
        skipped = f", {len(self.skipped)} unreadable file(s) left out" if self.skipped else ""
        return f"{len(self)} images in {self.root}{skipped}"

    # ---- the stream
    def _permutation(self, epoch: int) -> np.ndarray:
        with self._lock:
            if epoch not in self._perms:
                if len(self._perms) > 2:
                    self._perms.pop(min(self._perms))
                self._perms[epoch] = np.random.default_rng((self.seed, epoch)).permutation(len(self.names))
            return self._perms[epoch]

    def indices(self, start: int, count: int) -> list:
        """The image indices at stream positions start .. start + count - 1."""
        n = len(self.names)
        return [int(self._permutation(p // n)[p % n]) for p in range(start, start + count)]

    # ---- decoding (in the pipeline's worker threads)
    def _load(self, index: int, size: int) -> np.ndarray:
        path = os.path.join(self.root, self.names[index])
        with Image.open(path) as img:
            image, fell_back = crop_and_resize(img, self.crop, size)
        if fell_back and not self._said_small:
            self._said_small = True
            print(f"note: {path} does not hold the {self.crop[2]}x{self.crop[2]} crop box at "
                  f"({self.crop[0]}, {self.crop[1]}); such images are centre-cropped",
                  file=self.stream or sys.stderr, flush=True)
        return image

    def _image(self, index: int, size: int):
        """uint8 [size, size, 3] of file ``index``, or the decode error."""
        cache = self._cache.setdefault(size, {})
        if index in cache:
            return cache[index]
        try:
            image = self._load(index, size)
        except (OSError, ValueError, SyntaxError) as exc:  # PIL's decode errors
            return exc
        if len(self) * size * size * 3 <= CACHE_BYTES:
            cache[index] = image
        return image

    def image_at(self, position: int, size: int) -> np.ndarray:
        """uint8 [size, size, 3]: the image at a stream position, or the next decodable one after it."""
        for p in range(position, position + 2 * len(self)):  # any 2n positions hold a whole epoch
            index = self.indices(p, 1)[0]
            if index in self._bad:
                continue
            result = self._image(index, size)
            if isinstance(result, np.ndarray):
                return result
            with self._lock:
                new = index not in self._bad
                self._bad.add(index)
            if new:
                warnings.warn(f"skipping image {os.path.join(self.root, self.names[index])}: "
                              f"cannot decode it ({str(result).splitlines()[0][:120]})")
            if len(self._bad) >= len(self):
                break
        self._exhausted = True  # batch() says so in the main thread; the pipeline needs an image
        return np.zeros((size, size, 3), np.uint8)

    # ---- the pipeline
    def _start(self, start: int, count: int, size: int, stride: int):
        import mindspore.dataset as ds

        def positions():
            first = start
            while True:
                for p in range(first, first + count):
                    yield (np.int64(p),)
                first += stride

        data = ds.GeneratorDataset(positions, column_names=["position"], shuffle=False)
        data = data.map(operations=lambda p: self.image_at(int(p), size), input_columns=["position"],
                        output_columns=["image"], num_parallel_workers=self.workers)
        data = data.batch(count)
        return data.create_tuple_iterator(num_epochs=1, output_numpy=True)

    def batch(self, start: int, count: int, size: int, stride: "int | None" = None) -> np.ndarray:
        """float32 [count, 3, size, size] in [-1, 1]: the images at stream positions start.. .

        ``stride``: where the next batch is expected to start, from this one's start (default
        ``count``; a data-parallel rank reads every N-th batch); the pipeline decodes ahead there."""
        stride = count if stride is None else int(stride)
        running = self._pipeline
        if running is None or running[:4] != (size, count, stride, start):
            self.close()
            running = (size, count, stride, start, self._start(start, count, size, stride))
        images = next(running[4])[0]
        self._pipeline = (size, count, stride, start + stride, running[4])
        if self._exhausted:
            self.close()
            raise UserError(f"no image in {self.root} can be decoded")
        return to_model_input(images)

    def close(self) -> None:
        """Stop the running pipeline (a later ``batch`` starts a new one)."""
        if self._pipeline is not None:
            iterator, self._pipeline = self._pipeline[4], None
            iterator.stop()
