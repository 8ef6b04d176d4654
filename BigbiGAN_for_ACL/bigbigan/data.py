"""BigBiGAN's data: MNIST / Fashion-MNIST / CIFAR-10 read offline, batched as the reference does.

Any layout :func:`common_tools.imagesets.find_dataset` knows: the MNIST IDX files (real MNIST,
Fashion-MNIST or SynthDigits from ``python -m common_tools.synthetic digits``), the CIFAR-10 python
batches, or a tensorflow_datasets folder (the card's ``--dataset_path``), never a download.
Pixels / 255 to [0, 1], bilinear resize to 32×32, shuffled, batches with drop_remainder, no
augmentation (the reference's pipeline).

    images, labels = load(cfg, "runs/data/synthdigits", "train")   # uint8 [N, 28, 28], uint8 [N]
    batches = iter(train_batches(images, labels, cfg, seed=cfg.seed))   # endless (x [B,32,32,C], y [B])
"""

from __future__ import annotations

import numpy as np

from common_tools import imagesets
from common_tools.errors import UserError


def load(cfg, path, split: str = "train"):
    """(images uint8 [N, H, W(, C)], labels uint8 [N]) of ``cfg.dataset`` from ``path``.

    The images' channels must be the config's: a one-line UserError names the folder otherwise.
    """
    images, labels = imagesets.load_dataset(path, cfg.dataset, split)
    channels = 1 if images.ndim == 3 else images.shape[-1]
    if channels != cfg.channels:
        raise UserError(f"{path}: {cfg.dataset} images with {channels} channel(s), but the config "
                        f"expects {cfg.channels}")
    if len(labels) and int(labels.max()) >= cfg.num_classes:
        raise UserError(f"{path}: labels up to {int(labels.max())}; expected classes 0..{cfg.num_classes - 1}")
    return images, labels


def check_enough(images, cfg, path="the training split") -> None:
    """A whole batch must fit (drop_remainder): one line otherwise."""
    if len(images) < cfg.batch_size:
        raise UserError(f"{path} holds {len(images)} images, fewer than one batch of "
                        f"{cfg.batch_size} (drop_remainder): lower --train_batch_size")


def train_batches(images, labels, cfg, seed: int):
    """Endless tf.data.Dataset of (x float32 [B, 32, 32, C] in [0, 1], y int32 [B]); the order is
    a function of ``seed`` (the trainer passes cfg.seed + the start step)."""
    check_enough(images, cfg)
    ds = imagesets.image_dataset(images, labels, image_size=cfg.image_size, batch_size=cfg.batch_size,
                                 training=True, seed=int(seed), drop_remainder=True)
    return ds.repeat()


def eval_images(images, labels, limit: int | None = None):
    """(x float32 [N, 32, 32, C] in [0, 1], y int32 [N]) in file order, for evaluation."""
    import tensorflow as tf

    images, labels = np.asarray(images)[:limit], np.asarray(labels)[:limit]
    if images.ndim == 3:
        images = images[..., None]
    x = tf.image.resize(tf.cast(images, tf.float32) / 255.0, [32, 32], method="bilinear")
    return x.numpy(), labels.astype(np.int32)
