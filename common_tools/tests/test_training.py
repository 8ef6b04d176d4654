"""training: the shared driver's policies, on a framework-free toy model with a JSON checkpointer.

The toy's state is a number moved by draws from a random.Random whose state is checkpointed, so
resume tests can compare an interrupted run's draws with an uninterrupted one's.
"""

import dataclasses
import json
import os
import random
import signal
from dataclasses import dataclass

import pytest

from common_tools import runs, training
from common_tools.errors import UserError
from common_tools.logging import read_jsonl


@dataclass(frozen=True)
class ToyConfig(runs.Presets):
    width: int = runs.arch(4)              # a "network" field: fixed once trained
    steps: int = runs.sched(6)             # total steps
    lr: float = runs.sched(0.5)            # step size
    checkpoint_every: int = runs.sched(2)  # checkpoint cadence

    @classmethod
    def paper(cls):
        return cls()

    @classmethod
    def tiny(cls):
        return cls(steps=4)

    @classmethod
    def demo(cls):
        return cls(steps=8)


class JsonCheckpointer:
    def __init__(self, directory, state):
        self.directory, self.state = directory, state

    def save(self, step):
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, f"model-{step}.ckpt")
        with open(path, "w") as f:
            json.dump({"step": step, "value": self.state["value"],
                       "rng": repr(self.state["rng"].getstate())}, f)
        with open(os.path.join(self.directory, "latest"), "w") as f:
            f.write(path)
        return path

    @property
    def latest(self):
        p = os.path.join(self.directory, "latest")
        return open(p).read() if os.path.isfile(p) else None

    def restore(self):
        if not self.latest:
            return None
        with open(self.latest) as f:
            data = json.load(f)
        self.state["value"] = data["value"]
        self.state["rng"].setstate(eval(data["rng"]))  # noqa: S307 - our own test file
        return data["step"]


def toy_build(draws):
    def build(cfg, run):
        state = {"value": 0.0, "rng": random.Random(0)}
        keeper = JsonCheckpointer(run.checkpoint_dir, state)

        def step(i):
            d = state["rng"].random()
            draws.append((i, d))
            state["value"] += cfg.lr * d
            return {"loss/G": state["value"], "loss/D": -state["value"]}

        return training.Loop(step=step, checkpointer=keeper, total_steps=cfg.steps,
                             checkpoint_every=cfg.checkpoint_every, images_per_step=2)
    return build


def test_runs_to_the_end_with_cadences_and_logs(tmp_path):
    draws = []
    summary = training.train(ToyConfig(), str(tmp_path), toy_build(draws), tensorboard=False)
    assert summary["status"] == "done" and summary["end"] == 6 and len(draws) == 6
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["latest", "model-2.ckpt", "model-4.ckpt",
                                                            "model-6.ckpt"]
    records = read_jsonl(str(tmp_path / "train_log.jsonl"))
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6] and "loss/G" in records[0]
    assert runs.load_config(ToyConfig, str(tmp_path)) == ToyConfig()
    assert json.loads((tmp_path / "run_summary.json").read_text())["end"] == 6


def test_resume_continues_step_and_random_stream(tmp_path):
    straight = []
    training.train(ToyConfig(), str(tmp_path / "a"), toy_build(straight), tensorboard=False)
    first, second = [], []
    training.train(ToyConfig(), str(tmp_path / "b"), toy_build(first), max_steps=3, tensorboard=False)
    summary = training.train(ToyConfig(), str(tmp_path / "b"), toy_build(second), tensorboard=False)
    assert summary["start"] == 3 and [i for i, _ in second] == [3, 4, 5]
    assert first + second == straight                     # the same draws as an uninterrupted run
    records = read_jsonl(str(tmp_path / "b" / "train_log.jsonl"))
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]


def test_a_note_returned_by_resume_is_said(tmp_path, capsys):
    def build(cfg, run):
        loop = toy_build([])(cfg, run)
        loop.resume = lambda start: f"warmed up before step {start + 1}" if start == 0 else None
        return loop

    training.train(ToyConfig(), str(tmp_path), build, max_steps=2, tensorboard=False)
    assert "warmed up before step 1" in capsys.readouterr().err
    training.train(ToyConfig(), str(tmp_path), build, tensorboard=False)
    assert "warmed up" not in capsys.readouterr().err


def test_architecture_change_refused_schedule_change_said(tmp_path, capsys):
    training.train(ToyConfig(), str(tmp_path), toy_build([]), max_steps=2, tensorboard=False)
    with pytest.raises(UserError, match=r"width=4 but width=8 was asked for"):
        training.train(ToyConfig(width=8), str(tmp_path), toy_build([]), tensorboard=False)
    draws = []
    summary = training.train(ToyConfig(lr=0.1, steps=3), str(tmp_path), toy_build(draws),
                             tensorboard=False)
    err = capsys.readouterr().err
    assert "resuming with lr changed: 0.5 -> 0.1" in err and "steps changed: 6 -> 3" in err
    assert summary["end"] == 3 and runs.load_config(ToyConfig, str(tmp_path)).lr == 0.1


def test_nonfinite_stops_keeps_last_good_checkpoint(tmp_path):
    def poison(step_fn, i):
        out = step_fn(i)
        return {**out, "loss/D": float("nan")} if i == 2 else out   # the 3rd step

    with pytest.raises(training.NonFiniteLoss) as err:
        training.train(ToyConfig(checkpoint_every=1), str(tmp_path), toy_build([]),
                       step_hook=poison, tensorboard=False)
    msg = str(err.value)
    assert "loss/D" in msg and "step 3" in msg and "model-2.ckpt" in msg and "\n" not in msg
    assert not (tmp_path / "checkpoints" / "model-3.ckpt").exists()
    last = read_jsonl(str(tmp_path / "train_log.jsonl"))[-1]
    assert last["step"] == 3 and last["loss/D"] is None and last["nonfinite"] == ["loss/D"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_saves_then_exits_and_resume_continues(tmp_path, sig):
    def interrupt(step_fn, i):
        out = step_fn(i)
        if i == 2:
            os.kill(os.getpid(), sig)
        return out

    cfg = ToyConfig(checkpoint_every=100)
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(training.TrainingInterrupted):
        training.train(cfg, str(tmp_path), toy_build([]), step_hook=interrupt, tensorboard=False)
    assert (tmp_path / "checkpoints" / "model-3.ckpt").exists()        # saved at the step it stopped
    assert json.loads((tmp_path / "run_summary.json").read_text())["status"] == "interrupted"
    draws = []
    assert training.train(cfg, str(tmp_path), toy_build(draws), tensorboard=False)["start"] == 3
    assert [i for i, _ in draws] == [3, 4, 5]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before   # restored


def test_config_for_run_prefers_saved_config_over_paper(tmp_path):
    training.train(ToyConfig(lr=0.25, steps=2), str(tmp_path), toy_build([]), tensorboard=False)
    cfg = runs.config_for_run(ToyConfig, str(tmp_path), overrides={"steps": "5"})
    assert cfg == ToyConfig(lr=0.25, steps=5)
    assert runs.config_for_run(ToyConfig, str(tmp_path), preset="tiny") == ToyConfig.tiny()
    assert runs.config_for_run(ToyConfig, str(tmp_path / "new")) == ToyConfig.paper()
    with pytest.raises(UserError, match="unknown preset 'huge'"):
        runs.config_for_run(ToyConfig, None, preset="huge")


def test_field_roles_and_docs_drive_the_cli():
    import argparse

    assert runs.field_role(ToyConfig, "width") == runs.ARCHITECTURE
    assert runs.field_role(ToyConfig, "lr") == runs.SCHEDULE
    assert runs.field_docs(ToyConfig)["lr"] == "step size"
    p = runs.add_config_args(argparse.ArgumentParser(), ToyConfig, flags={"steps": "--num_steps"})
    args = p.parse_args(["--num_steps", "9", "--lr", "0.1"])
    assert runs.config_from_args(ToyConfig(), args) == ToyConfig(steps=9, lr=0.1)
    assert "step size" in p.format_help() and "fixed once trained" in p.format_help()
    assert dataclasses.fields(ToyConfig)[0].metadata["role"] == "architecture"
