"""One training driver for every model: the loop, resume, cadences, logs, stop and interrupt policy.

A model supplies a :class:`Loop` built from its config; the driver owns everything around it:

    def build(cfg, run: Run) -> Loop:             # the model's own part
        G, D = ...; opt_g, opt_d = ...; rng = ...
        keeper = CheckpointKeeper(run.checkpoint_dir, G=G, D=D, g_opt=..., d_opt=..., rng=rng)
        batches = None
        def resume(start):                         # called once, after the restore
            nonlocal batches; batches = iter(make_dataset(seed=cfg.seed + start))
        return Loop(step=lambda i: train_step(next(batches), i), checkpointer=keeper,
                    total_steps=cfg.iterations, resume=resume, sample=write_grid,
                    checkpoint_every=cfg.checkpoint_steps, sample_every=cfg.sample_steps)

    summary = training.train(cfg, run_dir, build)   # resumes when run_dir has a checkpoint

The run folder: ``config.json`` (the config, read back by test/freeze scripts), ``checkpoints/``,
``train_log.jsonl`` + one progress line (common_tools.logging), ``summaries/`` (TensorBoard),
``samples/`` (whatever ``Loop.sample`` writes) and ``run_summary.json``.

Policies, the same for every model:
- resume: a run folder with a checkpoint resumes from its newest intact one at the same step;
  config fields are marked architecture or schedule (``runs.arch`` / ``runs.sched``): changing an
  architecture field is one error naming it, old and new value; a schedule change is applied and
  said. The random state continues: models draw from a generator kept in their checkpoint.
- non-finite scalars: the record is logged (nulls + ``"nonfinite"``), nothing is saved, the run
  stops with one line naming the scalars, the step and the last good checkpoint (exit 2).
- Ctrl-C / SIGTERM: the current step finishes, a checkpoint is saved, one line says where, and the
  process exits with 130 (a second Ctrl-C stops at once without saving).
Test hooks are injected (``step_hook``), never config fields. Nothing here imports a framework:
the checkpointer is the model's (``common_tools.checkpoint.CheckpointKeeper`` for TensorFlow).

Data-parallel groups: ``train(..., worker=Worker(...))`` (made by the framework's side, e.g.
``common_tools.distribute.Distribution.worker``) says where this process stands. Only the chief
writes ``config.json``, ``train_log.jsonl``, TensorBoard, samples and ``run_summary.json``; every
worker of a group of several writes its own ``workers/worker-<i>.log`` (the chief's also goes to
the stream, the others' only to their file) and ``workers/worker-<i>.jsonl``. A stop (Ctrl-C,
SIGTERM) is voted on after every step (``Worker.agree``), so the whole group stops after the same
step and saves it together. The checkpointer of a non-chief must write to a throw-away place and
restore from the chief's folder (``CheckpointKeeper(chief=False)``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Protocol, Union

from . import runs
from .errors import UserError
from .logging import StepLogger

CHECKPOINT_DIR = "checkpoints"
SAMPLE_DIR = "samples"
SUMMARY_NAME = "run_summary.json"

Cadence = Union[int, Callable[[int], bool], None]   # every N steps, a predicate of the step, or never


class Checkpointer(Protocol):
    """What the driver needs from a framework's checkpoints."""

    def save(self, step: int) -> str: ...          # write checkpoint for ``step``; its path

    def restore(self) -> Optional[int]: ...        # newest intact checkpoint's step, None if none

    @property
    def latest(self) -> Optional[str]: ...


class NonFiniteLoss(UserError):
    """A step returned NaN or inf: training stopped, the last good checkpoint kept."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM: the checkpoint of the last finished step was saved (message says where)."""


@dataclass(frozen=True)
class Run:
    """Where a run lives; handed to the model's ``build``."""
    run_dir: str
    checkpoint_dir: str
    sample_dir: str


@dataclass(frozen=True)
class Worker:
    """This process's place in a data-parallel group; the default is a lone process."""
    index: int = 0                                 # this worker's number in the group (0 = chief)
    count: int = 1                                 # workers (processes) in the group
    replicas: int = 1                              # replicas in sync over the group
    is_chief: bool = True                          # writes config, logs, TensorBoard, samples
    agree: Optional[Callable[[bool], bool]] = None  # True on every worker if any passed True
    note: str = ""                                 # said at start (strategy, global batch)


class _Tee:
    """A text stream writing to several (the chief's stream and its worker log)."""

    def __init__(self, *streams):
        self.streams = [s for s in streams if s is not None]

    def write(self, text):
        for s in self.streams:
            s.write(text)
        return len(text)

    def flush(self):
        for s in self.streams:
            s.flush()

    def isatty(self):
        return False


@dataclass
class Loop:
    """The model's side of training."""
    step: Callable[[int], Mapping]                 # run step i (0-based); returns {"loss/D": ..., ...}
    checkpointer: Checkpointer
    total_steps: int                               # the run ends after this many steps
    resume: Optional[Callable[[int], Optional[str]]] = None  # called with the start step after the restore; a note it returns is said
    schedule: Optional[Callable[[int], Mapping]] = None  # set lr etc. for step i; returns logged values
    sample: Optional[Callable[[int], Optional[str]]] = None  # preview after step n; returns a PNG path
    images_per_step: Optional[int] = None          # for images/s in the log
    log_every: Cadence = 1                         # JSONL record every N steps (and the last)
    checkpoint_every: Cadence = 1000               # checkpoint cadence (and always at the end)
    sample_every: Cadence = None                   # preview cadence (and at the end when given)
    progress_every: int = 10                       # plain progress line every N steps (non-tty)


def _due(cadence: Cadence, step: int) -> bool:
    if cadence is None:
        return False
    if callable(cadence):
        return bool(cadence(step))
    return cadence > 0 and step % cadence == 0


def nonfinite(scalars: Mapping) -> list:
    """Names of the scalars that are NaN or inf."""
    bad = []
    for key, value in scalars.items():
        try:
            if not math.isfinite(float(value)):
                bad.append(key)
        except (TypeError, ValueError):
            continue
    return bad


class _StopFlag:
    """SIGINT / SIGTERM set a flag the loop reads between steps; a second SIGINT interrupts."""

    def __init__(self):
        self.signal = None
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: signals stay as they are
                pass
        return self

    def _handle(self, signum, frame):
        if self.signal is not None and signum == signal.SIGINT:
            raise TrainingInterrupted("interrupted again: stopped without saving")
        self.signal = signum
        if signum == signal.SIGINT:
            print("\nCtrl-C: finishing this step, then saving a checkpoint (Ctrl-C again to stop "
                  "at once, unsaved)", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        return False


def resolve_config(cfg, run_dir: str, checkpoint_dir: str, say) -> object:
    """``cfg`` checked against the config the run folder was trained with (when it has a
    checkpoint): see :func:`common_tools.runs.reconcile`."""
    saved_path = os.path.join(run_dir, runs.CONFIG_NAME)
    has_checkpoint = os.path.isdir(checkpoint_dir) and any(
        e.endswith(".index") or e.endswith(".ckpt") for e in os.listdir(checkpoint_dir))
    if not (has_checkpoint and os.path.isfile(saved_path)):
        return cfg
    return runs.reconcile(cfg, runs.load_config(type(cfg), run_dir), run_dir=run_dir, say=say)


WORKER_DIR = "workers"


def train(cfg, run_dir: str, build: Callable[[object, Run], Loop], *,
          step_hook: Optional[Callable] = None, max_steps: Optional[int] = None,
          stream=None, tensorboard: bool = True, worker: Optional[Worker] = None) -> dict:
    """Train (or resume) ``cfg`` in ``run_dir``; returns the run summary (also ``run_summary.json``).

    ``step_hook(step_fn, i) -> scalars`` wraps every step (tests inject faults with it);
    ``max_steps`` stops after that many steps of this call (benchmarks, tests), saving first;
    ``stream`` (default stderr) takes the config print-out, notes and the progress line;
    ``worker``: this process's place in a data-parallel group (see the module docstring).
    """
    from .errors import check_output_dir

    worker = worker or Worker()
    run_dir = check_output_dir(run_dir, "run folder")
    log_file = None
    if worker.count > 1:
        os.makedirs(os.path.join(run_dir, WORKER_DIR), exist_ok=True)
        log_file = open(os.path.join(run_dir, WORKER_DIR, f"worker-{worker.index}.log"), "a",
                        encoding="utf-8")
        stream = _Tee(stream or sys.stderr, log_file) if worker.is_chief else log_file
    stream = stream or sys.stderr
    try:
        return _train(cfg, run_dir, build, step_hook, max_steps, stream, tensorboard, worker)
    finally:
        if log_file is not None:
            log_file.close()


def _train(cfg, run_dir, build, step_hook, max_steps, stream, tensorboard, worker: Worker) -> dict:
    def say(message: str) -> None:
        print(message, file=stream, flush=True)

    chief = worker.is_chief
    run = Run(run_dir, os.path.join(run_dir, CHECKPOINT_DIR), os.path.join(run_dir, SAMPLE_DIR))
    cfg = resolve_config(cfg, run_dir, run.checkpoint_dir, say)
    if chief:
        runs.save_config(cfg, run_dir)
    runs.print_config(cfg, stream)
    if worker.note:
        say(worker.note)

    loop = build(cfg, run)
    t_start = time.time()
    start = loop.checkpointer.restore() or 0
    if start:
        say(f"resumed from {loop.checkpointer.latest} at step {start}")
    summary = {"status": "done", "start": start, "end": start, "total_steps": loop.total_steps,
               "checkpoint": loop.checkpointer.latest, "last": {}}
    if start >= loop.total_steps:
        say(f"already trained {start} of {loop.total_steps} steps: nothing to do")
        summary["status"] = "already_done"
        return _write_summary(run_dir, summary, t_start, chief)
    if loop.resume:
        note = loop.resume(start)
        if note:
            say(note)
    end = loop.total_steps if max_steps is None else min(loop.total_steps, start + max_steps)
    own = {} if chief else {"jsonl_name": os.path.join(WORKER_DIR, f"worker-{worker.index}.jsonl")}
    logger = StepLogger(run_dir, total_steps=loop.total_steps, start_step=start,
                        every=loop.progress_every, stream=stream,
                        tensorboard=tensorboard and chief, **own)
    saved_at, done, scalars, stopping = start, start, {}, False
    try:
        with _StopFlag() as stop:
            for i in range(start, end):
                extra = dict(loop.schedule(i) or {}) if loop.schedule else {}
                scalars = dict(step_hook(loop.step, i) if step_hook else loop.step(i))
                done = i + 1
                bad = nonfinite(scalars)
                if bad or _due(loop.log_every, done) or done == end:
                    logger.log(done, images=loop.images_per_step, **extra, **scalars)
                if bad:
                    latest = loop.checkpointer.latest
                    summary.update(status="nonfinite", end=done, last=scalars)
                    _write_summary(run_dir, summary, t_start, chief)
                    raise NonFiniteLoss(
                        f"non-finite {', '.join(bad)} at step {done}: training stopped, nothing "
                        f"saved; the last good checkpoint is {latest or 'none (no save yet)'} "
                        f"(rerun to resume from it, e.g. with a lower learning rate)")
                if chief and loop.sample and (_due(loop.sample_every, done) or
                                    (done == end and loop.sample_every is not None)):
                    path = loop.sample(done)
                    if path:
                        _log_image(logger, done, path)
                if _due(loop.checkpoint_every, done) or done == end:
                    loop.checkpointer.save(done)
                    saved_at = done
                stopping = stop.signal is not None
                if worker.agree is not None:          # the group stops after the same step
                    stopping = worker.agree(stopping)
                if stopping:
                    break
            if stopping:
                if saved_at != done:
                    loop.checkpointer.save(done)
                name = ("SIGTERM" if stop.signal == signal.SIGTERM else
                        "Ctrl-C" if stop.signal is not None else "another worker's stop")
                summary.update(status="interrupted", end=done, last=scalars,
                               checkpoint=loop.checkpointer.latest)
                _write_summary(run_dir, summary, t_start, chief)
                logger.message(f"{name} at step {done}: saved {loop.checkpointer.latest}; "
                               "run the same command to resume")
                raise TrainingInterrupted(f"stopped at step {done}, checkpoint saved")
    finally:
        logger.close()
    summary.update(end=done, last=scalars, checkpoint=loop.checkpointer.latest,
                   status="done" if done >= loop.total_steps else "stopped")
    return _write_summary(run_dir, summary, t_start, chief)


def _log_image(logger: StepLogger, step: int, path: str) -> None:
    try:
        import numpy as np
        from PIL import Image

        logger.image(step, "samples", np.asarray(Image.open(path).convert("RGB")))
    except (OSError, ValueError) as exc:
        logger.message(f"note: sample {path} not sent to TensorBoard ({exc})")


def _write_summary(run_dir: str, summary: dict, t_start: float, chief: bool = True) -> dict:
    seconds = time.time() - t_start
    steps = summary["end"] - summary["start"]
    summary = {**summary, "seconds": round(seconds, 3),
               "steps_per_sec": round(steps / seconds, 4) if steps and seconds > 0 else None,
               "last": {k: (float(v) if isinstance(v, (int, float)) else v)
                        for k, v in summary.get("last", {}).items()}}
    if chief:
        runs.atomic_write_text(os.path.join(run_dir, SUMMARY_NAME),
                               json.dumps(_jsonable(summary), indent=1) + "\n")
    return summary


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    return value
