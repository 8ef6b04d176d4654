"""Losses, label rules, one training step, checkpoints (save -> load identical, resume), NaN stop."""

import math
import os

import numpy as np
import pytest
import tensorflow as tf

from common_tools.checkpoint import CheckpointKeeper
from common_tools.errors import UserError
from common_tools.logging import read_jsonl
from common_tools.runs import save_config
from stgan import data as data_lib
from stgan import losses, step
from stgan.config import PAPER_ATTS, STGANConfig


# ---- losses ------------------------------------------------------------------------------------

def test_losses_match_their_formulas():
    real, fake = tf.constant([[1.0], [3.0]]), tf.constant([[0.5], [-0.5]])
    assert float(losses.d_adv_loss(real, fake)) == pytest.approx(-(2.0 - 0.0))
    assert float(losses.g_adv_loss(fake)) == pytest.approx(0.0)
    y, logits = np.array([[1.0, 0.0]], np.float32), np.array([[2.0, -1.0]], np.float32)
    expected = -np.mean([math.log(1 / (1 + math.exp(-2.0))), math.log(1 - 1 / (1 + math.exp(1.0)))])
    assert float(losses.att_bce(y, logits)) == pytest.approx(expected, rel=1e-6)
    assert float(losses.rec_loss(tf.ones([1, 2, 2, 3]), tf.zeros([1, 2, 2, 3]))) == pytest.approx(1.0)


def test_gradient_penalty_of_a_linear_critic():
    # critic(x) = sum(w * x): gradient w everywhere, so GP = (|w| - 1)^2 exactly
    w = tf.constant(np.full([1, 2, 2, 3], 0.5, np.float32))
    critic = lambda x: tf.reduce_sum(w * x, axis=[1, 2, 3])  # noqa: E731
    real, fake = tf.zeros([2, 2, 2, 3]), tf.ones([2, 2, 2, 3])
    gp = losses.gradient_penalty(critic, real, fake, tf.fill([2, 1, 1, 1], 0.3))
    assert float(gp) == pytest.approx((math.sqrt(12 * 0.25) - 1) ** 2, rel=1e-6)


# ---- labels ------------------------------------------------------------------------------------

def test_scaling_and_single_edits_with_conflicts():
    atts = list(PAPER_ATTS)
    a = np.zeros((1, 13), np.float32)
    a[0, atts.index("Black_Hair")] = 1
    a[0, atts.index("Bangs")] = 1
    targets = data_lib.single_edits(a, atts, 0.5, test_int=2.0)
    assert len(targets) == 14
    np.testing.assert_array_equal(targets[0], data_lib.scale(a))  # reconstruction
    blond = targets[1 + atts.index("Blond_Hair")][0]
    assert blond[atts.index("Blond_Hair")] == pytest.approx(1.0)     # flipped on, x test_int 2
    assert blond[atts.index("Black_Hair")] == pytest.approx(-0.5)    # other hair colour cleared
    bald = targets[1 + atts.index("Bald")][0]
    assert bald[atts.index("Bangs")] == pytest.approx(-0.5)          # Bald clears Bangs
    no_bangs = targets[1 + atts.index("Bangs")][0]
    assert no_bangs[atts.index("Bangs")] == pytest.approx(-1.0)      # flipped off, x 2


def test_slide_is_symmetric_and_multi_checks_names():
    atts = list(PAPER_ATTS)
    a = np.zeros((1, 13), np.float32)
    sweep = data_lib.slide_edits(a, atts, "Male", -1.0, 1.0, 5, 0.5)
    values = [t[0, atts.index("Male")] for t in sweep]
    np.testing.assert_allclose(values, [-0.5, -0.25, 0.0, 0.25, 0.5])
    with pytest.raises(UserError, match="unknown attribute name.*Smiling_Wide.*valid: Bald"):
        data_lib.multi_edit(a, atts, ["Smiling_Wide"], [1.0])
    b = data_lib.multi_edit(a, atts, ["Bangs", "Male"], [0.5, 2.0])
    assert b[0, atts.index("Bangs")] == pytest.approx(0.25) and b[0, atts.index("Male")] == pytest.approx(1.0)


# ---- one step ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_batch():
    rng = np.random.default_rng(0)
    return (rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32),
            rng.integers(0, 2, (2, 13)).astype(np.float32))


@pytest.fixture(scope="module")
def stepped(tiny_batch):
    """A tiny model before and after one iteration (2 D updates + 1 G update) on a 2-image batch."""
    tf.random.set_seed(0)
    m = step.build(STGANConfig.tiny(experiment_name="ckpt", n_d=2))
    before = ([w.numpy().copy() for w in m.G.trainable_weights],
              [w.numpy().copy() for w in m.D.trainable_weights])
    return m, before, step.train_step(m, tiny_batch)


def test_train_step_on_two_images(stepped):
    m, (g_before, d_before), out = stepped
    assert set(out) >= {"d_loss", "gp", "wd", "d_att", "g_loss", "g_adv", "g_att", "g_rec"}
    assert all(math.isfinite(v) for v in out.values())
    assert out["g_loss"] == pytest.approx(out["g_adv"] + 10 * out["g_att"] + 100 * out["g_rec"], rel=1e-5)
    assert out["d_loss"] == pytest.approx(-out["wd"] + 10 * out["gp"] + out["d_att"], rel=1e-5)
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(g_before, m.G.trainable_weights))
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(d_before, m.D.trainable_weights))
    assert int(m.d_opt.iterations.numpy()) == 2 and int(m.g_opt.iterations.numpy()) == 1


def test_lr_schedule():
    cfg = STGANConfig.paper()
    assert step.lr_at(cfg, 99) == pytest.approx(2e-4) and step.lr_at(cfg, 100) == pytest.approx(2e-5)


def test_save_load_identical(tmp_path, tiny_batch, stepped):
    from stgan.test import load_generator

    m = stepped[0]  # trained one iteration: weights and BN statistics away from their init
    cfg = m.cfg
    exp = tmp_path / "ckpt"
    save_config(cfg, str(exp))
    CheckpointKeeper(str(exp / "checkpoints"), G=m.G, D=m.D, g_opt=m.g_opt, d_opt=m.d_opt).save(
        1, name="Epoch_(0)_(1of1).ckpt")
    saved = tf.train.load_checkpoint(str(exp / "checkpoints" / "Epoch_(0)_(1of1).ckpt"))
    n_vars = len(m.G.weights) + len(m.D.weights) + len(m.g_opt.variables) + len(m.d_opt.variables)
    assert len([k for k in saved.get_variable_to_shape_map() if k.endswith("VARIABLE_VALUE")]) == n_vars + 1  # + step
    cfg2, G2, prefix = load_generator(str(exp))
    assert cfg2 == cfg and prefix.endswith("Epoch_(0)_(1of1).ckpt")
    x, a = tiny_batch
    diff = data_lib.scale(1 - a) - data_lib.scale(a)
    np.testing.assert_array_equal(m.G(x, diff, training=False).numpy(), G2(x, diff, training=False).numpy())


# ---- the loop: non-finite loss -----------------------------------------------------------------

def test_nonfinite_loss_stops_and_keeps_last_good_checkpoint(tmp_path, faces_dir):
    calls = []

    def flaky(m, batches):
        calls.append(1)
        out = step.train_step(m, batches)
        return {**out, "g_loss": float("nan")} if len(calls) == 2 else out

    from stgan.train import train
    cfg = STGANConfig.tiny(experiment_name="nan", epochs=5, save_every=1, max_train_images=12, n_d=1)
    summary = train(cfg, faces_dir, str(tmp_path), step_fn=flaky)
    assert summary["status"] == "nonfinite" and summary["iterations"] == 1
    assert summary["checkpoint"].endswith(f"Epoch_(0)_(1of{summary['it_per_epoch']}).ckpt")
    records = read_jsonl(os.path.join(tmp_path, "nan", "train_log.jsonl"))
    assert [r["step"] for r in records] == [1, 2] and records[-1]["nonfinite"] == ["g_loss"]
    assert len(calls) == 2
