"""The StarGAN training loop: data, resume, the step, logs, sample grids and checkpoints.

    <output_dir>/config.json                 the run's StarGANConfig (test/freeze rebuild from it)
    <output_dir>/checkpoint/model-<step>.*   weights + Adam state + RNG, the last max_to_keep kept
    <output_dir>/train_log.jsonl             one record per summary_steps (common_tools.logging)
    <output_dir>/summaries/                  TensorBoard scalars and sample grids
    <output_dir>/samples/<step>-images.png   fixed test inputs and their translations

Run it again with the same output_dir and it resumes from the latest checkpoint.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time

import numpy as np
from PIL import Image

from common_tools import checkpoint, runs
from common_tools.errors import UserError
from common_tools.logging import StepLogger

from . import data, test
from .config import StarGANConfig
from .networks import build_discriminator, build_generator
from .step import TrainStep

# changing these would make the saved weights unusable: a resumed run must keep them
ARCHITECTURE = ("image_size", "c_dim", "selected_attrs", "g_conv_dim", "d_conv_dim",
                "g_repeat_num", "d_repeat_num")


def reconcile_config(cfg: StarGANConfig, output_dir: str) -> StarGANConfig:
    """On resume the network settings must equal the saved ones (else one clear error); the
    others (iterations, steps, lr schedule) may change between runs."""
    path = os.path.join(output_dir, runs.CONFIG_NAME)
    if not os.path.isfile(path) or checkpoint.latest_checkpoint(os.path.join(output_dir, "checkpoint")) is None:
        return cfg
    saved = runs.load_config(StarGANConfig, output_dir)
    for name in ARCHITECTURE:
        if getattr(saved, name) != getattr(cfg, name):
            raise UserError(f"{output_dir} holds a run with {name}={getattr(saved, name)!r} but "
                            f"{getattr(cfg, name)!r} was asked for; use a new --output_dir or the "
                            "same settings to resume")
    return cfg


def check_finite(scalars: dict, iteration: int, keeper) -> None:
    bad = {k: v for k, v in scalars.items() if not math.isfinite(v)}
    if bad:
        last = keeper.latest or "none saved yet"
        raise UserError(f"non-finite loss at iteration {iteration}: "
                        + ", ".join(f"{k}={v}" for k, v in bad.items())
                        + f"; training stopped, the last good checkpoint is {last}")


def train(cfg: StarGANConfig, image_root: str, metadata_path: str, output_dir: str,
          stream=sys.stderr, max_iterations: int | None = None) -> dict:
    """Train (or resume) into ``output_dir``; returns a summary dict. ``max_iterations`` stops
    early after that many iterations of this call (benchmarks)."""
    cfg = reconcile_config(cfg, output_dir)
    train_split, test_split = data.load_splits(cfg, image_root, metadata_path)
    os.makedirs(output_dir, exist_ok=True)
    runs.save_config(cfg, output_dir)
    runs.print_config(cfg, stream)

    G, D = build_generator(cfg), build_discriminator(cfg)
    step = TrainStep(cfg, G, D)
    keeper = checkpoint.CheckpointKeeper(os.path.join(output_dir, "checkpoint"), prefix="model",
                                         max_to_keep=cfg.max_to_keep, **step.variables())
    start = keeper.restore() or 0
    if start:
        print(f"resuming from {keeper.latest} (iteration {start})", file=stream, flush=True)
    if start >= cfg.training_iterations:
        print(f"already trained {start} of {cfg.training_iterations} iterations", file=stream)
        return {"start": start, "end": start, "checkpoint": keeper.latest}

    # fixed inputs for the sample grids: the first test images
    n_fixed = min(len(test_split), 8)
    fixed_x, fixed_c = next(iter(data.dataset(cfg, image_root, test_split, training=False,
                                              batch_size=max(n_fixed, 1), repeat=False)))
    train_ds = data.dataset(cfg, image_root, train_split, training=True, seed=cfg.seed + start)
    skipped = train_ds.image_check.skipped
    if skipped:
        print(f"skipped {len(skipped)} unreadable training image(s): {', '.join(skipped[:10])}"
              + (" ..." if len(skipped) > 10 else ""), file=stream, flush=True)
    batches = iter(train_ds)
    sample_dir = os.path.join(output_dir, "samples")
    os.makedirs(sample_dir, exist_ok=True)

    end = cfg.training_iterations if max_iterations is None else min(
        cfg.training_iterations, start + max_iterations)
    logger = StepLogger(output_dir, total_steps=cfg.training_iterations, start_step=start,
                        every=1, stream=stream)
    t0, scalars = time.time(), {}
    try:
        for i in range(start, end):
            if i == start or i % cfg.lr_update_step == 0:
                step.set_learning_rates(i)
            x_real, c_org = next(batches)
            scalars = step(x_real, c_org, i)
            check_finite(scalars, i + 1, keeper)
            done = i + 1
            if done % cfg.summary_steps == 0 or done == end:
                logger.log(done, images=cfg.batch_size, lr_g=float(step.g_opt.learning_rate),
                           lr_d=float(step.d_opt.learning_rate), **scalars)
            if done % cfg.save_steps == 0 or done == end:
                rows = test.translate(G, fixed_x.numpy(), fixed_c.numpy(), cfg.selected_attrs)
                path = test.save_translation_grid(os.path.join(sample_dir, f"{done}-images.png"), rows)
                logger.image(done, "samples", np.asarray(Image.open(path)))
            if done % cfg.checkpoint_steps == 0 or done == end:
                keeper.save(done)
    finally:
        logger.close()
    seconds = time.time() - t0
    return {"start": start, "end": end, "seconds": seconds, "checkpoint": keeper.latest,
            "skipped_images": list(skipped),
            "last": scalars, "config": dataclasses.asdict(cfg)}
