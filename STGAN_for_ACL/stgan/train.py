"""STGAN training on the shared driver (common_tools.training): data, lr schedule, card names.

One experiment, ``<output_root>/<experiment_name>/`` (the card's layout): config.json, checkpoints/
``Epoch_(E)_(IofN).ckpt`` (E 0-based epoch, I 1-based iteration of N), train_log.jsonl, summaries/,
run_summary.json and sample_training/ (per validation image: input | gap | reconstruction, flips).

    summary = train(STGANConfig.tiny(), "output/t", data_dir="runs/data/synthfaces")   # resumes
    train(cfg, "output/t", data_dir, strategy="multi_worker")     # a worker under common_tools.launch

Data parallel (``strategy``, see common_tools.distribute): ``cfg.batch_size`` is per replica, every
worker's pipeline yields the global batch (the same seed everywhere) and the step slices it per
replica; an epoch is ``len(train) // (global batch x (n_d + 1))`` iterations. The chief writes the
checkpoints, logs and strips; every worker restores from the chief's ``checkpoints/``.
"""

from __future__ import annotations

import functools
import os
import time

from common_tools import celeba, training
from common_tools.checkpoint import CheckpointKeeper
from common_tools.errors import UserError
from common_tools.grids import save_png

from . import step as step_lib
from .data import load_split, preprocess
from .strips import single_strips


def checkpoint_name(step: int, it_per_epoch: int) -> str:
    """The reference's name of the checkpoint after ``step`` iterations: Epoch_(E)_(IofN).ckpt."""
    epoch, i = divmod(step - 1, it_per_epoch)
    return f"Epoch_({epoch})_({i + 1}of{it_per_epoch}).ckpt"


def build(cfg, run: training.Run, data_dir: str, progress_every: int = 10, dist=None) -> training.Loop:
    """The model's side of the loop: nets, optimizers and the step's generator (all checkpointed);
    ``dist``: a common_tools.distribute.Distribution (default: one device)."""
    from common_tools.distribute import Distribution

    dist = dist or Distribution("one")
    global_batch = dist.global_batch(cfg.batch_size)
    images_per_iteration = global_batch * (cfg.n_d + 1)
    part = load_split(data_dir, cfg.atts, "train", cfg.max_train_images).readable()
    per_epoch = len(part.files) // images_per_iteration
    if per_epoch < 1:
        raise UserError(f"{data_dir}: {len(part.files)} readable training images are fewer than one "
                        f"iteration needs (batch_size {cfg.batch_size} x {dist.replicas} replicas x "
                        f"(n_d {cfg.n_d} + 1))")
    val = load_split(data_dir, cfg.atts, "val") or load_split(data_dir, cfg.atts, "test")
    n = min(cfg.n_sample, len(val.files))
    xs = celeba.load_images(val.image_dir, val.files[:n], preprocess(cfg.img_size), image_size=cfg.img_size)
    m = step_lib.build(cfg, dist)
    name = functools.partial(checkpoint_name, it_per_epoch=per_epoch)
    keeper = CheckpointKeeper(run.checkpoint_dir, max_to_keep=cfg.max_to_keep, name_fn=name,
                              chief=dist.is_chief,
                              G=m.G, D=m.D, g_opt=m.g_opt, d_opt=m.d_opt, rng=m.rng)
    data = {}

    def batches(seed):
        return iter(celeba.make_dataset(
            part.image_dir, part.files, part.labels, preprocess(cfg.img_size), image_size=cfg.img_size,
            batch_size=global_batch, training=True, repeat=True, seed=seed))

    def resume(start):
        dist.broadcast(m.G.weights + m.D.weights + m.g_opt.variables + m.d_opt.variables)
        data["batches"] = batches(cfg.seed + start)
        if start > 0 or not (cfg.d_att_warmup or cfg.g_rec_warmup):
            return None                           # a resumed run's G and D come warm out of the checkpoint
        warm = batches(cfg.seed + 1_000_003)      # a stream of its own: the GAN's data order is kept
        notes = []
        for steps, run_warmup, what in ((cfg.d_att_warmup, step_lib.d_att_warmup, "D attribute BCE"),
                                        (cfg.g_rec_warmup, step_lib.g_rec_warmup, "G reconstruction L1")):
            if steps:
                t = time.time()
                first, last = run_warmup(m, warm, steps)
                notes.append(f"{what} {first:.3f} -> {last:.3f} in {steps} updates ({time.time() - t:.1f} s)")
        return "warm-up before iteration 1: " + "; ".join(notes)

    def schedule(i):
        lr = step_lib.lr_at(cfg, i // per_epoch)
        m.set_lr(lr)
        return {"epoch": i // per_epoch, "lr": lr}

    def sample(step):
        path = os.path.join(run.run_dir, "sample_training", name(step).replace(".ckpt", ".png"))
        return save_png(path, single_strips(m.G, cfg, xs, val.labels[:n]))

    def at_epoch_ends_and(every):
        return lambda step: step % per_epoch == 0 or bool(every and step % every == 0)

    return training.Loop(
        step=lambda i: step_lib.train_step(m, data["batches"]), checkpointer=keeper,
        total_steps=cfg.epochs * per_epoch, resume=resume, schedule=schedule,
        sample=sample if n else None, sample_every=at_epoch_ends_and(cfg.sample_every) if n else None,
        images_per_step=images_per_iteration, checkpoint_every=at_epoch_ends_and(cfg.save_every),
        progress_every=progress_every)


def train(cfg, run_dir: str, data_dir: str, progress_every: int = 10, strategy: str = "auto",
          **driver) -> dict:
    """Train (or resume) ``cfg`` in ``run_dir``; ``strategy``: auto|one|mirrored|multi_worker
    (common_tools.distribute); ``driver``: common_tools.training.train's keywords (step_hook,
    max_steps, stream, tensorboard). Returns the run summary."""
    from common_tools.distribute import select_strategy

    dist = select_strategy(strategy, stream=None)
    build_loop = functools.partial(build, data_dir=data_dir, progress_every=progress_every, dist=dist)
    return training.train(cfg, run_dir, build_loop, worker=dist.worker(cfg.batch_size), **driver)
