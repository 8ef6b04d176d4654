"""Data-parallel PGAN on MindSpore's own engine: msrun (dynamic cluster) on CPU/GPU, a rank table on Ascend.

    cluster = distributed.init()          # None in a plain single process; never returns in msrun's scheduler
    summary = pgan.train.train(cfg, run_dir, faces, cluster=cluster)

How a process knows it is one of several: msrun (and a hand-made dynamic cluster) sets ``MS_ROLE``;
the Ascend launcher ``scripts/run_distributed_train.sh`` sets ``RANK_TABLE_FILE`` with
``RANK_SIZE > 1``. :func:`init` then calls ``set_auto_parallel_context(parallel_mode=DATA_PARALLEL,
gradients_mean=True)`` and ``mindspore.communication.init()`` (HCCL on Ascend, NCCL on GPU,
MindSpore's own collective library ``mccl`` on CPU).

What every rank does, and why the result is one process training the global batch:

- Batch: ``batch_size`` (and ``batch_size_list``) is per device, MindSpore's convention; a step of
  N ranks trains N x batch images with the schedule (iterations per scale, fade) unchanged.
- Data (:class:`ShardedData`): the image stream is cut into blocks of one rank's batch; rank r of N
  reads block ``i * N + r`` at step i, which is exactly what ``mindspore.dataset``'s
  ``num_shards=N, shard_id=r`` gives over those blocks (a test checks it against
  ``DistributedSampler``). So the N shards of a step are the consecutive slices of the batch one
  process would read with N x batch, and a resumed run reads what an uninterrupted one would.
- Random draws (:class:`DataParallelStep`): every rank keeps the same generator; a step draws the
  latents and the penalty's mixing coefficients e for the global batch and takes its slice. The
  generator stays the same on every rank, so rank 0's checkpoint holds everyone's state.
- Gradients (:class:`AllReduced`): ``nn.DistributedGradReducer`` all-reduces the gradients inside
  the compiled step, before the overflow check and Adam, so all ranks take the same finite/skip
  decision and the same update. ``gradients_mean=True`` averages the ranks' gradients; PGAN's
  losses are sums over the batch (the paper's), so the mean is multiplied by N: the update is the
  gradient of the global batch's loss, what one process with N x batch computes (Adam barely cares
  about a constant factor, but the reported gradient norm and the eps of Adam do). The loss values
  are summed over the ranks too, so every rank logs the global batch's losses.
- The minibatch standard deviation is taken per group of ``stddev_group`` consecutive images
  inside a replica, as on one device. It equals the single-process value when the per-device batch
  is a multiple of the group size (groups never straddle two ranks); otherwise each replica forms
  its own groups (as every data-parallel PGAN does).
- Checkpoints (:class:`ChiefCheckpointer`): rank 0 writes them; every rank restores from the same
  folder (shared storage on several hosts) and the ranks check that they restored the same step.
- Logs: each rank's output is its own file (msrun: ``<log_dir>/worker_<rank>.log``; the Ascend
  launcher: ``LOG<RANK_ID>/log_distribute``, as the card has it). The driver gets a
  ``common_tools.training.Worker`` (:func:`worker`): rank 0 writes the run folder's config.json,
  ``train_log.jsonl``, TensorBoard, samples and run_summary.json, every rank its
  ``workers/worker-<rank>.log`` and ``.jsonl``; a Ctrl-C / SIGTERM is voted on after every step
  (:func:`any_rank`), so all ranks stop after the same step and rank 0 saves it.
- A rank that dies: msrun (``--join True``, what the launcher uses) kills the others at once; a
  rank blocked in a collective whose peer is gone fails after ``MS_CPU_COMM_OP_TIMEOUT`` (CPU) or
  ``HCCL_EXEC_TIMEOUT`` (Ascend) seconds, and :func:`collective_failure` turns that into one line.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Mapping, Optional

import mindspore as ms
from mindspore import nn, ops

from common_tools.errors import UserError

from .step import TrainStep

# seconds a CPU collective waits for a peer before failing (MindSpore's mccl), unless the launcher set it
DEFAULT_CPU_COMM_TIMEOUT = 300


def launch_kind(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """"msrun" (a dynamic cluster: ``MS_ROLE`` set), "rank_table" (``RANK_TABLE_FILE`` and
    ``RANK_SIZE`` > 1) or None (a single process)."""
    env = os.environ if environ is None else environ
    if env.get("MS_ROLE"):
        return "msrun"
    try:
        size = int(env.get("RANK_SIZE", "1") or 1)
    except ValueError:
        raise UserError(f"RANK_SIZE={env.get('RANK_SIZE')!r} is not a number: expected the count of "
                        "devices in the rank table") from None
    if env.get("RANK_TABLE_FILE") and size > 1:
        return "rank_table"
    return None


@dataclass(frozen=True)
class Cluster:
    """This process's place in a data-parallel job."""
    rank: int            # 0 .. size - 1; rank 0 writes checkpoints, samples and the run folder's logs
    size: int            # number of ranks (devices)
    launcher: str        # "msrun" or "rank_table"

    @property
    def is_chief(self) -> bool:
        return self.rank == 0


def init(environ: Optional[Mapping[str, str]] = None, stream=None) -> Optional[Cluster]:
    """Join the job this process was started in (see :func:`launch_kind`); None when it was not.

    Call it after ``common_tools.device.setup_mindspore`` and before any heavy work: in msrun's
    scheduler process (``MS_ROLE=MS_SCHED``) ``mindspore.communication.init()`` serves the cluster
    and ends the process when the job ends.
    """
    kind = launch_kind(environ)
    if kind is None:
        return None
    from mindspore.communication import get_group_size, get_rank
    from mindspore.communication import init as init_collective

    env = os.environ if environ is None else environ
    scheduler = env.get("MS_ROLE") == "MS_SCHED"
    os.environ.setdefault("MS_CPU_COMM_OP_TIMEOUT", str(DEFAULT_CPU_COMM_TIMEOUT))
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True)
    if scheduler:  # the launcher stops it once msrun has seen a worker die (see run_distributed_msrun.sh)
        print(f"distributed: msrun scheduler, pid {os.getpid()}", file=stream or sys.stderr, flush=True)
    try:
        init_collective()
    except RuntimeError as exc:
        what = "the msrun scheduler saw the cluster fail" if scheduler else f"distributed start-up failed ({kind})"
        raise UserError(f"{what}: {_first_line(exc)}") from None
    cluster = Cluster(int(get_rank()), int(get_group_size()), kind)
    print(f"distributed: rank {cluster.rank} of {cluster.size} ({kind}, "
          f"{ms.get_context('device_target')}), pid {os.getpid()}", file=stream or sys.stderr, flush=True)
    return cluster


def _sum_over_ranks(values):
    """float32 ``values`` summed over the ranks (AllReduce SUM: the only reduction MindSpore's
    CPU collectives support)."""
    import numpy as np

    return ops.AllReduce(ops.ReduceOp.SUM)(ms.Tensor(np.asarray(values, np.float32))).asnumpy()


def any_rank(flag: bool) -> bool:
    """True on every rank when any rank passes True (the driver's stop vote); also a barrier."""
    return float(_sum_over_ranks([1.0 if flag else 0.0])[0]) > 0


def worker(cluster: Cluster, per_device_batch: Optional[int] = None):
    """The training driver's view of this rank (``common_tools.training.Worker``)."""
    from common_tools import training

    batch = (f"; global batch {per_device_batch} x {cluster.size} = {per_device_batch * cluster.size}"
             if per_device_batch else "; batch per device x ranks per step")
    return training.Worker(index=cluster.rank, count=cluster.size, replicas=cluster.size,
                           is_chief=cluster.is_chief, agree=any_rank,
                           note=f"data parallel ({cluster.launcher}): rank {cluster.rank} of {cluster.size}{batch}")


# ---- data ------------------------------------------------------------------------------------------

class ShardedData:
    """Rank r's slice of every global batch of a position-addressed image stream (``batch(start,
    count, size)`` as :class:`pgan.dataset.ImageFolder`): ``start`` and ``count`` are in per-rank
    units (the schedule's), the stream is read at ``start * N + r * count``; consecutive batches of a
    rank are ``N * count`` apart in the stream (``stride``, so the rank's pipeline reads on)."""

    def __init__(self, data, cluster: Cluster):
        self.data = data
        self.rank, self.size = cluster.rank, cluster.size

    def position(self, start: int, count: int) -> int:
        return start * self.size + self.rank * count

    def batch(self, start: int, count: int, size: int):
        return self.data.batch(self.position(start, count), count, size, stride=count * self.size)

    def describe(self) -> str:
        inner = self.data.describe() if hasattr(self.data, "describe") else type(self.data).__name__
        return f"{inner}; shard {self.rank} of {self.size}"

    def __getattr__(self, name):
        return getattr(self.__dict__["data"], name)


# ---- the step ------------------------------------------------------------------------------------

class AllReduced(nn.Cell):
    """A ``*Gradients`` cell of pgan/step.py (``(...) -> (values..., grads)``) whose values and
    gradients are summed over the ranks, inside the same compiled graph:

        grads <- N * DistributedGradReducer(grads)     (the reducer averages: gradients_mean=True)
        value <- AllReduce(SUM)(value)                  for each loss value
    """

    def __init__(self, gradients, params, size: int):
        super().__init__()
        from mindspore.communication import GlobalComm

        self.gradients = gradients
        mean = bool(ms.get_auto_parallel_context("gradients_mean"))
        self.reducer = nn.DistributedGradReducer(params, mean=mean, degree=int(size),
                                                 group=GlobalComm.WORLD_COMM_GROUP)
        self.factor = float(size) if mean else 1.0    # mean of per-rank sums * N = the global sum
        self.sum = ops.AllReduce(ops.ReduceOp.SUM, GlobalComm.WORLD_COMM_GROUP)

    def construct(self, *inputs):
        out = self.gradients(*inputs)
        grads = self.reducer(tuple(out[-1]))
        grads = [g * self.factor for g in grads]
        values = ()
        for v in out[:-1]:
            values = values + (self.sum(v),)
        return values + (grads,)


class DataParallelStep(TrainStep):
    """:class:`pgan.step.TrainStep` for one rank of ``cluster``: its slice of the global draws, the
    gradients and losses summed over the ranks (:class:`AllReduced`)."""

    def __init__(self, cfg, G, D, avg_G, opt_d, opt_g, scaler_d, scaler_g, rng, cluster: Cluster):
        super().__init__(cfg, G, D, avg_G, opt_d, opt_g, scaler_d, scaler_g, rng)
        self.cluster = cluster
        self.critic.losses.gradients = AllReduced(self.critic.losses.gradients, D.trainable_params(),
                                                  cluster.size)
        self.generator.gradients = AllReduced(self.generator.gradients, G.trainable_params(), cluster.size)

    def draws(self, n: int):
        """Rank r's rows r*n .. (r+1)*n - 1 of the draws of the global batch (N * n)."""
        z_d, e, z_g = super().draws(n * self.cluster.size)
        rows = slice(self.cluster.rank * n, (self.cluster.rank + 1) * n)
        return z_d[rows], e[rows], z_g[rows]


# ---- checkpoints ---------------------------------------------------------------------------------

def gather(value: int, cluster: "Cluster") -> list:
    """Every rank's integer ``value`` (exact below 2 ** 24), in rank order: each rank puts its
    value at its own position of a zero vector and the vectors are summed over the ranks."""
    import numpy as np

    own = np.zeros(cluster.size, np.float32)
    own[cluster.rank] = value
    return [int(round(float(v))) for v in _sum_over_ranks(own)]


def agree(value: int, what: str, cluster: "Cluster") -> int:
    """All ranks hold the same integer ``value``, else one UserError (on every rank)."""
    values = gather(value, cluster)
    if len(set(values)) > 1:
        raise UserError(f"the ranks disagree on the {what} (rank by rank: {values}); every rank must "
                        "see the same run folder (shared storage), where rank 0 writes the checkpoints")
    return value


class ChiefCheckpointer:
    """The driver's checkpointer for one rank: rank 0 saves through ``keeper``, the others only
    restore (the same files), and every rank checks that all restored the same step."""

    def __init__(self, keeper, cluster: Cluster):
        self.keeper = keeper
        self.cluster = cluster

    def save(self, step: int) -> Optional[str]:
        """Rank 0 writes; then every rank waits for it (one AllReduce), so no rank leaves a stop
        (or the end of the run) while rank 0 is still writing, and a launcher that stops the
        group when one rank exits never cuts a save short."""
        path = self.keeper.save(step) if self.cluster.is_chief else None
        any_rank(False)
        return path or self.keeper.latest

    def restore(self) -> Optional[int]:
        step = self.keeper.restore()
        agree(int(step or 0), "checkpoint step to resume from", self.cluster)
        return step

    @property
    def latest(self) -> Optional[str]:
        return self.keeper.latest


# ---- faults ----------------------------------------------------------------------------------------

COLLECTIVE_MARKS = ("AllReduce", "AllGather", "Broadcast", "ReduceScatter", "HCCL", "hccl", "NCCL",
                    "nccl", "collective", "Collective", "comm_lib", "timed out")


def _first_line(exc) -> str:
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()[:200]
    return type(exc).__name__


def is_collective_failure(exc: BaseException) -> bool:
    """A RuntimeError MindSpore raises when a collective cannot complete (a peer died or hangs)."""
    return isinstance(exc, RuntimeError) and any(m in str(exc) for m in COLLECTIVE_MARKS)


def collective_failure(exc: BaseException, cluster: Cluster) -> UserError:
    """One line for a rank whose collective failed: what, which rank, what to look at."""
    return UserError(f"rank {cluster.rank} of {cluster.size}: a collective operation failed "
                     f"({_first_line(exc)}); a peer may have died or stopped answering; this rank stops "
                     "too (nothing saved since the last checkpoint; rerun the launcher to resume)")
