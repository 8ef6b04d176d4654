"""CelebA (or SynthFaces, same layout) for StarGAN: labels of the selected attributes, the
reference split (shuffle with seed 1234, first n_test rows are the test set) and tf.data pipelines
from ``common_tools.celeba`` (train: flip, centre crop 178, resize, [-1, 1]; test: no flip)."""

from __future__ import annotations

import os

import numpy as np

from common_tools import celeba
from common_tools.errors import UserError


# decoded crops are cached in memory for small data sets (~95 KB per image: 20k images ~ 1.9 GB)
CACHE_MAX_IMAGES = 20_000
# the reference's transform: random horizontal flip (training only), centre crop 178, resize to
# image_size (antialiased bilinear, like its PIL resize), [-1, 1]
PREPROCESS = celeba.Preprocess(crop=celeba.CenterCrop(178), resize="bilinear", flip=True)


class Split:
    """File names and 0/1 labels [N, c_dim] of one split."""

    def __init__(self, files, labels):
        self.files, self.labels = list(files), np.asarray(labels, np.float32)

    def __len__(self):
        return len(self.files)


def load_splits(cfg, image_root: str, metadata_path: str):
    """-> (train, test) Splits for ``cfg.selected_attrs`` (unknown names: one UserError line)."""
    if not os.path.isdir(image_root):
        raise UserError(f"image_root is not a folder: {image_root} (expected the folder of "
                        "CelebA JPEGs, e.g. img_align_celeba/)")
    attrs = celeba.read_attributes(metadata_path)
    labels = attrs.labels(list(cfg.selected_attrs))
    n = len(attrs.files)
    if n <= cfg.n_test:
        raise UserError(f"{metadata_path} lists {n} images but the run's n_test is {cfg.n_test}: "
                        "nothing is left to train on; give more images, or train with a lower "
                        "n_test (main.py --phase train --n_test N)")
    train_idx, test_idx = celeba.seeded_split(n, seed=cfg.split_seed, n_test=cfg.n_test)
    files = np.asarray(attrs.files)
    return (Split(files[train_idx], labels[train_idx]), Split(files[test_idx], labels[test_idx]))


def dataset(cfg, image_root: str, split: Split, training: bool, batch_size: int | None = None,
            repeat: bool | None = None, seed: int | None = None):
    """A tf.data pipeline of (x [B, S, S, 3] in [-1, 1], c [B, c_dim])."""
    return celeba.make_dataset(image_root, split.files, split.labels, PREPROCESS,
                               image_size=cfg.image_size,
                               batch_size=batch_size or cfg.batch_size, training=training,
                               repeat=training if repeat is None else repeat,
                               seed=cfg.seed if seed is None else seed,
                               drop_remainder=training,
                               cache=training and len(split) <= CACHE_MAX_IMAGES)
