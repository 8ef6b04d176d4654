"""STGAN losses (WGAN-GP + attribute classification + L1 reconstruction), pure functions.

    L_D = -(mean Dadv(xa) - mean Dadv(xb)) + λ_gp·GP(xa, xb) + λ_d_att·BCE(a, Datt(xa))
    L_G = -mean Dadv(xb) + λ_g_att·BCE(b, Datt(xb)) + λ_rec·mean|xa - xa_rec|
with λ_gp = 10, λ_d_att = 1, λ_g_att = 10, λ_rec = 100, xb = G(xa, diff), xa_rec = G(xa, 0).
"""

from __future__ import annotations

import tensorflow as tf


def d_adv_loss(real_score, fake_score):
    """WGAN critic: -(E[Dadv(xa)] - E[Dadv(xb)])."""
    return -(tf.reduce_mean(real_score) - tf.reduce_mean(fake_score))


def g_adv_loss(fake_score):
    """Generator adversarial term: -E[Dadv(xb)]."""
    return -tf.reduce_mean(fake_score)


def att_bce(labels, logits):
    """Attribute BCE, averaged over batch x attributes: -mean(y·log σ(l) + (1-y)·log(1-σ(l))), y ∈ {0,1}."""
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def rec_loss(xa, xa_rec):
    """L1 reconstruction: mean |xa - G(xa, 0)|."""
    return tf.reduce_mean(tf.abs(xa - xa_rec))


def gradient_penalty(critic, real, fake, alpha):
    """WGAN-GP (Gulrajani et al. 2017): E[(‖∇_x̂ Dadv(x̂)‖₂ - 1)²], x̂ = real + α·(fake - real).

    ``critic`` maps images to scores; ``alpha`` [B,1,1,1] uniform in [0,1] (drawn by the caller so
    this stays a pure function of its arguments).
    """
    x_hat = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        score = critic(x_hat)
    grad = tape.gradient(score, x_hat)
    norm = tf.norm(tf.reshape(grad, [tf.shape(grad)[0], -1]), axis=1)
    return tf.reduce_mean((norm - 1.0) ** 2)
