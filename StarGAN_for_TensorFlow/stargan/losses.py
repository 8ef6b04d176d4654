"""StarGAN losses: pure functions of scores, logits and images (no networks, no optimisers).

    L_D = L_adv^D + lambda_cls * L_cls^r + lambda_gp * L_gp
    L_G = L_adv^G + lambda_cls * L_cls^f + lambda_rec * L_rec  (+ lambda_id * L_id, off in the paper)
"""

from __future__ import annotations

import tensorflow as tf


def d_adversarial_loss(real_src, fake_src):
    """L_adv^D = -E[D_src(x)] + E[D_src(G(x, c))]   (WGAN critic loss, minimised by D)."""
    return -tf.reduce_mean(real_src) + tf.reduce_mean(fake_src)


def g_adversarial_loss(fake_src):
    """L_adv^G = -E[D_src(G(x, c))]."""
    return -tf.reduce_mean(fake_src)


def classification_loss(logits, labels):
    """L_cls = (1/N) sum_n sum_i BCE(sigmoid(logit_ni), label_ni)  — summed over attributes,
    averaged over the batch (the reference's ``size_average=False`` then ``/ N``)."""
    labels = tf.cast(labels, logits.dtype)
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)   # [N, c_dim]
    return tf.reduce_mean(tf.reduce_sum(bce, axis=1))


def reconstruction_loss(x_real, x_rec):
    """L_rec = E[|x - G(G(x, c_trg), c_org)|]   (L1, mean over all pixels)."""
    return tf.reduce_mean(tf.abs(x_real - x_rec))


def identity_loss(x_real, x_same):
    """L_id = E[|x - G(x, c_org)|]   (L1; asking for the labels it has must change nothing. Not in
    StarGAN: the identity-mapping term of CycleGAN, used here only by the CPU demo preset)."""
    return tf.reduce_mean(tf.abs(x_real - x_same))


def gradient_penalty(grad):
    """L_gp = E[(||grad_x^ D_src(x^)||_2 - 1)^2], with ``grad`` [N, H, W, C] taken at
    x^ = a*x + (1-a)*G(x, c), a ~ U(0, 1) per sample (the L2 norm is per sample)."""
    flat = tf.reshape(grad, [tf.shape(grad)[0], -1])
    norm = tf.sqrt(tf.reduce_sum(tf.square(flat), axis=1))
    return tf.reduce_mean(tf.square(norm - 1.0))
