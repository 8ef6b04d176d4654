"""StackGAN's part of a training run (either stage); the loop, resume, logs and the stop policies
are the shared driver's (``common_tools.training``).

    <run_dir>/config.json                       the run's StackGANConfig (inference rebuilds from it)
    <run_dir>/checkpoints/model_<step>.ckpt.*   G and D of the stage, both Adams, the random generator
                                                (Stage-II: the frozen Stage-I G too)
    <run_dir>/train_log.jsonl, summaries/       loss/D, loss/D_real, loss/D_wrong, loss/D_fake,
                                                loss/G, loss/G_fake, loss/KL, lr_g, lr_d, epoch
    <run_dir>/samples/<step>-images.png         previews for fixed test captions and noise

A Stage-II run loads its frozen Stage-I G from ``cfg.pretrained_model`` (TRAIN.PRETRAINED_MODEL)
when it starts; once it has checkpoints of its own it resumes from them (they hold that G).

    summary = train(StackGANConfig.tiny(), "runs/stage1", data_dir="Data/birds")
    summary = train(StackGANConfig.tiny().for_stage(2).replace(pretrained_model="runs/stage1"),
                    "runs/stage2", data_dir="Data/birds")
    train(cfg, "runs/stage1", data_dir, strategy="multi_worker")   # a worker under common_tools.launch

Data parallel (``strategy``, see common_tools.distribute): ``cfg.batch_size`` is per replica, every
worker's batches are the global batch (the same seed everywhere) and the step slices them per
replica; an epoch is ``len(train) // global batch`` iterations. The chief writes the checkpoints,
logs and previews; every worker restores from the chief's ``checkpoints/`` (and a fresh Stage-II
group each loads the same Stage-I G from ``cfg.pretrained_model``).
"""

from __future__ import annotations

import functools
import os
from typing import Optional

from common_tools import training
from common_tools.checkpoint import CheckpointKeeper, latest_checkpoint, restore_for_inference

from . import data, infer, paths
from .networks import stage_networks
from .step import TrainStep

PREVIEW_CAPTIONS = 4       # test captions in each preview grid


def total_steps(cfg, n_train: int, replicas: int = 1) -> int:
    """cfg.max_iterations, else the iterations from the stage's first epoch to max_epoch."""
    per_epoch = data.updates_per_epoch(n_train, cfg.batch_size * replicas)
    return cfg.max_iterations or (cfg.max_epoch - cfg.start_epoch) * per_epoch


def build(cfg, run: training.Run, data_dir: Optional[str] = None,
          splits: Optional[dict] = None, dist=None) -> training.Loop:
    """The stage's networks, their Adams and the step's random generator (all checkpointed), the
    data batches (``splits`` as :func:`data.load_splits` returns, else read from ``data_dir``), the
    reference's lr halvings per epoch and the preview grids of one run; ``dist``: a
    common_tools.distribute.Distribution (default: one device)."""
    from common_tools.distribute import Distribution

    dist = dist or Distribution("one")
    global_batch = dist.global_batch(cfg.batch_size)
    splits = splits or data.load_splits(cfg, data_dir)
    train_split, test_split = splits["train"], splits.get("test")
    stage1 = None                                     # a fresh Stage-II run: Stage-I G from its run
    if cfg.stage == 2 and latest_checkpoint(run.checkpoint_dir) is None:
        stage1 = paths.stage1_checkpoint(cfg)         # checked before anything is built
    with dist.scope():                                # mirrored weights
        nets = stage_networks(cfg)
        if stage1 is not None:
            restore_for_inference(stage1, G1=nets["G1"])
    if cfg.stage == 1:
        step = TrainStep(cfg, nets["G1"], nets["D1"], dist=dist)
    else:
        step = TrainStep(cfg, nets["G2"], nets["D2"], G1=nets["G1"], dist=dist)
    keeper = CheckpointKeeper(run.checkpoint_dir, max_to_keep=cfg.max_to_keep,
                              name_fn=paths.checkpoint_name, chief=dist.is_chief, **step.variables())
    per_epoch = data.updates_per_epoch(len(train_split), global_batch)
    preview_split = test_split if test_split is not None and len(test_split) else train_split
    preview_embeddings = preview_split.embeddings[:PREVIEW_CAPTIONS, 0]     # first caption each
    state = {}

    def resume(start):                     # the data order continues, seeded by the start step
        dist.broadcast([v for net in nets.values() for v in net.weights]
                       + step.g_opt.variables + step.d_opt.variables)
        state["batches"] = data.Batches(train_split, cfg.replace(batch_size=global_batch),
                                        seed=cfg.seed + start)

    def schedule(i):
        epoch = cfg.start_epoch + i // per_epoch
        return {**step.set_learning_rates(epoch), "epoch": epoch}

    def sample(done):
        gens = {k: v for k, v in nets.items() if k.startswith("G")}
        return infer.preview(cfg, gens, preview_embeddings,
                             os.path.join(run.sample_dir, f"{done}-images.png"))

    return training.Loop(step=lambda i: step(*next(state["batches"])), checkpointer=keeper,
                         total_steps=total_steps(cfg, len(train_split), dist.replicas),
                         resume=resume, schedule=schedule, sample=sample,
                         images_per_step=global_batch,
                         log_every=cfg.log_steps, checkpoint_every=cfg.snapshot_interval,
                         sample_every=cfg.sample_steps or per_epoch)


def train(cfg, run_dir: str, data_dir: Optional[str] = None, splits: Optional[dict] = None,
          strategy: str = "auto", **driver) -> dict:
    """Train (or resume) ``cfg`` in ``run_dir``; ``strategy``: auto|one|mirrored|multi_worker
    (common_tools.distribute); ``driver``: step_hook, max_steps, stream, tensorboard
    (common_tools.training.train). Returns the run summary."""
    from common_tools.distribute import select_strategy

    dist = select_strategy(strategy, stream=None)
    return training.train(cfg, run_dir, functools.partial(build, data_dir=data_dir, splits=splits,
                                                          dist=dist),
                          worker=dist.worker(cfg.batch_size), **driver)
