"""Losses: the matching-aware D loss and the G loss + KL against numpy."""

import numpy as np
import pytest
import tensorflow as tf

from stackgan import losses


def _ce(logits, target):   # -[y log s + (1 - y) log(1 - s)], mean
    s = 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))
    return float(np.mean(-(target * np.log(s) + (1 - target) * np.log(1 - s))))


def test_discriminator_loss_is_real_plus_half_wrong_and_fake():
    rng = np.random.default_rng(0)
    real, wrong, fake = (rng.normal(size=(5, 1)).astype(np.float32) for _ in range(3))
    out = losses.discriminator_loss(real, wrong, fake)
    assert float(out["loss/D_real"]) == pytest.approx(_ce(real, 1), rel=1e-5)
    assert float(out["loss/D_wrong"]) == pytest.approx(_ce(wrong, 0), rel=1e-5)
    assert float(out["loss/D_fake"]) == pytest.approx(_ce(fake, 0), rel=1e-5)
    assert float(out["loss/D"]) == pytest.approx(_ce(real, 1) + (_ce(wrong, 0) + _ce(fake, 0)) / 2,
                                                 rel=1e-5)
    plain = losses.discriminator_loss(real, wrong, fake, b_wrong=False)
    assert float(plain["loss/D"]) == pytest.approx(_ce(real, 1) + _ce(fake, 0), rel=1e-5)


def test_a_confident_right_discriminator_has_a_small_loss():
    big = np.full((4, 1), 8.0, np.float32)
    assert float(losses.discriminator_loss(big, -big, -big)["loss/D"]) < 1e-3
    assert float(losses.discriminator_loss(-big, big, big)["loss/D"]) > 10   # fooled: large
    assert float(losses.generator_loss(big, None, None)["loss/G"]) < 1e-3


def test_generator_loss_adds_kl_times_its_weight():
    rng = np.random.default_rng(1)
    fake = rng.normal(size=(3, 1)).astype(np.float32)
    mu, s = rng.normal(size=(3, 4)), rng.uniform(0.5, 2.0, size=(3, 4))
    kl = np.mean(np.log(1 / s) + (s ** 2 + mu ** 2) / 2 - 0.5)
    out = losses.generator_loss(fake, tf.constant(mu, tf.float32), tf.constant(np.log(s), tf.float32),
                                kl_coeff=2.0)
    assert float(out["loss/KL"]) == pytest.approx(kl, rel=1e-5)
    assert float(out["loss/G_fake"]) == pytest.approx(_ce(fake, 1), rel=1e-5)
    assert float(out["loss/G"]) == pytest.approx(_ce(fake, 1) + 2.0 * kl, rel=1e-5)
    no_ca = losses.generator_loss(fake, None, None, kl_coeff=2.0)   # c = mu: no KL term
    assert float(no_ca["loss/KL"]) == 0.0 and float(no_ca["loss/G"]) == pytest.approx(_ce(fake, 1), rel=1e-5)
