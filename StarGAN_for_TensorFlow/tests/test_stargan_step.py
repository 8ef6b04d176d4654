"""Losses and one training iteration on a 2-image batch."""

import numpy as np
import pytest
import tensorflow as tf

from common_tools.errors import UserError
from stargan import losses
from stargan.config import StarGANConfig
from stargan.networks import build_discriminator, build_generator
from stargan.step import TrainStep, learning_rate


def test_classification_loss_sums_attributes_and_averages_batch():
    logits = tf.constant([[0.0, 0.0], [0.0, 0.0]])
    labels = tf.constant([[1.0, 0.0], [0.0, 1.0]])
    assert float(losses.classification_loss(logits, labels)) == pytest.approx(2 * np.log(2), rel=1e-6)


def test_gradient_penalty_zero_at_unit_norm():
    g = np.zeros((2, 2, 2, 1), "float32")
    g[0, 0, 0, 0] = 1.0
    g[1, 1, 1, 0] = -1.0
    assert float(losses.gradient_penalty(tf.constant(g))) == pytest.approx(0.0)
    assert float(losses.gradient_penalty(tf.constant(2 * g))) == pytest.approx(1.0)


def test_adversarial_and_reconstruction_losses():
    assert float(losses.d_adversarial_loss(tf.constant([1.0, 3.0]), tf.constant([0.5]))) == -1.5
    assert float(losses.g_adversarial_loss(tf.constant([2.0]))) == -2.0
    assert float(losses.reconstruction_loss(tf.zeros([2, 3]), -tf.ones([2, 3]))) == 1.0
    assert float(losses.identity_loss(tf.zeros([2, 2]), tf.constant([[0.0, 2.0], [0.0, -2.0]]))) == 1.0


def test_learning_rate_schedule_is_the_papers():
    cfg = StarGANConfig.paper()
    assert learning_rate(1e-4, 0, cfg) == 1e-4
    assert learning_rate(1e-4, 100_999, cfg) == 1e-4
    assert learning_rate(1e-4, 150_000, cfg) == pytest.approx(0.5e-4)
    assert learning_rate(1e-4, 150_999, cfg) == pytest.approx(0.5e-4)    # updated every 1000
    assert learning_rate(1e-4, 199_999, cfg) == pytest.approx(1e-4 * 1_000 / 100_000)


def test_c_dim_is_derived_from_selected_attrs():
    """Probe: c_dim was a field that had to equal len(selected_attrs); now it is their number."""
    import dataclasses

    cfg = StarGANConfig.tiny().replace(selected_attrs=("Male", "Young"))
    assert cfg.c_dim == 2 and StarGANConfig().c_dim == 5
    assert "c_dim" not in {f.name for f in dataclasses.fields(StarGANConfig)}
    with pytest.raises(UserError, match="distinct"):
        StarGANConfig(selected_attrs=("Male", "Male"))


def test_no_test_hook_in_config_or_step():
    """Probe: inject_nan_at was a config field (saved in every config.json) with a branch in the
    compiled step; faults are injected with the driver's step_hook now."""
    import dataclasses

    from stargan import step as step_module

    assert "inject_nan_at" not in {f.name for f in dataclasses.fields(StarGANConfig)}
    assert not hasattr(step_module, "named_weights")


@pytest.fixture(scope="module")
def batch():
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    c = np.array([[1, 0, 0, 1, 0], [0, 1, 0, 0, 1]], "float32")
    return x, c


def test_one_iteration_updates_d_then_g(batch):
    cfg = StarGANConfig.tiny()
    G, D = build_generator(cfg), build_discriminator(cfg)
    step = TrainStep(cfg, G, D)
    g0 = [np.array(v) for v in G.trainable_variables]
    d0 = [np.array(v) for v in D.trainable_variables]
    out = step(*batch, iteration=0)                          # n_critic 2: D only
    assert set(out) == {"loss/D", "loss/D_real", "loss/D_fake", "loss/D_cls", "loss/D_gp"}
    assert all(np.isfinite(v) for v in out.values())
    assert any(not np.array_equal(a, np.array(v)) for a, v in zip(d0, D.trainable_variables))
    assert all(np.array_equal(a, np.array(v)) for a, v in zip(g0, G.trainable_variables))
    out = step(*batch, iteration=1)                          # D and G
    assert {"loss/G", "loss/G_fake", "loss/G_rec", "loss/G_cls"} <= set(out)
    assert all(np.isfinite(v) for v in out.values())
    assert all(not np.array_equal(a, np.array(v)) for a, v in zip(g0, G.trainable_variables))
    # the total is the weighted sum of its terms
    assert out["loss/G"] == pytest.approx(out["loss/G_fake"] + 10 * out["loss/G_rec"]
                                          + out["loss/G_cls"], rel=1e-5)
    # the D and the G update, each traced once
    step(*batch, iteration=2)
    step(*batch, iteration=3)
    assert step._d_step.experimental_get_tracing_count() == step._g_step.experimental_get_tracing_count() == 1


def test_identity_loss_is_in_g_total_only_when_weighted(batch):
    cfg = StarGANConfig.tiny().replace(lambda_id=3.0)
    G, D = build_generator(cfg), build_discriminator(cfg)
    out = TrainStep(cfg, G, D)(*batch, iteration=1)
    assert out["loss/G_id"] > 0
    assert out["loss/G"] == pytest.approx(out["loss/G_fake"] + 10 * out["loss/G_rec"] + out["loss/G_cls"]
                                          + 3 * out["loss/G_id"], rel=1e-5)
    with pytest.raises(UserError, match="lambda_id"):
        StarGANConfig.tiny().replace(lambda_id=-1.0)


def test_learning_rate_reaches_the_optimizers(batch):
    cfg = StarGANConfig.tiny()
    step = TrainStep(cfg, build_generator(cfg), build_discriminator(cfg))
    step.set_learning_rates(3)                               # T=4, decay 2, update 1: lr * 1/2
    assert float(step.g_opt.learning_rate) == pytest.approx(cfg.g_lr / 2)
    assert float(step.d_opt.learning_rate) == pytest.approx(cfg.d_lr / 2)


def test_mixed_precision_step_is_finite(batch):
    """The CPU mixed policy (bfloat16 compute, float32 weights) runs the same step."""
    import keras

    from common_tools.device import set_mixed_precision

    try:
        assert set_mixed_precision(True, "cpu") == "mixed_bfloat16"
        cfg = StarGANConfig.tiny().replace(mixed_precision=True)
        G, D = build_generator(cfg), build_discriminator(cfg)
        assert G.compute_dtype == "bfloat16" and G.trainable_variables[0].dtype == "float32"
        out = TrainStep(cfg, G, D)(*batch, iteration=1)
        assert "loss/G" in out and all(np.isfinite(v) for v in out.values())
    finally:
        keras.mixed_precision.set_global_policy("float32")
