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
        proc = subprocess.Popen([sys.executable, *self.train_argv(str(run_dir), 6)], cwd=self.folder,
                                env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + self.kill_timeout
        try:
            while time.time() < deadline and proc.poll() is None:
                if log.exists() and any(r.get("step", 0) >= 2 for r in read_jsonl(str(log))):
                    break
                time.sleep(0.2)
            assert proc.poll() is None, f"training ended before the kill:\n{proc.stderr.read()[-2000:]}"
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=60)
        killed_at = max(r["step"] for r in read_jsonl(str(log)))
        done = run_script(self.folder, self.train_argv(str(run_dir), 6))
        assert "resumed from" in done.stderr + done.stdout
        steps = [r["step"] for r in read_jsonl(str(log))]
        assert steps == sorted(set(steps)) and steps[-1] == 6 and killed_at >= 2

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
