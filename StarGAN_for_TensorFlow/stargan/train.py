"""StarGAN's part of a training run; the loop, resume, logs and stop policies are the shared
driver's (common_tools.training).

    <output_dir>/config.json                  the run's StarGANConfig (test/freeze rebuild from it)
    <output_dir>/checkpoints/model-<step>.*   G, D, both Adams and the step's tf.random.Generator
    <output_dir>/train_log.jsonl, summaries/  loss/D, loss/D_gp, ..., loss/G, lr_g, lr_d
    <output_dir>/samples/<step>-images.png    the first test images, then their translations

    summary = train(StarGANConfig.tiny(), "runs/x", image_root, metadata_path)   # resumes runs/x
    train(cfg, "runs/x", image_root, metadata_path, strategy="multi_worker")     # under launch

Data parallel (``strategy``: see common_tools.distribute): ``cfg.batch_size`` is per replica; every
worker's pipeline yields the global batch (same seed on every worker) and the step gives each
replica its slice. The chief writes checkpoints, logs and samples; every worker restores from the
chief's ``checkpoints/`` (the run folder must be shared by the workers).
"""

from __future__ import annotations

import functools
import os

from common_tools import training
from common_tools.checkpoint import CheckpointKeeper

from . import data, test
from .networks import build_discriminator, build_generator
from .step import TrainStep


def build(cfg, run: training.Run, image_root: str, metadata_path: str, dist=None) -> training.Loop:
    """One run's networks, Adams and step generator (all checkpointed), data, lr schedule, grids;
    ``dist``: a common_tools.distribute.Distribution (default: one device)."""
    from common_tools.distribute import Distribution

    dist = dist or Distribution("one")
    train_split, test_split = data.load_splits(cfg, image_root, metadata_path)
    import keras

    keras.utils.set_random_seed(cfg.seed)  # initial weights: the same in every process of a group
    with dist.scope():
        G, D = build_generator(cfg), build_discriminator(cfg)
    step = TrainStep(cfg, G, D, dist=dist)
    keeper = CheckpointKeeper(run.checkpoint_dir, prefix="model", max_to_keep=cfg.max_to_keep,
                              chief=dist.is_chief, **step.variables())
    global_batch = dist.global_batch(cfg.batch_size)
    state = {}

    def resume(start):                     # the data order continues, seeded by the start step
        dist.broadcast(G.weights + D.weights + step.g_opt.variables + step.d_opt.variables)
        state["batches"] = iter(data.dataset(cfg, image_root, train_split, training=True,
                                             batch_size=global_batch, seed=cfg.seed + start))

    def schedule(i):
        step.set_learning_rates(i)
        return {"lr_g": float(step.g_opt.learning_rate.numpy()),    # .numpy(): also when mirrored
                "lr_d": float(step.d_opt.learning_rate.numpy())}

    def sample(done):
        if not len(test_split):
            return None
        if "fixed" not in state:           # the first (up to 8) test images, for every grid
            state["fixed"] = next(iter(data.dataset(cfg, image_root, test_split, training=False,
                                                    batch_size=min(len(test_split), 8), repeat=False)))
        rows = test.translate(step.G, *(t.numpy() for t in state["fixed"]), cfg.selected_attrs)
        return test.save_translation_grid(os.path.join(run.sample_dir, f"{done}-images.png"), rows)

    return training.Loop(step=lambda i: step(*next(state["batches"]), i), checkpointer=keeper,
                         total_steps=cfg.training_iterations, resume=resume, schedule=schedule,
                         sample=sample, images_per_step=global_batch, log_every=cfg.summary_steps,
                         checkpoint_every=cfg.checkpoint_steps, sample_every=cfg.save_steps)


def train(cfg, run_dir: str, image_root: str, metadata_path: str, strategy: str = "auto",
          **driver) -> dict:
    """Train or resume ``cfg`` in ``run_dir``; ``strategy``: auto|one|mirrored|multi_worker
    (common_tools.distribute); ``driver``: step_hook, max_steps, stream, tensorboard."""
    from common_tools.distribute import select_strategy

    dist = select_strategy(strategy, stream=None)
    return training.train(cfg, run_dir, functools.partial(
        build, image_root=image_root, metadata_path=metadata_path, dist=dist),
        worker=dist.worker(cfg.batch_size), **driver)
