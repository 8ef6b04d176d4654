"""Shared test mixins: every model's tests run the same contract checks on its tiny config.

A model's test module subclasses the mixins and fills in what is its own::

    class TestDriverContract(testing.TFTrainingContract):
        def config(self):            return MyConfig.tiny()
        def build(self, cfg, run):   return mygan.train.build(cfg, run, data=...)   # a Loop
        def rng(self, loop):         return loop.checkpointer.trackables["rng"]

    class TestCli(testing.CliContract):
        folder = FOLDER                                     # the model folder (cwd of the scripts)
        def train_argv(self, run_dir, steps): return ["main.py", "--phase", "train", ...]
        def bad_inputs(self, tmp): return [(["main.py", "--phase", "test", ...], "checkpoint"), ...]

    class TestParity(testing.ParityContract):
        def outputs(self, tmp):  return {"online": [...], "pb": [...], "onnx": [...], "runner": [...]}

What is checked (each a test that fails when the contract is broken):
- save -> load restores every variable of the checkpoint (counted and compared value by value);
- resume after SIGKILL continues at the saved step, the log has no gap or duplicate, the run ends;
- an interrupted run's random stream equals an uninterrupted one's;
- a non-finite scalar stops the run with one line, keeps the last good checkpoint, logs a null;
- Ctrl-C (SIGINT) saves a checkpoint at the step it stopped and exits 130;
- every bad input class gives one ``error:`` line, a non-zero exit and no traceback;
- online / .pb / .onnx / runner outputs agree within ``PARITY_TOL``.
Only test code imports this module (it imports pytest).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Callable

import numpy as np
import pytest

from . import training
from .logging import JSONL_NAME, read_jsonl


def _env() -> dict:
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")


def run_script(folder: str, argv, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python <argv...>`` in ``folder`` as a user would; raises with stderr on failure."""
    proc = subprocess.run([sys.executable, *argv], cwd=folder, env=_env(), capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


class TrainingContract:
    """Driver policies on the model's real build (networks, step, data) at its tiny config.

    Subclasses give ``config()`` (tiny; total steps >= 4, checkpoint cadence >= the total) and
    ``build(cfg, run) -> training.Loop``.
    """

    def config(self):
        raise NotImplementedError

    def build(self, cfg, run):
        raise NotImplementedError

    def _train(self, run_dir, **kw):
        return training.train(self.config(), str(run_dir), self.build, tensorboard=False, **kw)

    def test_nonfinite_stops_with_last_good_checkpoint(self, tmp_path):
        self._train(tmp_path, max_steps=1)                      # a good checkpoint at step 1

        def poison(step_fn, i):
            out = dict(step_fn(i))
            key = sorted(out)[0]
            return {**out, key: float("nan")}

        with pytest.raises(training.NonFiniteLoss) as err:
            self._train(tmp_path, step_hook=poison)
        assert "step 2" in str(err.value) and "\n" not in str(err.value)
        records = read_jsonl(os.path.join(tmp_path, JSONL_NAME))
        assert records[-1]["step"] == 2 and records[-1]["nonfinite"]
        loop = self.build(self.config(), training.Run(str(tmp_path), str(tmp_path / "checkpoints"),
                                                      str(tmp_path / "samples")))
        assert loop.checkpointer.restore() == 1                 # nothing was saved at the bad step

    def test_ctrl_c_saves_and_resume_continues(self, tmp_path):
        def ctrl_c(step_fn, i):
            out = step_fn(i)
            if i == 1:
                os.kill(os.getpid(), signal.SIGINT)
            return out

        with pytest.raises(training.TrainingInterrupted):
            self._train(tmp_path, step_hook=ctrl_c)
        summary = self._train(tmp_path, max_steps=1)
        assert summary["start"] == 2 and summary["end"] == 3
        assert [r["step"] for r in read_jsonl(os.path.join(tmp_path, JSONL_NAME))] == [1, 2, 3]


class TFTrainingContract(TrainingContract):
    """:class:`TrainingContract` plus the TensorFlow checkpoint checks. ``rng(loop)`` returns the
    ``tf.random.Generator`` the model's step draws from (kept in its checkpoint)."""

    def rng(self, loop):
        raise NotImplementedError

    def _loop(self, run_dir):
        return self.build(self.config(), training.Run(str(run_dir), str(run_dir / "checkpoints"),
                                                      str(run_dir / "samples")))

    def test_save_load_restores_every_variable(self, tmp_path):
        self._train(tmp_path, max_steps=1)
        first = self._loop(tmp_path)
        assert first.checkpointer.restore() == 1
        saved = {k: v.numpy() for k, v in _variables(first.checkpointer).items()}
        count = first.checkpointer.count_variables()
        assert count == len(saved) + 1 and count > 10             # + the step counter
        again = self._loop(tmp_path)
        before = {k: v.numpy() for k, v in _variables(again.checkpointer).items()}
        assert again.checkpointer.restore() == 1
        after = {k: v.numpy() for k, v in _variables(again.checkpointer).items()}
        assert set(after) == set(saved)
        changed = [k for k in saved if not np.array_equal(before[k], saved[k])]
        assert changed, "a fresh build already equals the checkpoint: the test proves nothing"
        for key in saved:
            np.testing.assert_array_equal(after[key], saved[key], err_msg=key)

    def test_random_stream_continues_across_resume(self, tmp_path):
        self._train(tmp_path / "straight", max_steps=3)
        self._train(tmp_path / "split", max_steps=1)
        self._train(tmp_path / "split", max_steps=2)
        a, b = self._loop(tmp_path / "straight"), self._loop(tmp_path / "split")
        assert a.checkpointer.restore() == b.checkpointer.restore() == 3
        np.testing.assert_array_equal(self.rng(a).state.numpy(), self.rng(b).state.numpy())
        fresh = self._loop(tmp_path / "fresh")
        assert not np.array_equal(self.rng(fresh).state.numpy(), self.rng(a).state.numpy())


def _variables(keeper) -> dict:
    """{"G/res0.conv1.kernel": variable, ...} of a CheckpointKeeper (its models, optimizers, rng)."""
    import tensorflow as tf

    keeper._ckpt()
    out = {}
    for name, obj in keeper._held.items():
        if isinstance(obj, dict):
            out.update({f"{name}/{k}": v for k, v in obj.items()})
        elif isinstance(obj, tf.random.Generator):
            out[f"{name}/state"] = obj.state
        else:
            for i, v in enumerate(getattr(obj, "variables", [])):   # optimizers: by position
                out[f"{name}/{i}"] = v                             # (their auto names vary)
    return out


def kill_after_step(proc: subprocess.Popen, log, step: int, timeout: float) -> None:
    """SIGKILL the training ``proc`` once its JSONL ``log`` has a record of ``step`` or later (it must
    still be running then: a run that ended first fails the test with its stderr), and reap it."""
    deadline = time.time() + timeout
    try:
        while time.time() < deadline and proc.poll() is None:
            if os.path.exists(log) and any(r.get("step", 0) >= step for r in read_jsonl(str(log))):
                break
            time.sleep(0.1)
        assert proc.poll() is None, f"training ended before the kill:\n{proc.stderr.read()[-2000:]}"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)


def kill_and_rerun(folder: str, argv, log, step: int = 2, timeout: float = 240.0):
    """``python <argv...>`` in ``folder``, SIGKILLed once its JSONL ``log`` has ``step`` (see
    :func:`kill_after_step`), then the same command again, to its end. Returns (the last step the
    killed run logged, the second run's CompletedProcess)."""
    proc = subprocess.Popen([sys.executable, *argv], cwd=folder, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    kill_after_step(proc, log, step, timeout)
    killed_at = max(r["step"] for r in read_jsonl(str(log)))
    return killed_at, run_script(folder, argv)


class CliContract:
    """The card's scripts as a user runs them. Subclasses set ``folder`` and give
    ``train_argv(run_dir, steps)`` (a training command whose run has ``steps`` steps, saving every
    step) and ``bad_inputs(tmp_path)`` -> [(argv, substring the one error line must contain)]."""

    folder: str = ""
    kill_timeout = 240.0

    def train_argv(self, run_dir, steps):
        raise NotImplementedError

    def bad_inputs(self, tmp_path):
        return []

    def test_resume_after_sigkill(self, tmp_path):
        run_dir = tmp_path / "run"
        log = run_dir / JSONL_NAME
        killed_at, done = kill_and_rerun(self.folder, self.train_argv(str(run_dir), 6), log, 2, self.kill_timeout)
        self.assert_resumed(killed_at, done, log, steps=6, after=2)

    @staticmethod
    def assert_resumed(killed_at, done, log, steps, after):
        """What :func:`kill_and_rerun` must show: the rerun said it resumed, every logged step once,
        in order, up to ``steps``, and the kill came at or after step ``after``."""
        assert "resumed from" in done.stderr + done.stdout
        logged = [r["step"] for r in read_jsonl(str(log))]
        assert logged == sorted(set(logged)) and logged[-1] == steps and killed_at >= after
        return logged

    def test_ctrl_c_saves_a_checkpoint_and_exits_130(self, tmp_path):
        run_dir = tmp_path / "run"
        log = run_dir / JSONL_NAME
        proc = subprocess.Popen([sys.executable, *self.train_argv(str(run_dir), 10_000)], cwd=self.folder,
                                env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + self.kill_timeout
        while time.time() < deadline and proc.poll() is None:
            if log.exists() and read_jsonl(str(log)):
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 130, err[-2000:]
        assert "Traceback" not in err and "saved" in err, err[-2000:]
        last = max(r["step"] for r in read_jsonl(str(log)))
        state = (run_dir / "checkpoints" / "checkpoint_state.json").read_text()
        assert f'"step": {last}' in state

    def test_bad_inputs_give_one_line(self, tmp_path):
        cases = self.bad_inputs(tmp_path)
        if not cases:
            pytest.skip("no bad-input cases for this model")
        for argv, expected in cases:
            proc = run_script(self.folder, argv, check=False)
            lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
            assert proc.returncode != 0, f"{argv} exited 0"
            assert "Traceback" not in proc.stderr, f"{argv}:\n{proc.stderr[-2000:]}"
            assert lines and lines[-1].startswith("error:") and expected in lines[-1], \
                f"{argv}: expected one error line with {expected!r}, got:\n{proc.stderr[-2000:]}"
            assert "could not be found" not in proc.stderr, f"{argv}: checkpoint warnings follow the error"


class ParityContract:
    """Online / frozen .pb / .onnx / runner outputs of the same inputs agree. ``outputs(tmp_path)``
    returns ``{"online": [arrays], "pb": [...], "onnx": [...], "runner": [...]}``."""

    PARITY_TOL = 1e-4

    def outputs(self, tmp_path):
        raise NotImplementedError

    def test_parity_online_pb_onnx_runner(self, tmp_path):
        from .export import parity_report

        results = self.outputs(tmp_path)
        assert "online" in results and len(results) >= 3
        spread = [float(np.abs(a).max()) for a in results["online"]]
        assert max(spread) > 0, "all outputs are zero: parity would pass by accident"
        report = parity_report(results)
        for pair, stats in report.items():
            assert max(stats["max_abs"]) < self.PARITY_TOL, f"{pair}: {stats}"


# --- data parallel with real processes: a 2-worker group vs one process on the global batch ------
# A model's test module writes its worker script (argv: run_dir dump *data batch die_at; its config,
# then ``train_group_worker(cfg, run_dir, dump, die_at, lambda cfg, run, dist: build(cfg, run, ..., dist=dist))``)
# and its resume command, then::
#
#     @pytest.fixture(scope="module")
#     def group(tmp_path_factory, data):
#         tmp = tmp_path_factory.mktemp("dist")
#         return kill_and_resume_group(tmp, FOLDER, WORKER, [data], again=[sys.executable, "main.py", ...],
#                                      die_at=DIE_AT, grace=GRACE)
#
#     def test_replicas(group): assert_replicas_equal(group["dump"], group["dump_single"], DIE_AT, lr=LR)

def distributed_env() -> dict:
    """The environment of every process of these tests (quiet TF, 1 intra-op / 2 inter-op threads)."""
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", TF_NUM_INTRAOP_THREADS="1",
                TF_NUM_INTEROP_THREADS="2", OMP_NUM_THREADS="1")


def launch_group(folder: str, workers: str, command, grace: float, **kw) -> subprocess.Popen:
    """``python -m common_tools.launch --workers <workers> --grace <grace> -- <command...>`` in
    ``folder`` (stdout and stderr piped, text)."""
    return subprocess.Popen([sys.executable, "-m", "common_tools.launch", "--workers", workers,
                             "--grace", str(grace), "--", *command], cwd=folder, env=distributed_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def kill_and_dump_hook(dump: str, die_at: int, trackables: Callable[[], dict]):
    """A ``training.train`` step hook for a worker script: worker 1 (by ``TF_CONFIG``) touches
    ``<dump>/died`` and SIGKILLs itself when step ``die_at`` + 1 starts; after every step each
    worker saves ``<dump>/w<index>-<step>.npz`` with ``trackables()["G"]`` / ``["D"]`` weights
    (keys ``"G." + variable path``)."""
    import json

    index = json.loads(os.environ.get("TF_CONFIG") or '{"task": {"index": 0}}')["task"]["index"]

    def hook(step_fn, i):
        if index == 1 and i == int(die_at):
            open(os.path.join(dump, "died"), "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        out = step_fn(i)
        t = trackables()
        np.savez(os.path.join(dump, f"w{index}-{i + 1}.npz"),
                 **{"G." + v.path: v.numpy() for v in t["G"].weights},
                 **{"D." + v.path: v.numpy() for v in t["D"].weights})
        return out

    return hook


def kill_and_resume_group(tmp, folder: str, worker_script: str, data, again, *, die_at: int,
                          grace: float, per_replica: int = 2, global_batch: int = 4,
                          timeout: float = 240) -> dict:
    """At once: a 2-worker group (per-replica batch ``per_replica``, worker 1 dies at step
    ``die_at`` + 1) and one process on the same global batch, both running ``worker_script`` (text,
    argv: run_dir dump *data batch die_at); then ``again`` (a command) under the launcher on the
    same addresses. ``tmp`` is a fresh folder (a pathlib.Path). Returns {"run", "single", "dump",
    "dump_single", "first": (returncode, stderr, t_end, died mtime or None), "again": (returncode, stderr)}."""
    from .launch import free_ports

    script = tmp / "worker.py"
    script.write_text(worker_script)
    run, single, dump, dump_single = tmp / "group", tmp / "single", tmp / "dump", tmp / "dump_single"
    dump.mkdir(), dump_single.mkdir()
    workers = ",".join(f"127.0.0.1:{p}" for p in free_ports(2))
    data = [str(d) for d in data]
    first = launch_group(folder, workers, [sys.executable, str(script), str(run), str(dump), *data,
                                           str(per_replica), str(die_at)], grace)
    one = subprocess.Popen([sys.executable, str(script), str(single), str(dump_single), *data,
                            str(global_batch), "-1"], cwd=folder, env=distributed_env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err1 = first.communicate(timeout=timeout)
    t_end = time.time()
    _, one_err = one.communicate(timeout=timeout)
    assert one.returncode == 0, one_err[-3000:]
    died = os.path.getmtime(dump / "died") if (dump / "died").exists() else None
    again_proc = launch_group(folder, workers, [str(a) for a in again], grace)
    _, err2 = again_proc.communicate(timeout=timeout)
    return {"run": str(run), "single": str(single), "dump": str(dump), "dump_single": str(dump_single),
            "first": (first.returncode, err1, t_end, died), "again": (again_proc.returncode, err2)}


def load_weights(path: str) -> dict:
    """{name: array} of an ``.npz`` file."""
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def assert_close_to_single(got: dict, ref: dict, step, lr: float, *, updates: int = 1, slack: float = 1.0,
                           tol: float = 1e-6, max_fraction: float = 1e-3) -> None:
    """Equal within float tolerance. Adam's first step moves a weight by ~lr * sign(gradient), so
    where a gradient is ~0 (round-off level), the summation order of the all-reduce can flip its
    sign: those few elements may differ by up to ``slack`` lr per update (a flipped sign is 2 lr);
    all but ``max_fraction`` of the others agree to ``tol``. ``step`` names the comparison."""
    diffs = np.concatenate([np.abs(got[k] - ref[k]).ravel() for k in ref])
    label = f"step {step}" if isinstance(step, int) else step
    assert diffs.max() < updates * lr * slack, f"{label}: data-parallel vs one device differ by {diffs.max()}"
    assert np.mean(diffs > tol) < max_fraction, f"{label}: {np.mean(diffs > tol):.3%} of the weights differ"


def run_weights(weights: dict, name: str) -> dict:
    """``{"G/<weight path>": array}`` of run ``name`` from one .npz holding several runs' weights
    under ``<name>/...`` keys (scalars under ``<name>/loss/...`` left out)."""
    return {k[len(name) + 1:]: v for k, v in weights.items()
            if k.startswith(name + "/") and not k.startswith(name + "/loss/")}


def start_from(nets: dict, init: dict | None) -> dict:
    """Set every Keras model of ``nets`` ({name: model}) to the initial weights ``init``
    ({name: get_weights()}); ``None``: take them from ``nets`` (the first run). Returns ``init``."""
    if init is None:
        init = {k: v.get_weights() for k, v in nets.items()}
    for k, v in nets.items():
        v.set_weights(init[k])
    return init


def record_weights(into: dict, prefix: str, nets: dict) -> None:
    """``into["<prefix>/<name>/<weight path>"]`` = the value of every weight of every model of
    ``nets`` (the layout :func:`run_weights` reads back)."""
    for k, v in nets.items():
        for w in v.weights:
            into[f"{prefix}/{k}/{w.path}"] = np.asarray(w.numpy())


def run_generated_script(folder: str, out: str, source: str, *args, timeout: float = 300) -> None:
    """Write ``source`` to ``<out>/run.py`` and run it with ``folder`` (a model folder) importable;
    fails the test with the script's stderr when it exits non-zero."""
    script = os.path.join(out, "run.py")
    with open(script, "w", encoding="utf-8") as f:
        f.write(source)
    env = {**_env(), "PYTHONPATH": folder + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, script, out, *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]


def assert_replicas_equal(dump: str, dump_single: str, last_step: int, lr: float,
                          min_move: float = 5e-5) -> None:
    """Steps 1..``last_step``: both workers' weights are bit-identical, the chief's are close to the
    single process's (:func:`assert_close_to_single`), and training moved some weight by > ``min_move``."""
    for step in range(1, last_step + 1):
        w0 = load_weights(os.path.join(dump, f"w0-{step}.npz"))
        w1 = load_weights(os.path.join(dump, f"w1-{step}.npz"))
        ref = load_weights(os.path.join(dump_single, f"w0-{step}.npz"))
        assert sorted(w0) == sorted(w1) == sorted(ref) and len(w0) > 10
        for key in w0:
            assert np.array_equal(w0[key], w1[key]), f"step {step}: workers differ in {key}"
        assert_close_to_single(w0, ref, step, lr)
    first, last = load_weights(os.path.join(dump, "w0-1.npz")), load_weights(os.path.join(dump, f"w0-{last_step}.npz"))
    moved = max(float(np.max(np.abs(first[k] - last[k]))) for k in w0)
    assert moved > min_move                               # training did change the weights


def assert_losses_match_single(run: str, single: str, last_step: int, keys, rel: float = 1e-4,
                               abs_: float = 1e-5) -> tuple:
    """The chief's logged ``keys`` equal the single process's for steps 1..``last_step`` (global-batch
    means). Returns (chief, single) records by step for further checks."""
    chief = {r["step"]: r for r in read_jsonl(os.path.join(run, JSONL_NAME))}
    one = {r["step"]: r for r in read_jsonl(os.path.join(single, JSONL_NAME))}
    for step in range(1, last_step + 1):
        for key in keys:
            assert chief[step][key] == pytest.approx(one[step][key], rel=rel, abs=abs_), (step, key)
    return chief, one


def assert_dead_worker_one_line(first: tuple, grace: float) -> None:
    """The group whose worker 1 SIGKILLed itself exited non-zero with exactly one ``launch:`` line
    naming it, within ``grace`` + 10 s of its death."""
    code, err, t_end, died = first
    assert code != 0 and died is not None
    lines = [line for line in err.splitlines() if line.startswith("launch:")]
    assert len(lines) == 1 and "worker 1 (127.0.0.1:" in lines[0] and "killed by SIGKILL" in lines[0], err[-2000:]
    assert t_end - died < grace + 10, f"the group took {t_end - died:.1f} s to stop"


def assert_group_resumed(run: str, again: tuple, resumed_from: str, die_at: int, steps: int,
                         last_checkpoint: str) -> None:
    """The rerun resumed the group from ``resumed_from`` (the chief's checkpoint) at ``die_at``,
    worker 1 too; global batch 2 x 2; the log has steps 1..``steps`` with no gap or duplicate; only
    the chief wrote ``last_checkpoint`` (a path); the run summary spans ``die_at`` -> ``steps``."""
    import json

    code, err = again
    assert code == 0, err[-3000:]
    assert f"resumed from {resumed_from} at step {die_at}" in err
    with open(os.path.join(run, "workers", "worker-1.log"), encoding="utf-8") as f:
        other = f.read()
    assert f"at step {die_at}" in other and "this is worker 1" in other
    assert "global batch = 2 per replica x 2 replicas = 4" in err
    assert [r["step"] for r in read_jsonl(os.path.join(run, JSONL_NAME))] == list(range(1, steps + 1))
    assert os.path.isfile(last_checkpoint)
    with open(os.path.join(run, "run_summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
    assert summary["start"] == die_at and summary["end"] == steps


def load_module(path: str, name: str):
    """Import the file ``path`` as module ``name`` (a model folder's script: bench.py, main.py)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_bench_distributed_figure(bench, args) -> None:
    """A bench.py module's ``configurations(args)`` has the 1-vs-2-workers figure (``--only
    distributed``: names holding "distributed", 1 thread each, the same per-replica batch, other
    figures besides) and its ``table`` prints the throughput ratio, honestly labelled."""
    configs = bench.configurations(args)
    chosen = [c for c in configs if "distributed" in c.name]         # what --only distributed keeps
    assert [c.kwargs["workers"] for c in chosen] == [1, 2] and len(configs) > len(chosen)
    assert all(c.env["TF_NUM_INTRAOP_THREADS"] == c.env["TF_NUM_INTEROP_THREADS"] == "1" for c in chosen)
    assert chosen[0].kwargs["batch"] == chosen[1].kwargs["batch"]   # the same per-replica batch
    runs = {1: 100.0, 2: 150.0}
    result = {"entries": [{"group": "distributed", "status": "ok", "kwargs": {"workers": n},
                           "result": {"global_batch": 8 * n, "s_per_iteration": 8 * n / ips, "n_d": 1,
                                      "images_per_s": ips, "load_avg_1min_at_start": 0.5,
                                      "per_replica_batch": 8, "steps": 30}}
                          for n, ips in runs.items()]}
    text = bench.table(result)
    assert "throughput: 1.50x" in text and "not a multi-host figure" in text and "one 2-core CPU" in text
    assert bench.distributed_table({"entries": []}) == ""


def train_group_worker(cfg, run_dir: str, dump: str, die_at: int, build_loop) -> dict:
    """The body of a worker script: ``training.train`` of ``build_loop(cfg, run, dist)`` (a
    ``training.Loop`` whose checkpointer holds "G" and "D") under the strategy the launcher set up
    ("auto"), with :func:`kill_and_dump_hook`. Returns the run summary."""
    from .distribute import select_strategy

    dist, held = select_strategy("auto", stream=None), {}

    def build(cfg, run):
        loop = build_loop(cfg, run, dist)
        held["keeper"] = loop.checkpointer
        return loop

    hook = kill_and_dump_hook(dump, int(die_at), lambda: held["keeper"].trackables)
    return training.train(cfg, run_dir, build, step_hook=hook, tensorboard=False,
                          worker=dist.worker(cfg.batch_size))


def assert_strategy_flag(module, base, seen: dict, capsys) -> None:
    """A card script ``module`` (``main(argv)``, ``build_parser()``) whose training entry is a
    stand-in recording its keyword arguments in ``seen``: ``--strategy one`` reaches it, the default
    is "auto", and ``--strategy many`` is one ``error:`` line (exit 2) naming the flag, the value
    and the choices."""
    assert module.main(base + ["--strategy", "one"]) == 0 and seen["strategy"] == "one"
    assert module.build_parser().parse_args(base).strategy == "auto"
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        module.build_parser().parse_args(base + ["--strategy", "many"])
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert exc.value.code == 2 and len(errors) == 1
    assert "--strategy" in errors[0] and "'many'" in errors[0] and "multi_worker" in errors[0]
