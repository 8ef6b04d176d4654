"""The STGAN training loop: data, lr schedule, checkpoints that resume, logs, sample grids.

Layout of one experiment (the card's):
    <output_root>/<experiment_name>/
        config.json          the STGANConfig (test.py / ckpt2pb.py rebuild G from it)
        checkpoints/         Epoch_(E)_(IofN).ckpt.{index,data-*} + checkpoint_state.json
        train_log.jsonl      one record per iteration (5 D + 1 G updates)
        summaries/           TensorBoard scalars
        sample_training/     grids: input | gap | reconstruction and 13 flips, per validation image
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import numpy as np

from common_tools import celeba
from common_tools.checkpoint import CheckpointKeeper, latest_checkpoint
from common_tools.errors import UserError
from common_tools.grids import hstack_with_gap, save_png
from common_tools.logging import StepLogger
from common_tools.runs import config_to_dict, load_config, print_config, save_config

from . import step as step_lib
from .config import STGANConfig
from .data import preprocess, single_edits

ATTR_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
IMAGE_DIR = "img_align_celeba"

# Fields that may change when a killed run is resumed (the schedule and bookkeeping, not the nets).
RESUMABLE_CHANGES = {"epochs", "lr_decay_epoch", "sample_every", "save_every", "max_to_keep", "n_sample"}


def experiment_dir(output_root: str, experiment_name: str) -> str:
    return os.path.join(output_root, experiment_name)


def checkpoint_name(epoch: int, it_in_epoch: int, it_per_epoch: int) -> str:
    """The reference's name: Epoch_(E)_(IofN).ckpt, E 0-based, I 1-based."""
    return f"Epoch_({epoch})_({it_in_epoch}of{it_per_epoch}).ckpt"


@dataclass
class Split:
    image_dir: str
    files: list
    labels: np.ndarray  # float32 0/1 [N, n_att]


def load_split(data_dir: str, atts, split: str, max_images: int = 0) -> Split:
    """Files and 0/1 labels of one split ("train", "val", "test") of a CelebA-layout folder."""
    attr_path = os.path.join(data_dir, ATTR_FILE)
    image_dir = os.path.join(data_dir, IMAGE_DIR)
    if not os.path.isfile(attr_path) or not os.path.isdir(image_dir):
        raise UserError(f"{data_dir} is not a CelebA folder: expected {IMAGE_DIR}/ and {ATTR_FILE} "
                        f"(make one with: python -m common_tools.synthetic faces --out {data_dir} "
                        "--num 2000 --seed 0)")
    attributes = celeba.read_attributes(attr_path)
    labels = attributes.labels(list(atts))
    partition = os.path.join(data_dir, PARTITION_FILE)
    index = celeba.partition_split(attributes.files, partition if os.path.isfile(partition) else None)[split]
    if max_images:
        index = index[:max_images]
    return Split(image_dir, [attributes.files[i] for i in index], labels[index])


def sample_strip(G, cfg, xa, a, test_int: float = 1.0) -> np.ndarray:
    """uint8 image: per row, input | 12-px gap | reconstruction and the n_att single flips."""
    import tensorflow as tf

    a_ = (np.asarray(a, np.float32) * 2 - 1) * cfg.thres_int
    outs = [G(tf.constant(xa), tf.constant(b_ - a_), training=False).numpy()
            for b_ in single_edits(a, cfg.atts, cfg.thres_int, test_int)]
    return hstack_with_gap([xa, np.concatenate(outs, axis=2)], gap=12, value_range=(-1, 1))


def _resolve_config(cfg: STGANConfig, exp_dir: str, has_checkpoint: bool) -> STGANConfig:
    """On resume the saved config rules; only schedule fields may differ (they are taken from cfg)."""
    if not has_checkpoint or not os.path.isfile(os.path.join(exp_dir, "config.json")):
        return cfg
    saved = load_config(STGANConfig, exp_dir)
    new, old = config_to_dict(cfg), config_to_dict(saved)
    changed = sorted(k for k in new if new[k] != old[k] and k not in RESUMABLE_CHANGES)
    if changed:
        print(f"note: resuming {exp_dir} with its saved config; ignoring changed field(s) "
              f"{', '.join(changed)} (use a new --experiment_name to train a different model)")
    keep = {k: getattr(cfg, k) for k in RESUMABLE_CHANGES}
    return dataclasses.replace(saved, **keep)


def train(cfg: STGANConfig, data_dir: str, output_root: str, log_every: int = 10,
          step_fn=None) -> dict:
    """Train (or resume) ``cfg.experiment_name`` under ``output_root``; returns a small summary.

    Resumes from the newest checkpoint of the experiment (the step continues). A non-finite loss
    stops the run without saving, so the last good checkpoint stays the newest; the summary then
    has ``status == "nonfinite"``. ``step_fn`` replaces :func:`stgan.step.train_step` (tests).
    """
    import tensorflow as tf

    step_fn = step_fn or step_lib.train_step
    exp_dir = experiment_dir(output_root, cfg.experiment_name)
    ckpt_dir = os.path.join(exp_dir, "checkpoints")
    cfg = _resolve_config(cfg, exp_dir, latest_checkpoint(ckpt_dir) is not None)
    print_config(cfg)

    train_split = load_split(data_dir, cfg.atts, "train", cfg.max_train_images)
    val_split = load_split(data_dir, cfg.atts, "val")
    if not val_split.files:
        val_split = load_split(data_dir, cfg.atts, "test")

    tf.random.set_seed(cfg.seed)
    np.random.seed(cfg.seed)
    model = step_lib.build(cfg)
    keeper = CheckpointKeeper(ckpt_dir, max_to_keep=cfg.max_to_keep, G=model.G, D=model.D,
                              g_opt=model.g_opt, d_opt=model.d_opt)
    start = keeper.restore() or 0
    if start:
        print(f"resumed from {keeper.latest} at iteration {start}")
    save_config(cfg, exp_dir)

    dataset = celeba.make_dataset(train_split.image_dir, train_split.files, train_split.labels,
                                  preprocess(cfg.img_size), image_size=cfg.img_size, batch_size=cfg.batch_size,
                                  training=True, repeat=True, seed=cfg.seed + start)
    skipped = dataset.image_check.skipped
    if skipped:
        reasons = dataset.image_check.reasons
        print(f"skipped {len(skipped)} unreadable training image(s): "
              + ", ".join(f"{n} ({reasons.get(n, 'unreadable')})" for n in skipped[:10])
              + (" ..." if len(skipped) > 10 else ""))
    per_iter = cfg.batch_size * (cfg.n_d + 1)
    n_train = len(train_split.files) - len(skipped)
    it_per_epoch = n_train // per_iter
    if it_per_epoch < 1:
        raise UserError(f"{data_dir}: {n_train} readable training images are fewer than one "
                        f"iteration needs (batch_size {cfg.batch_size} x (n_d {cfg.n_d} + 1) = {per_iter})")
    total = cfg.epochs * it_per_epoch
    batches = iter(dataset)
    n_sample = min(cfg.n_sample, len(val_split.files))
    xs = celeba.load_images(val_split.image_dir, val_split.files[:n_sample], preprocess(cfg.img_size),
                            image_size=cfg.img_size) if n_sample else None
    as_ = val_split.labels[:n_sample]
    sample_dir = os.path.join(exp_dir, "sample_training")

    log = StepLogger(exp_dir, total, start_step=start, every=log_every)
    status, it = "done", start
    try:
        for it in range(start, total):
            epoch, in_epoch = divmod(it, it_per_epoch)
            model.set_lr(step_lib.lr_at(cfg, epoch))
            scalars = step_fn(model, batches)
            record = log.log(it + 1, images=per_iter, epoch=epoch, lr=step_lib.lr_at(cfg, epoch),
                             **scalars)
            if record.get("nonfinite"):
                log.message(f"non-finite {', '.join(record['nonfinite'])} at iteration {it + 1}; "
                            f"stopped without saving; last good checkpoint: {keeper.latest}")
                status = "nonfinite"
                break
            end_of_epoch = in_epoch + 1 == it_per_epoch
            name = checkpoint_name(epoch, in_epoch + 1, it_per_epoch)
            if end_of_epoch or (cfg.save_every and (it + 1) % cfg.save_every == 0):
                keeper.save(it + 1, name=name)
            if xs is not None and (end_of_epoch or (cfg.sample_every and (it + 1) % cfg.sample_every == 0)):
                save_png(os.path.join(sample_dir, name.replace(".ckpt", ".png")),
                         sample_strip(model.G, cfg, xs, as_))
        else:
            it = total
    finally:
        log.close()
    return {"status": status, "iterations": it, "total": total,
            "it_per_epoch": it_per_epoch, "experiment_dir": exp_dir, "checkpoint": keeper.latest,
            "skipped_images": list(skipped)}
