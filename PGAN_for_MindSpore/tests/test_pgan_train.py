"""Training over the shared driver on the tiny config: the driver's contract (non-finite stop; Ctrl-C
at the end of 4x4 saves, and the resumed run grows to 8x8), a run killed mid-fade equal to a straight
one, and the 4x4 -> 8x8 growth with its fade (G and D keep their layers, the averaged G restarts
from G). GRAPH_MODE for the whole module. (That training imports no TensorFlow is checked in a
fresh process by test_pgan_cli.py.)"""

import json
import os

import mindspore as ms
import numpy as np
import pytest

from common_tools import testing
from common_tools.logging import read_jsonl
from common_tools.ms_checkpoint import read_checkpoint
from pgan import train as pgan_train
from pgan.config import PGANConfig
from pgan.dataset import ImageFolder


@pytest.fixture(autouse=True, scope="module")
def graph_mode():
    previous = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    yield
    ms.set_context(mode=previous)


@pytest.fixture(scope="module")
def data(faces):
    return ImageFolder(faces, seed=1)


class TestDriverContract(testing.TrainingContract):
    """tiny: 2 iterations at 4x4, 3 at 8x8. The Ctrl-C test stops after step 2 and resumes into 8x8."""

    @pytest.fixture(autouse=True)
    def _data(self, data):
        self.data = data

    def config(self):
        return PGANConfig.tiny()

    def build(self, cfg, run):
        return pgan_train.build(cfg, run, data=self.data)


def _run(cfg, run_dir, data, **kw):
    return pgan_train.train(cfg, str(run_dir), data, tensorboard=False, **kw)


def _ckpt(run_dir, name):
    return {k: v.asnumpy() for k, v in read_checkpoint(os.path.join(run_dir, "checkpoints", name)).items()}


CFG = PGANConfig.tiny().replace(model_save_step=1)   # a checkpoint after every iteration


@pytest.fixture(scope="module")
def straight(tmp_path_factory, data):
    run_dir = tmp_path_factory.mktemp("straight")
    summary = _run(CFG, run_dir, data)
    assert summary["status"] == "done" and summary["end"] == 5
    return str(run_dir)


def test_growth_with_fade(straight):
    records = read_jsonl(os.path.join(straight, "train_log.jsonl"))
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5]
    assert [r["scale"] for r in records] == [4, 4, 8, 8, 8]
    assert [r["alpha"] for r in records] == [0.0, 0.0, 1.0, 0.5, 0.0]
    assert all(np.isfinite(r[k]) for r in records for k in ("loss/D", "loss/G", "loss/D_gp"))
    g2, g3, avg3 = _ckpt(straight, "G_2.ckpt"), _ckpt(straight, "G_3.ckpt"), _ckpt(straight, "AvG_3.ckpt")
    d2, d3 = _ckpt(straight, "D_2.ckpt"), _ckpt(straight, "D_3.ckpt")
    assert set(g2) < set(g3) and len(g3) == len(g2) + 6 and set(d2) < set(d3) and len(d3) == len(d2) + 6
    assert set(avg3) == set(g3)
    assert avg3["to_rgb.1.weight"].shape == (3, 4, 1, 1)              # 8x8 toRGB of depth 4
    for key in g2:   # the averaged G restarted from G at the new scale, then one EMA step
        np.testing.assert_allclose(avg3[key], 0.999 * g2[key] + 0.001 * g3[key], rtol=1e-5, atol=1e-6)
    for key in d2:   # D kept its trained 4x4 layers: one Adam step (lr 0.001) away, not re-drawn
        assert np.abs(d3[key] - d2[key]).max() <= 1.01e-3, key
    assert any(np.abs(d3[k] - d2[k]).max() > 0 for k in d2)
    assert os.path.getsize(os.path.join(straight, "checkpoints", "opt_D_3.ckpt")) > 0


def test_resume_mid_fade_continues_scale_alpha_and_step(straight, tmp_path, data, capsys):
    split = tmp_path / "split"
    assert _run(CFG, split, data, max_steps=3)["end"] == 3        # 8x8, alpha 1 done; 0.5 next
    summary = _run(CFG, split, data)
    assert (summary["start"], summary["end"]) == (3, 5)
    assert "resumed from" in capsys.readouterr().err
    a, b = read_jsonl(os.path.join(straight, "train_log.jsonl")), read_jsonl(str(split / "train_log.jsonl"))
    assert [(r["step"], r["scale"], r["alpha"]) for r in a] == [(r["step"], r["scale"], r["alpha"]) for r in b]
    for name in ("G_5.ckpt", "D_5.ckpt", "AvG_5.ckpt", "opt_D_5.ckpt", "opt_G_5.ckpt"):
        want, got = _ckpt(straight, name), _ckpt(str(split), name)
        assert set(want) == set(got)
        for key in want:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-6, atol=1e-7, err_msg=f"{name} {key}")
    states = [json.load(open(os.path.join(d, "checkpoints", f"{n}.manifest.json")))["states"]
              for d, n in ((straight, 5), (str(split), 5), (straight, 3))]
    assert states[0] == states[1]                                  # rng, loss scales, scale count
    assert states[0]["progress"] == {"num_scales": 2}
    assert states[0]["rng"] != states[2]["rng"]                    # the stream moved on: not a constant


def test_a_changed_architecture_is_refused(straight, data):
    from common_tools.errors import UserError

    with pytest.raises(UserError, match=r"depth=\(8, 4\) but depth=\(8, 8\)"):
        _run(CFG.replace(depth=(8, 8)), straight, data)
