"""BigBiGAN training on the shared driver (common_tools.training): networks, step, data, previews.

    <result_path>/config.json         the run's BigBiGANConfig (freezing rebuilds G from it)
    <result_path>/checkpoints/        G, D, E, both Adam states, the z generator, the dropout streams
    <result_path>/train_log.jsonl     loss/D, loss/G, loss/D_x, loss/D_z, loss/D_xz every log_every steps
    <result_path>/samples/<step>.png  G(z, y) for fixed z, one row per class 0..9

    summary = train(cfg, "runs/bigbigan", "runs/data/synthdigits")   # resumes if it has a checkpoint

The driver owns resume, the non-finite stop, Ctrl-C and the logs; :func:`build` is this model's
part. A test hands ``build`` in-memory data instead of a folder.

Data parallel (``strategy``, see common_tools.distribute; ``models/main.py --strategy``):
``cfg.batch_size`` is per replica, every worker's batches are the global batch (the same seed
everywhere) and the step slices them per replica; an epoch is ``len(train) // global batch``
iterations. The chief writes the checkpoints, logs and previews; every worker restores from the
chief's ``checkpoints/``.

    train(cfg, "runs/bigbigan", "runs/data/synthdigits", strategy="multi_worker")  # under common_tools.launch
"""

from __future__ import annotations

import os
from typing import Optional

import numpy as np

from common_tools import training
from common_tools.checkpoint import CheckpointKeeper

from . import data as bdata

SAMPLE_ROWS = 10            # one row per class in the preview grid


def make_step(cfg, compile: bool = True, dist=None):
    """Networks (seeded by cfg.seed) and their :class:`bigbigan.step.TrainStep`.

    ``compile=False`` runs the step eagerly (debugging; tests that only need the state machine);
    ``dist``: a common_tools.distribute.Distribution (networks made in its scope, the z generator
    outside it: one stream on every worker).
    """
    from common_tools.distribute import Distribution

    import keras
    import tensorflow as tf

    from .networks import build_networks
    from .step import TrainStep

    dist = dist or Distribution("one")
    keras.utils.set_random_seed(cfg.seed)        # initial weights and the dropout seed streams
    with dist.scope():
        G, D, E = build_networks(**cfg.network_kwargs())
    return TrainStep(cfg, G, D, E, tf.random.Generator.from_seed(cfg.seed), compile=compile,
                     dist=dist)


def fixed_latents(cfg, per_class: int = SAMPLE_ROWS):
    """(z float32 [10·per_class, latent], y int32): the preview's inputs, the same at every step."""
    from .offline import truncated_normal

    rng = np.random.default_rng(cfg.seed)
    y = np.repeat(np.arange(cfg.num_classes, dtype=np.int32), per_class)
    return truncated_normal(rng, (len(y), cfg.latent_dim)), y


def build(cfg, run: training.Run, data, step=None, dist=None) -> training.Loop:
    """The Loop of one run. ``data`` = (images uint8, labels) of the training split; ``step`` an
    existing TrainStep to train (default: :func:`make_step`); ``dist``: a
    common_tools.distribute.Distribution (default: the step's, else one device)."""
    images, labels = data
    step = step or make_step(cfg, dist=dist)
    dist = step.dist
    global_cfg = cfg.replace(batch_size=dist.global_batch(cfg.batch_size))   # what every worker reads
    bdata.check_enough(images, global_cfg)
    keeper = CheckpointKeeper(run.checkpoint_dir, prefix="model", max_to_keep=cfg.max_to_keep,
                              chief=dist.is_chief, **step.trackables())
    batches = None

    def resume(start: int) -> None:
        nonlocal batches
        step.set_learning_rates()
        dist.broadcast(step.G.weights + step.D.weights + step.E.weights + step.d_opt.variables
                       + step.ge_opt.variables + (step.e_opt.variables if step.e_opt else []))
        batches = iter(bdata.train_batches(images, labels, global_cfg, seed=cfg.seed + start))

    def one_step(i: int) -> dict:
        x, y = next(batches)
        return step(x, y)

    z_fixed, y_fixed = fixed_latents(cfg)

    def sample(done: int) -> Optional[str]:
        from common_tools.grids import save_grid

        x = step.G(z_fixed, y_fixed, training=False).numpy()          # [100, 32, 32, C] in [0, 1]
        path = os.path.join(run.sample_dir, f"{done:06d}.png")
        os.makedirs(run.sample_dir, exist_ok=True)
        save_grid(path, x, nrow=SAMPLE_ROWS, value_range=(0, 1))      # row k: class k
        return path

    return training.Loop(step=one_step, checkpointer=keeper, total_steps=global_cfg.total_steps(len(images)),
                         resume=resume, sample=sample, images_per_step=global_cfg.batch_size,
                         log_every=cfg.log_every, checkpoint_every=cfg.checkpoint_every,
                         sample_every=cfg.sample_every or (lambda done: False))


def train(cfg, run_dir: str, dataset_path=None, data=None, strategy: str = "auto", **kwargs) -> dict:
    """Train (or resume) ``cfg`` in ``run_dir`` on the training split of ``dataset_path`` (or on
    ``data`` = (images, labels)); ``strategy``: auto|one|mirrored|multi_worker
    (common_tools.distribute); returns the driver's run summary. ``kwargs`` go to
    :func:`common_tools.training.train` (max_steps, step_hook, stream, tensorboard)."""
    from common_tools.distribute import select_strategy

    if data is None:
        data = bdata.load(cfg, dataset_path, "train")
    bdata.check_enough(data[0], cfg, path=str(dataset_path or "the training data"))
    dist = select_strategy(strategy, stream=None)
    return training.train(cfg, run_dir, lambda c, run: build(c, run, data, dist=dist),
                          worker=dist.worker(cfg.batch_size), **kwargs)
