"""STGAN on the shared driver: the common_tools.testing contract on the real build (networks, step,
data) at the tiny config, plus STGAN's resume policy and its card checkpoint names."""

import io
import json
import os
import shutil

import pytest

from common_tools import testing, training
from common_tools.errors import UserError
from common_tools.logging import read_jsonl
from stgan.config import STGANConfig
from stgan.train import build, checkpoint_name, train


class TestDriverContract(testing.TFTrainingContract):
    """Non-finite stop (one line, last good checkpoint kept, null logged), Ctrl-C saves and resumes,
    save -> load restores every variable (G, D, both Adams, the generator), and the random stream of
    an interrupted run equals an uninterrupted one's (the target shuffles and GP alpha).

    The steps run eagerly (conftest ``eager``): the policies do not depend on tracing."""

    @pytest.fixture(autouse=True)
    def _data(self, faces_dir, eager):
        self.data_dir = faces_dir

    def config(self):  # 1 epoch of 4 iterations, saved at its end; no sample strips
        return STGANConfig.tiny(max_train_images=16, n_sample=0)

    def build(self, cfg, run):
        return build(cfg, run, self.data_dir)

    def rng(self, loop):
        return loop.checkpointer.trackables["rng"]


def test_card_checkpoint_names_and_layout(trained):
    exp, summary = trained
    assert summary["status"] == "done" and summary["end"] == 4
    state = json.loads(open(os.path.join(exp, "checkpoints", "checkpoint_state.json")).read())
    assert state["latest"] == "Epoch_(0)_(4of4).ckpt" == checkpoint_name(4, 4)
    assert checkpoint_name(5, 4) == "Epoch_(1)_(1of4).ckpt"
    assert os.listdir(os.path.join(exp, "sample_training")) == ["Epoch_(0)_(4of4).png"]
    records = read_jsonl(os.path.join(exp, "train_log.jsonl"))
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert {"loss/D", "loss/D_gp", "loss/D_wd", "loss/D_att", "loss/G", "loss/G_adv", "loss/G_att",
            "loss/G_rec", "lr", "epoch"} <= set(records[-1])


def test_resume_applies_a_new_lr_and_refuses_a_new_network(trained, faces_dir, tmp_path, eager):
    # the old loop kept the saved config on resume and dropped a new --lr with only a note
    exp = str(tmp_path / "t")
    shutil.copytree(trained[0], exp)
    cfg = STGANConfig.tiny(max_train_images=16, epochs=2, lr=1e-3)
    out = io.StringIO()
    summary = train(cfg, exp, faces_dir, stream=out, tensorboard=False, max_steps=1)
    said = out.getvalue()
    assert "resuming with lr changed: 0.0002 -> 0.001" in said and "epochs changed: 1 -> 2" in said
    assert summary["start"] == 4 and summary["end"] == 5
    last = read_jsonl(os.path.join(exp, "train_log.jsonl"))[-1]
    assert last["step"] == 5 and last["lr"] == pytest.approx(1e-3 / 10)   # epoch 1 >= lr_decay_epoch 1
    with pytest.raises(UserError, match=r"trained with enc_dim=8 but enc_dim=16 was asked for") as err:
        train(cfg.replace(enc_dim=16), exp, faces_dir, stream=io.StringIO(), tensorboard=False)
    assert "\n" not in str(err.value)


def test_nonfinite_exits_2_through_the_cli(faces_dir, tmp_path, monkeypatch, capsys, script, eager):
    # the old loop logged a null record and returned a status (exit 0 from a caller that forgot it)
    from common_tools.errors import run_cli

    def poisoned(cfg, run, data_dir, **kw):
        loop = build(cfg, run, data_dir, **kw)
        step = loop.step
        loop.step = lambda i: {**step(i), "loss/G": float("nan")} if i == 1 else step(i)
        return loop

    monkeypatch.setattr("stgan.train.build", poisoned)
    with pytest.raises(SystemExit) as code:
        run_cli(script("train.py").main, ["--preset", "tiny", "--experiment_name", "nan", "--output_root", str(tmp_path),
                                 "--data_dir", faces_dir, "--max_train_images", "16", "--save_every", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code.value.code == 2 and err[-1].startswith("error: non-finite loss/G at step 2")
    assert "Epoch_(0)_(1of4).ckpt" in err[-1]
    assert read_jsonl(str(tmp_path / "nan" / "train_log.jsonl"))[-1]["nonfinite"] == ["loss/G"]
    assert training.SUMMARY_NAME in os.listdir(tmp_path / "nan")


def test_d_att_warmup_runs_once_before_the_first_iteration(faces_dir, tmp_path, eager):
    cfg = STGANConfig.tiny(max_train_images=16, n_sample=0, epochs=2, d_att_warmup=3, g_rec_warmup=2)
    exp, out = str(tmp_path / "w"), io.StringIO()
    summary = train(cfg, exp, faces_dir, stream=out, tensorboard=False, max_steps=4)
    said = out.getvalue()
    assert summary["end"] == 4 and "warm-up before iteration 1: D attribute BCE" in said
    assert "in 3 updates" in said and "G reconstruction L1" in said and "in 2 updates" in said
    again = io.StringIO()
    summary = train(cfg, exp, faces_dir, stream=again, tensorboard=False, max_steps=1)
    assert summary["start"] == 4 and "resumed from" in again.getvalue()
    assert "warm-up" not in again.getvalue()          # D comes warm out of the checkpoint
