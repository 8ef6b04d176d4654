"""Face images for progressive training, read with PIL + numpy (no TensorFlow, no mindspore.dataset).

The card's pipeline (src/image_transform.py): crop a ``crop_size`` square centred at
(``crop_cx``, ``crop_cy``) (the aligned CelebA face box: 128 x 128 around (89, 121) of a 178 x 218
photo), resize it to the scale's side with PIL's bilinear filter, x / 127.5 - 1, NCHW float32.
An image too small for the box is centre-cropped to its largest square instead (said once).

    faces = ImageFolder("data/celeba")                  # a folder of images, or a CelebA root
    x = faces.batch(start=0, count=16, size=8)          # float32 [16, 3, 8, 8] in [-1, 1]

The data order is a function of the position in the image stream: epoch e is the permutation
``default_rng((seed, e))`` of the files, so the batch of a global step depends only on how many
images earlier steps drew (``PGANConfig.phase(step).images_before``): a resumed run reads exactly
what an uninterrupted one would. Files that are not images (empty, wrong signature, truncated
JPEG) are left out when the folder is listed, one warning each; a file that then fails to decode is
named in a warning and replaced by the next image of the stream.
"""

from __future__ import annotations

import os
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from common_tools import celeba
from common_tools.errors import UserError

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
        self.workers = workers or min(4, os.cpu_count() or 1)
        self._perms = {}
        self._cache = {}        # size -> {index: uint8 [size, size, 3]}
        self._bad = set()       # indices that failed to decode
        self._said_small = False

    def __len__(self) -> int:
        return len(self.names)

    def describe(self) -> str:
        skipped = f", {len(self.skipped)} unreadable file(s) left out" if self.skipped else ""
        return f"{len(self)} images in {self.root}{skipped}"

    # ---- the stream
    def _permutation(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            if len(self._perms) > 2:
                self._perms.clear()
            self._perms[epoch] = np.random.default_rng((self.seed, epoch)).permutation(len(self.names))
        return self._perms[epoch]

    def indices(self, start: int, count: int) -> list:
        """The image indices at stream positions start .. start + count - 1."""
        n = len(self.names)
        return [int(self._permutation(p // n)[p % n]) for p in range(start, start + count)]

    # ---- decoding
    def _load(self, index: int, size: int) -> np.ndarray:
        path = os.path.join(self.root, self.names[index])
        with Image.open(path) as img:
            img = img.convert("RGB")
            w, h = img.size
            cx, cy, side = self.crop
            half = side // 2
            if cx - half >= 0 and cy - half >= 0 and cx - half + side <= w and cy - half + side <= h:
                box = (cx - half, cy - half, cx - half + side, cy - half + side)
            else:
                side = min(w, h)
                box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
                if not self._said_small:
                    self._said_small = True
                    print(f"note: {path} ({w}x{h}) does not hold the {self.crop[2]}x{self.crop[2]} crop box "
                          f"at ({cx}, {cy}); such images are centre-cropped", file=self.stream or sys.stderr, flush=True)
            img = img.crop(box).resize((size, size), resample=Image.BILINEAR)
            return np.asarray(img, np.uint8)

    def _image(self, index: int, size: int):
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

    def batch(self, start: int, count: int, size: int) -> np.ndarray:
        """float32 [count, 3, size, size] in [-1, 1]: the images at stream positions start.. ."""
        chosen = self.indices(start, count)
        extra = start + count
        out = [None] * count
        pending = list(range(count))
        with ThreadPoolExecutor(self.workers) as pool:
            while pending:
                results = list(pool.map(lambda k: self._image(chosen[k], size), pending))
                retry = []
                for k, result in zip(pending, results):
                    if isinstance(result, np.ndarray):
                        out[k] = result
                        continue
                    index = chosen[k]
                    if index not in self._bad:
                        self._bad.add(index)
                        warnings.warn(f"skipping image {os.path.join(self.root, self.names[index])}: "
                                      f"cannot decode it ({str(result).splitlines()[0][:120]})")
                    if len(self._bad) >= len(self.names):
                        raise UserError(f"no image in {self.root} can be decoded")
                    while True:  # the next decodable image of the stream takes its place
                        chosen[k] = self.indices(extra, 1)[0]
                        extra += 1
                        if chosen[k] not in self._bad:
                            break
                    retry.append(k)
                pending = retry
        x = np.stack(out).astype(np.float32) / 127.5 - 1.0  # (N, size, size, 3)
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # (N, 3, size, size)
