"""Progressive training over the shared driver (common_tools.training): scale growth, fade-in, resume.

    faces = ImageFolder("data/synthfaces", seed=cfg.seed)
    summary = train(cfg, "runs/pgan", faces)          # resumes when runs/pgan has a checkpoint

The run folder (common_tools.training's layout):

    <run_dir>/config.json                       the PGANConfig (eval/export read the depths from it)
    <run_dir>/checkpoints/AvG_<step>.ckpt       the averaged generator, the card's eval/export input
    <run_dir>/checkpoints/G_, D_, opt_G_, opt_D_<step>.ckpt, <step>.manifest.json, checkpoint_state.json
    <run_dir>/train_log.jsonl                   loss/D, loss/D_gp, loss/G, alpha, scale, lr per logged step
    <run_dir>/samples/<step>.png                the averaged G on fixed latents

Everything that depends on where a step falls in the schedule (scale, alpha, batch size, lr, which
images) is a function of the step (``PGANConfig.phase``); what is not (the scale the networks
were built at, the random generator, the loss scales) is in the checkpoint, and the networks are
rebuilt at the saved scale before their weights are loaded. So a run killed anywhere, mid-fade
included, resumes at the same scale, alpha and step, drawing the same numbers. At a new scale
(as pytorch_GAN_zoo and the card do) G and D grow keeping their layers, the averaged G is reset
to G, the optimizers and loss scales start afresh; new layers are drawn from
``default_rng((seed, scale, net))``, so they do not depend on the process that grows them.
A checkpoint is written every ``model_save_step`` iterations and at the end of every scale.

Data parallel (``cluster`` from :func:`pgan.distributed.init`, see pgan/distributed.py): every rank
builds the same networks from the same seed, reads its shard of each global batch, all-reduces
the gradients inside the step; rank 0 writes the checkpoints and the run folder's logs, every rank
restores from there and keeps its own ``workers/worker-<rank>.log`` (common_tools.training.Worker).
"""

from __future__ import annotations

import functools
import os
from typing import Optional

import mindspore as ms
import numpy as np

from common_tools import training
from common_tools.errors import UserError
from common_tools.ms_checkpoint import MSCheckpointKeeper

from . import distributed
from .config import PGANConfig
from .network_G import Generator
from .network_D import Discriminator
from .optimizer import Adam, LossScale
from .step import TrainStep, copy_parameters, require_graph_mode

SAMPLE_COUNT = 16
SAMPLE_SEED = 20_180_430  # fixed latents of the preview grids, apart from the training stream


def _draw_new_parameters(net, known: set, seed: int, scale_index: int, which: int) -> None:
    """Parameters of ``net`` not in ``known`` (ids): weights ~ N(0, 1), biases 0 (equalized lr)."""
    rng = np.random.default_rng((seed, scale_index, which))
    for name, param in net.parameters_and_names():
        if id(param) in known:
            continue
        if name.endswith("bias"):
            value = np.zeros(param.shape, np.float32)
        else:
            value = rng.standard_normal(param.shape, dtype=np.float32)
        param.set_data(ms.Tensor(value))


class Progress:
    """The part of the run that grows: G, D, the averaged G, optimizers, loss scales, the step cells.

    ``state_dict()`` is the number of scales built; ``load_state_dict`` rebuilds everything at that
    scale (the checkpoint then loads the weights into the new cells).
    """

    def __init__(self, cfg: PGANConfig, cluster: Optional[distributed.Cluster] = None):
        self.cfg = cfg
        self.cluster = cluster                            # None: one process
        self.rng = np.random.default_rng(cfg.seed)        # every draw of the training step
        self.scaler_d = LossScale(cfg.loss_scale_value, cfg.scale_factor, cfg.scale_window)
        self.scaler_g = LossScale(cfg.loss_scale_value, cfg.scale_factor, cfg.scale_window)
        self.num_scales = 0
        self.build(1)

    def _networks(self, num_scales):
        cfg = self.cfg
        G = Generator(cfg.depth, cfg.latent_dim, num_scales=num_scales, leaky_slope=cfg.leaky_slope,
                      conv_form=cfg.conv_form)
        D = Discriminator(cfg.depth, num_scales=num_scales, leaky_slope=cfg.leaky_slope,
                          stddev_group=cfg.stddev_group, conv_form=cfg.conv_form)
        return G, D

    def build(self, num_scales: int) -> None:
        """Fresh networks at ``num_scales``: at 1 (the start of a run) drawn from the seed; at more
        (a restore) the checkpoint's weights are loaded into them next."""
        if not 1 <= num_scales <= self.cfg.num_scales:
            raise UserError(f"the checkpoint holds {num_scales} scales but the config has "
                            f"{self.cfg.num_scales} ({list(self.cfg.scales)})")
        self.G, self.D = self._networks(num_scales)
        if num_scales == 1:
            _draw_new_parameters(self.G, set(), self.cfg.seed, 0, 0)
            _draw_new_parameters(self.D, set(), self.cfg.seed, 0, 1)
        self.avg_G = self._networks(num_scales)[0]
        copy_parameters(self.G, self.avg_G)
        self.num_scales = num_scales
        self._fresh_solvers()

    def grow(self) -> None:
        """One more scale: G and D keep their layers, avgG = G, fresh optimizers and loss scales."""
        k = self.num_scales
        known_g = {id(p) for p in self.G.get_parameters()}
        known_d = {id(p) for p in self.D.get_parameters()}
        self.G.add_scale()
        self.D.add_scale()
        _draw_new_parameters(self.G, known_g, self.cfg.seed, k, 0)
        _draw_new_parameters(self.D, known_d, self.cfg.seed, k, 1)
        self.avg_G = self._networks(k + 1)[0]
        copy_parameters(self.G, self.avg_G)
        self.num_scales = k + 1
        for scaler in (self.scaler_d, self.scaler_g):
            scaler.load_state_dict({"scale": 2.0 ** self.cfg.loss_scale_value, "good": 0, "streak": 0})
        self._fresh_solvers()

    def _fresh_solvers(self) -> None:
        cfg = self.cfg
        lr = cfg.lr_for(self.num_scales - 1)
        self.opt_d = Adam(self.D.trainable_params(), lr, cfg.beta1, cfg.beta2)
        self.opt_g = Adam(self.G.trainable_params(), lr, cfg.beta1, cfg.beta2)
        args = (cfg, self.G, self.D, self.avg_G, self.opt_d, self.opt_g, self.scaler_d, self.scaler_g, self.rng)
        if self.cluster is None:
            self.step = TrainStep(*args)
        else:
            self.step = distributed.DataParallelStep(*args, cluster=self.cluster)

    def set_lr(self, lr: float) -> None:
        self.opt_d.set_lr(lr)
        self.opt_g.set_lr(lr)

    def state_dict(self) -> dict:
        return {"num_scales": self.num_scales}

    def load_state_dict(self, state: dict) -> None:
        self.build(int(state["num_scales"]))


def make_keeper(directory, progress: Progress, max_to_keep=5) -> MSCheckpointKeeper:
    """The checkpoint of a run: the scale first (it rebuilds the cells), then the cells and states."""
    return MSCheckpointKeeper(
        directory, max_to_keep=max_to_keep, name_fn=str,
        progress=progress, scaler_D=progress.scaler_d, scaler_G=progress.scaler_g, rng=progress.rng,
        G=lambda: progress.G, D=lambda: progress.D, AvG=lambda: progress.avg_G,
        opt_G=lambda: progress.opt_g.slots, opt_D=lambda: progress.opt_d.slots)


def sample_latents(cfg: PGANConfig, count: int = SAMPLE_COUNT) -> np.ndarray:
    return np.random.default_rng((cfg.seed, SAMPLE_SEED)).standard_normal((count, cfg.latent_dim), dtype=np.float32)


def generate(G, z, alpha=0.0) -> np.ndarray:
    """G(z, alpha) clipped to [-1, 1], NHWC float32 (for grids)."""
    out = G(ms.Tensor(np.asarray(z, np.float32)), ms.Tensor(float(alpha), ms.float32)).asnumpy()
    return np.clip(out, -1.0, 1.0).transpose(0, 2, 3, 1)


def build(cfg: PGANConfig, run: training.Run, data, cluster: Optional[distributed.Cluster] = None) -> training.Loop:
    """The Loop of a PGAN run on ``data`` (an :class:`pgan.dataset.ImageFolder` or anything with
    ``batch(start, count, size)``); with ``cluster``, this rank's part of a data-parallel run."""
    require_graph_mode()
    ms.set_seed(cfg.seed)
    progress = Progress(cfg, cluster)
    keeper = make_keeper(run.checkpoint_dir, progress, cfg.max_to_keep)
    checkpointer = keeper
    ranks = 1
    if cluster is not None:
        data = distributed.ShardedData(data, cluster)
        checkpointer = distributed.ChiefCheckpointer(keeper, cluster)
        ranks = cluster.size
    chief = cluster is None or cluster.is_chief
    ends = set(cfg.scale_ends())
    fixed_z = sample_latents(cfg)

    def step(i: int) -> dict:
        ph = cfg.phase(i)
        while progress.num_scales < ph.scale_index + 1:
            progress.grow()
        progress.set_lr(ph.lr)
        x = data.batch(ph.images_before, ph.batch_size, ph.resolution)
        return progress.step(x, ph.alpha)

    def schedule(i: int) -> dict:
        ph = cfg.phase(i)
        return {"scale": ph.resolution, "alpha": ph.alpha, "lr": ph.lr}

    def sample(done: int):
        from common_tools.grids import save_grid

        ph = cfg.phase(done - 1)
        images = generate(progress.avg_G, fixed_z, ph.alpha)
        if ph.resolution < 64:   # nearest up-sampling so small scales stay visible
            r = 64 // ph.resolution
            images = images.repeat(r, axis=1).repeat(r, axis=2)
        path = os.path.join(run.sample_dir, f"{done}.png")
        save_grid(path, images, nrow=4, value_range=(-1, 1))
        return path

    def resume(start: int) -> None:
        if hasattr(data, "describe"):
            print(f"data: {data.describe()}", flush=True)

    every = cfg.model_save_step
    return training.Loop(
        step=step, checkpointer=checkpointer, total_steps=cfg.total_steps, resume=resume,
        schedule=schedule, sample=sample if cfg.sample_every and chief else None,
        images_per_step=None if cfg.batch_size_list else cfg.batch_size * ranks,
        log_every=lambda done: done % cfg.log_every == 0 or done in ends or done == 1,
        checkpoint_every=lambda done: done % every == 0 or done in ends,
        sample_every=(lambda done: done % cfg.sample_every == 0 or done in ends) if cfg.sample_every and chief else None,
        progress_every=max(1, min(cfg.log_every, 100)))


def train(cfg: PGANConfig, run_dir: str, data, cluster: Optional[distributed.Cluster] = None, **kwargs) -> dict:
    """Train (or resume) ``cfg`` on ``data`` in ``run_dir``; ``kwargs`` go to common_tools.training.train.

    With ``cluster`` (pgan.distributed.init), this rank's part of a data-parallel run in the same
    ``run_dir`` (the driver's ``Worker``: rank 0 writes, the others log to ``workers/``); a
    collective that fails (a dead peer) is one UserError line.
    """
    if cluster is None:
        return training.train(cfg, run_dir, functools.partial(build, data=data), **kwargs)
    batch = None if cfg.batch_size_list else cfg.batch_size
    try:
        return training.train(cfg, run_dir, functools.partial(build, data=data, cluster=cluster),
                              worker=distributed.worker(cluster, batch), **kwargs)
    except RuntimeError as exc:
        if distributed.is_collective_failure(exc):
            raise distributed.collective_failure(exc, cluster) from None
        raise
