"""Data-parallel training: the strategy, the batch split, the loss average, the gradient all-reduce.

TensorFlow-only by nature (tf.distribute and the Ascend TF2 adapter's HCCL path): only TensorFlow
projects import this module; the driver (``common_tools.training``) stays framework-neutral and
gets from here only a :class:`common_tools.training.Worker` (its place in the group, a stop vote).

    dist = select_strategy("auto")                 # --strategy auto|one|mirrored|multi_worker
    with dist.scope():                             # variables made here are mirrored
        G, D = build_networks(cfg); opt = Adam(...); opt.build(D.trainable_variables)
    rng = tf.random.Generator.from_seed(cfg.seed)  # NOT in the scope: one stream, the same on all
    batches = dataset(batch_size=dist.global_batch(cfg.batch_size), seed=cfg.seed + start)

    def replica(x, c, alpha):                      # runs once per replica
        x, c, alpha = dist.local(x, c, alpha)      # this replica's slice of the global batch
        with tf.GradientTape() as tape:
            loss = loss_fn(D(x), ...)              # a mean over the replica's examples
            scaled = dist.average(loss)            # = mean over the GLOBAL batch, summed over replicas
        dist.apply(opt, tape.gradient(scaled, D.trainable_variables), D.trainable_variables)
        return {"loss/D": scaled}

    @tf.function
    def step(x, c):                                # x, c: the global batch (every worker has it)
        alpha = rng.uniform([tf.shape(x)[0], 1, 1, 1])   # drawn for the global batch, then sliced
        return dist.sum(dist.run(replica, x, c, alpha))  # the global-batch mean on every worker

    training.train(cfg, run_dir, build, worker=dist.worker(cfg.batch_size))

What each choice means:
- ``one``: TensorFlow's default strategy: this process, one device (the code path of a plain run).
- ``mirrored``: ``tf.distribute.MirroredStrategy`` over the GPUs of this host (one replica each).
- ``multi_worker``: ``tf.distribute.MultiWorkerMirroredStrategy`` over the workers of ``TF_CONFIG``
  (written by ``python -m common_tools.launch``); gRPC collectives on CPU, NCCL on GPUs; TF's
  coordination service waits :data:`HEARTBEAT_TIMEOUT_S` for a worker's heartbeat (TF: 10 s).
- ``npu`` (chosen by ``auto`` on Ascend when a rank table is given): one process per NPU, the
  adapter's HCCL path: ``npu_device.open()`` reads ``RANK_TABLE_FILE``/``RANK_SIZE``/``RANK_ID``/
  ``DEVICE_ID``; gradients are summed with ``npu_device.distribute.all_reduce`` and the initial
  variables broadcast from rank 0 with ``npu_device.distribute.broadcast``. UNTESTED ON HARDWARE:
  built from the adapter's API and tested here with a stand-in module.
- ``auto``: ``npu`` when the NPU opened and ``RANK_SIZE`` > 1, else ``multi_worker`` when
  ``TF_CONFIG`` names more than one worker, else ``mirrored`` when more than one GPU is visible,
  else ``one``.

The rules every model follows on it (and the models' docstrings repeat):
- ``cfg.batch_size`` is the per-replica batch; the global batch is ``batch_size x replicas``, said
  at start. Every worker builds the same global batch (the same data pipeline, the same seed) and
  each replica keeps its slice (:meth:`Distribution.local`): TF's ``AutoShardPolicy.DATA``
  sharding. Each worker therefore decodes the whole global batch; the work it saves is the
  networks' (forward, backward), which is what dominates these GANs.
- Losses are averaged over the global batch: each replica's mean loss times ``1/replicas``
  (:meth:`Distribution.average`, equal to ``tf.nn.compute_average_loss`` of the per-example losses
  with ``global_batch_size`` when the replicas hold equal slices, which they do); the gradients are
  then summed across replicas (Keras's optimizers do it under tf.distribute, ``apply`` on NPU).
- Per-sample terms such as the WGAN-GP gradient penalty are computed on each replica's own samples.
- Batch norm: layers are switched to synchronized statistics (:func:`sync_batch_norm`: mean and
  variance over the global batch), so N replicas compute what one device computes on the global
  batch, and the moving averages stay identical on every replica.
- Random draws come from one ``tf.random.Generator`` held OUTSIDE the strategy scope, seeded the
  same on every worker and kept in the checkpoint: each draw is made for the global batch and every
  replica uses its own slice, so the replicas' draws differ (each sample gets its own label shuffle
  and GP mixing) and N replicas draw exactly what one device would: reproducible and resumable.
- Only the chief writes checkpoints, logs, TensorBoard and samples; the others save into throw-away
  folders (``CheckpointKeeper(chief=False)``) and log to ``<run_dir>/workers/worker-<i>.log``. Every
  worker restores from the chief's ``checkpoints/``: the run folder must be on a file system all
  workers see (the same host, or a shared mount).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from dataclasses import dataclass, field
from typing import IO, Optional

from .errors import UserError

STRATEGIES = ("auto", "one", "mirrored", "multi_worker")
RANK_ENV = ("RANK_TABLE_FILE", "RANK_SIZE", "RANK_ID", "DEVICE_ID")


def add_strategy_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--strategy auto|one|mirrored|multi_worker`` to ``parser``."""
    parser.add_argument("--strategy", choices=STRATEGIES, default="auto",
                        help="data parallelism: auto = the NPU's HCCL path with a rank table, "
                             "multi_worker with TF_CONFIG, mirrored with >1 GPU, else one device")
    return parser


# the environment (no TensorFlow needed)

def tf_config(env=None) -> Optional[dict]:
    """``TF_CONFIG`` parsed and checked (``{"cluster": {"worker": [...]}, "task": {...}}``), or
    None when it is not set."""
    env = os.environ if env is None else env
    text = env.get("TF_CONFIG", "").strip()
    if not text:
        return None
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"TF_CONFIG is not JSON ({exc}): expected "
                        '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": i}}')
    cluster, task = (cfg.get("cluster") or {}), (cfg.get("task") or {})
    workers = list(cluster.get("chief", [])) + list(cluster.get("worker", []))
    if not workers or task.get("type") not in cluster or not isinstance(task.get("index"), int) \
            or not 0 <= task["index"] < len(cluster[task["type"]]):
        raise UserError(f"TF_CONFIG {text!r} names no valid task: expected a cluster with 'worker' "
                        "addresses and a task {'type': 'worker', 'index': i} inside it")
    return cfg


def cluster_position(cfg: dict) -> tuple[int, int, bool]:
    """(this task's index over the whole group, the group's size, is it the chief) for a parsed
    TF_CONFIG: the chief is task ``chief`` 0, else worker 0."""
    cluster, task = cfg["cluster"], cfg["task"]
    chiefs = len(cluster.get("chief", []))
    count = chiefs + len(cluster.get("worker", []))
    index = task["index"] + (chiefs if task["type"] == "worker" else 0)
    return index, count, index == 0


def rank_env(env=None) -> Optional[dict]:
    """The Ascend rank environment ``{"table", "size", "rank", "device"}`` when ``RANK_SIZE`` > 1,
    else None; a half-set or inconsistent one is one UserError line."""
    env = os.environ if env is None else env
    if not env.get("RANK_SIZE") or env.get("RANK_SIZE") == "1":
        return None
    missing = [k for k in RANK_ENV if not env.get(k)]
    if missing:
        raise UserError(f"RANK_SIZE={env['RANK_SIZE']} but {', '.join(missing)} not set: an Ascend "
                        "group needs all of " + ", ".join(RANK_ENV) + " (test/train_*_8p.sh sets them)")
    try:
        size, rank, device = int(env["RANK_SIZE"]), int(env["RANK_ID"]), int(env["DEVICE_ID"])
    except ValueError:
        raise UserError("RANK_SIZE, RANK_ID and DEVICE_ID must be integers, got "
                        f"{env['RANK_SIZE']!r}, {env['RANK_ID']!r}, {env['DEVICE_ID']!r}") from None
    if not 0 <= rank < size:
        raise UserError(f"RANK_ID {rank} is outside 0..{size - 1} (RANK_SIZE {size})")
    if not os.path.isfile(env["RANK_TABLE_FILE"]):
        raise UserError(f"RANK_TABLE_FILE {env['RANK_TABLE_FILE']} not found: expected the HCCL "
                        "rank table JSON of this server (hccl_tools.py writes one)")
    return {"table": env["RANK_TABLE_FILE"], "size": size, "rank": rank, "device": device}


def choose(requested: str, *, gpus: int, npu_open: bool, env=None) -> str:
    """The strategy ``requested`` resolves to: "one", "mirrored", "multi_worker" or "npu"."""
    want = (requested or "auto").lower()
    if want not in STRATEGIES:
        raise UserError(f"unknown strategy {requested!r}: expected one of {', '.join(STRATEGIES)}")
    cfg = tf_config(env)
    ranks = rank_env(env)
    if want == "multi_worker" and cfg is None:
        raise UserError("--strategy multi_worker needs TF_CONFIG: start the workers with "
                        "python -m common_tools.launch --workers host:port,host:port -- python ...")
    if want != "auto":
        return want
    if ranks and npu_open:
        return "npu"
    if cfg is not None and cluster_position(cfg)[1] > 1:
        return "multi_worker"
    if gpus > 1:
        return "mirrored"
    return "one"


# the strategy

@dataclass
class Distribution:
    """A chosen strategy and this process's place in it; see the module docstring."""
    kind: str                               # "one" | "mirrored" | "multi_worker" | "npu"
    strategy: object = None                 # the tf.distribute.Strategy (None for one and npu)
    replicas: int = 1                       # replicas in sync over the whole group
    worker_index: int = 0                   # this process in the group (0 = the chief)
    num_workers: int = 1
    is_chief: bool = True
    rank: int = 0                           # npu: this process's replica (RANK_ID)
    npu: object = field(default=None, repr=False)   # npu: the npu_device module

    def scope(self):
        """Build networks and optimizers in here (their variables are mirrored)."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def global_batch(self, per_replica: int) -> int:
        """The batch every worker's pipeline yields: ``per_replica x replicas``."""
        return int(per_replica) * self.replicas

    def run(self, fn, *args):
        """``fn(*args)`` once per replica (args: the global batch, the same on every replica)."""
        if self.strategy is None:
            return fn(*args)
        return self.strategy.run(fn, args=args)

    def _replica(self):
        import tensorflow as tf

        if self.kind == "npu":
            return self.rank, self.replicas
        ctx = tf.distribute.get_replica_context()
        if ctx is None:
            raise RuntimeError("Distribution.local is for inside Distribution.run")
        return ctx.replica_id_in_sync_group, ctx.num_replicas_in_sync

    def local(self, *tensors):
        """This replica's slice of each global-batch tensor (rows r*b .. (r+1)*b)."""
        if self.replicas == 1:
            return tensors if len(tensors) != 1 else tensors[0]
        import tensorflow as tf

        r, n = self._replica()
        out = []
        for t in tensors:
            b = tf.shape(t)[0] // n
            out.append(t[r * b:(r + 1) * b])
        return tuple(out) if len(out) != 1 else out[0]

    def average(self, loss):
        """A replica's mean loss as its share of the global-batch mean: ``loss / replicas``
        (= ``tf.nn.compute_average_loss(per_example, global_batch_size)`` for equal slices)."""
        return loss if self.replicas == 1 else loss * (1.0 / self.replicas)

    def apply(self, optimizer, grads, variables) -> None:
        """Apply gradients summed over the replicas (Keras sums them under tf.distribute; the NPU
        path sums with HCCL first)."""
        if self.kind == "npu" and self.replicas > 1:
            grads = self.npu.distribute.all_reduce(list(grads), "sum")
        optimizer.apply(grads, variables)

    def sum(self, values):
        """The cross-replica sum of a dict of per-replica scalars (averaged losses -> global means)."""
        if self.replicas == 1:
            return values
        if self.kind == "npu":
            keys = sorted(values)
            reduced = self.npu.distribute.all_reduce([values[k] for k in keys], "sum")
            return dict(zip(keys, reduced))
        return {k: self.strategy.reduce("SUM", v, axis=None) for k, v in values.items()}

    def broadcast(self, variables) -> None:
        """NPU: make every rank start from rank 0's values (tf.distribute does it by itself when
        the variables are created). Call after a restore too."""
        if self.kind == "npu" and self.replicas > 1:
            self.npu.distribute.broadcast(list(variables), root_rank=0)

    def agree(self, flag: bool) -> bool:
        """True on every worker when any worker passes True (the driver's stop vote)."""
        if self.num_workers == 1 and self.kind != "npu":
            return bool(flag)
        import tensorflow as tf

        value = tf.constant(1.0 if flag else 0.0)
        if self.kind == "npu":
            return float(self.npu.distribute.all_reduce([value], "sum")[0]) > 0
        if not hasattr(self, "_vote"):
            strategy = self.strategy
            self._vote = tf.function(lambda v: strategy.reduce(
                "SUM", strategy.run(lambda x: tf.identity(x), args=(v,)), axis=None))
        return float(self._vote(value)) > 0

    def describe(self, per_replica: Optional[int] = None) -> str:
        """One line: the strategy, the group, this worker, the global batch."""
        where = {"one": "one device", "mirrored": f"{self.replicas} local devices",
                 "multi_worker": f"{self.num_workers} workers, {self.replicas} replicas",
                 "npu": f"{self.replicas} NPUs over HCCL"}[self.kind]
        line = f"strategy: {self.kind} ({where}"
        if self.num_workers > 1 or self.kind == "npu":
            line += f"; this is worker {self.worker_index}{', the chief' if self.is_chief else ''}"
        line += ")"
        if per_replica is not None:
            line += (f"; global batch = {per_replica} per replica x {self.replicas} replicas = "
                     f"{self.global_batch(per_replica)}")
        return line

    def worker(self, per_replica: Optional[int] = None):
        """The driver's view of this process (:class:`common_tools.training.Worker`)."""
        from .training import Worker

        return Worker(index=self.worker_index, count=self.num_workers, replicas=self.replicas,
                      is_chief=self.is_chief, agree=self.agree if self.num_workers > 1 else None,
                      note=self.describe(per_replica))


def sync_batch_norm(*models) -> int:
    """Switch every BatchNormalization layer of ``models`` to synchronized (global-batch)
    statistics; returns how many. Only training is affected (inference uses the moving averages)."""
    import keras

    count = 0
    for model in models:
        for layer in model._flatten_layers(include_self=False, recursive=True):
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.synchronized = True
                count += 1
    return count


def _gpus() -> int:
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))


def _npu_opened() -> bool:
    from . import device

    return bool(device._npu["opened"])


# TensorFlow's coordination service declares a worker dead after 10 s without a heartbeat. A
# worker starved of CPU (several TF processes on a 2-core host, one of them compiling) misses that
# and the whole group aborts ("heartbeat timeout" in CollectiveReduceV2). A dead worker is still
# found at once by its exit (``common_tools.launch`` stops the group); the heartbeat is only the
# last resort for a host that vanished, so it gets a minute.
HEARTBEAT_TIMEOUT_S = 60


def coordination_service(cfg: dict) -> dict:
    """The keyword arguments of TF's ``configure_coordination_service`` for a parsed TF_CONFIG:
    what ``MultiWorkerMirroredStrategy`` would set (the leader is the chief, else worker 0; the
    chief and worker jobs) with a heartbeat timeout of :data:`HEARTBEAT_TIMEOUT_S`; ``{}`` (TF's
    own choice) for a cluster with parameter servers or a task outside chief/worker."""
    cluster = cfg["cluster"]
    if "ps" in cluster or cfg["task"]["type"] not in ("chief", "worker"):
        return {}
    jobs = [(name, len(cluster[name])) for name in ("chief", "worker") if name in cluster]
    return {"service_type": "standalone", "service_leader": f"/job:{jobs[0][0]}/replica:0/task:0",
            "heartbeat_timeout_in_ms": HEARTBEAT_TIMEOUT_S * 1000, "coordinated_jobs": jobs}


_made: dict = {}   # a strategy is made once per process (collectives are configured at start-up)


def select_strategy(requested: Optional[str] = "auto", stream: Optional[IO[str]] = sys.stderr,
                    env=None) -> Distribution:
    """Make the strategy ``requested`` resolves to (see :func:`choose`); said in one line.

    Call it before any model is built; on Ascend after ``common_tools.device.select_device``
    opened the NPU. Made once per process: later calls return the same one.
    """
    kind = choose(requested or "auto", gpus=_gpus(), npu_open=_npu_opened(), env=env)
    if kind in _made:
        return _made[kind]
    import tensorflow as tf

    if kind == "one":
        dist = Distribution("one")
    elif kind == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
        dist = Distribution("mirrored", strategy, replicas=strategy.num_replicas_in_sync)
    elif kind == "multi_worker":
        cfg = tf_config(env)
        index, count, chief = cluster_position(cfg)
        if env is not None and env is not os.environ:   # TF reads os.environ itself
            os.environ["TF_CONFIG"] = env["TF_CONFIG"]
        coordination = coordination_service(cfg)
        if coordination:   # before the strategy: it configures the service only when none is
            from tensorflow.python.distribute.collective_all_reduce_strategy import \
                coordination_config_pb2   # the proto module as the strategy itself names it
            from tensorflow.python.eager import context

            jobs = [coordination_config_pb2.CoordinatedJob(name=name, num_tasks=n)
                    for name, n in coordination.pop("coordinated_jobs")]
            context.context().configure_coordination_service(coordinated_jobs=jobs, **coordination)
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        dist = Distribution("multi_worker", strategy, replicas=strategy.num_replicas_in_sync,
                            worker_index=index, num_workers=count, is_chief=chief)
    else:   # npu
        ranks = rank_env(env)
        import npu_device

        dist = Distribution("npu", None, replicas=ranks["size"], worker_index=ranks["rank"],
                            num_workers=ranks["size"], is_chief=ranks["rank"] == 0,
                            rank=ranks["rank"], npu=npu_device)
    _made[kind] = dist
    if stream is not None:
        print(dist.describe(), file=stream, flush=True)
    return dist
