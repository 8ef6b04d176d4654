"""The training step on a 2-image batch: scalars, which weights move, the frozen Stage-I G, the
checkpointed noise stream, the traced step equal to the eager one, mixed precision."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from stackgan.config import StackGANConfig
from stackgan.networks import stage_networks
from stackgan.step import TrainStep

KEYS = {"loss/D", "loss/D_real", "loss/D_wrong", "loss/D_fake", "loss/G", "loss/G_fake", "loss/KL"}


def batch(cfg, seed=0):
    rng = np.random.default_rng(seed)
    s = cfg.image_size
    return (rng.uniform(-1, 1, (2, s, s, 3)).astype(np.float32),
            rng.uniform(-1, 1, (2, s, s, 3)).astype(np.float32),
            rng.normal(size=(2, cfg.embedding_dim)).astype(np.float32))


def make_step(cfg):
    nets = stage_networks(cfg)
    if cfg.stage == 1:
        return TrainStep(cfg, nets["G1"], nets["D1"])
    return TrainStep(cfg, nets["G2"], nets["D2"], G1=nets["G1"])


def values(model):
    return [v.numpy().copy() for v in model.weights]


def moved(before, model):
    return sum(not np.array_equal(a, b.numpy()) for a, b in zip(before, model.weights))


def test_stage1_step_updates_g_and_d():
    cfg = StackGANConfig.tiny()
    step = make_step(cfg)
    g0, d0 = values(step.G), values(step.D)
    out = step(*batch(cfg))
    assert set(out) == KEYS and all(np.isfinite(v) for v in out.values())
    assert out["loss/G"] == pytest.approx(out["loss/G_fake"] + cfg.kl_coeff * out["loss/KL"], rel=1e-5)
    assert out["loss/D"] == pytest.approx(
        out["loss/D_real"] + (out["loss/D_wrong"] + out["loss/D_fake"]) / 2, rel=1e-5)
    assert moved(g0, step.G) > len(g0) // 2 and moved(d0, step.D) > len(d0) // 2
    assert step.set_learning_rates(3) == {"lr_g": 2e-4 / 8, "lr_d": 2e-4 / 8}   # tiny: halved every epoch
    assert float(step.g_opt.learning_rate) == pytest.approx(2e-4 / 8)


def test_stage2_step_keeps_stage1_frozen():
    cfg = StackGANConfig.tiny().for_stage(2)
    step = make_step(cfg)
    g1, g2 = values(step.G1), values(step.G)
    out = step(*batch(cfg))
    assert set(out) == KEYS and all(np.isfinite(v) for v in out.values())
    assert moved(g1, step.G1) == 0                     # weights and BN statistics untouched
    assert moved(g2, step.G) > len(g2) // 2
    assert set(step.variables()) == {"G1", "G2", "D2", "g_opt", "d_opt", "rng"}
    with pytest.raises(ValueError, match="frozen Stage-I G"):
        TrainStep(cfg, step.G, step.D)


def test_all_noise_comes_from_the_checkpointed_generator():
    cfg = StackGANConfig.tiny()
    step = make_step(cfg)
    emb = tf.constant(batch(cfg)[2])
    state = step.rng.state.numpy().copy()
    a = step.generate(emb, training=False)[0].numpy()
    assert not np.array_equal(step.rng.state.numpy(), state)           # it drew
    step.rng.reset(state)
    b = step.generate(emb, training=False)[0].numpy()
    np.testing.assert_array_equal(a, b)
    c = step.generate(emb, training=False)[0].numpy()                  # the stream moved on
    assert np.abs(a - c).max() > 0


def test_traced_step_equals_eager_step():
    outs = []
    for eager in (True, False):
        keras.utils.set_random_seed(0)                                  # identical initial weights
        cfg = StackGANConfig.tiny().replace(run_eagerly=eager)
        step = make_step(cfg)
        outs.append(step(*batch(cfg)))
    for key in KEYS:
        assert outs[1][key] == pytest.approx(outs[0][key], rel=1e-4, abs=1e-6), key


def test_mixed_precision_step_is_finite():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        cfg = StackGANConfig.tiny().replace(mixed_precision=True)
        step = make_step(cfg)
        assert step.G.fc.compute_dtype == "bfloat16"
        out = step(*batch(cfg))
        assert all(np.isfinite(v) for v in out.values())
    finally:
        keras.mixed_precision.set_global_policy("float32")
