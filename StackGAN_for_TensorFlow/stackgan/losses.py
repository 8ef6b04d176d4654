"""StackGAN losses: pure functions of discriminator logits and CA statistics (no networks, no state).

The matching-aware GAN loss of the paper (Sec. 3, the reference's ``compute_losses``), with sigmoid
cross-entropy CE(l, y) = -[y log s(l) + (1 - y) log(1 - s(l))], averaged over the batch:

    L_D = CE(D(x, phi), 1) + 1/2 [ CE(D(x_w, phi), 0) + CE(D(G(z, c), phi), 0) ]
    L_G = CE(D(G(z, c), phi), 1) + lambda_KL * KL(N(mu(phi), sigma(phi)) || N(0, I))

x is a real image with its own text embedding phi, x_w a real image of another class paired with
that text ("wrong"), lambda_KL = 2. Both stages use the same losses (Stage-II on 256 px images).

    d = discriminator_loss(real_logit, wrong_logit, fake_logit)     # {"loss/D": ..., "loss/D_real": ...}
    g = generator_loss(fake_logit, mu, log_sigma, kl_coeff=2.0)     # {"loss/G": ..., "loss/KL": ...}
"""

from __future__ import annotations

import tensorflow as tf

from .networks import kl_loss

__all__ = ["cross_entropy", "discriminator_loss", "generator_loss", "kl_loss"]


def cross_entropy(logits, target: float):
    """CE(l, y) = mean over the batch of -[y log sigmoid(l) + (1 - y) log(1 - sigmoid(l))], y constant."""
    logits = tf.cast(logits, tf.float32)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(logits), tf.constant(target, tf.float32)), logits=logits))


def discriminator_loss(real_logit, wrong_logit, fake_logit, b_wrong: bool = True) -> dict:
    """L_D = CE(real, 1) + 1/2 [CE(wrong, 0) + CE(fake, 0)]   (b_wrong, the reference's default)
       L_D = CE(real, 1) + CE(fake, 0)                         (b_wrong=False: no mismatched pairs)

    Returns {"loss/D", "loss/D_real", "loss/D_wrong", "loss/D_fake"} (the three CE terms as they are).
    """
    real = cross_entropy(real_logit, 1.0)
    wrong = cross_entropy(wrong_logit, 0.0)
    fake = cross_entropy(fake_logit, 0.0)
    total = real + (wrong + fake) / 2.0 if b_wrong else real + fake
    return {"loss/D": total, "loss/D_real": real, "loss/D_wrong": wrong, "loss/D_fake": fake}


def generator_loss(fake_logit, mu, log_sigma, kl_coeff: float = 2.0) -> dict:
    """L_G = CE(D(G(z, c), phi), 1) + kl_coeff * KL, with
       KL = mean(-log_sigma + 1/2 (-1 + exp(2 log_sigma) + mu^2))   (over batch and c_dim).

    ``mu`` None means no conditioning augmentation (c = mu, no KL term: the reference's
    COND_AUGMENTATION False). Returns {"loss/G" (the total), "loss/G_fake", "loss/KL"}.
    """
    fake = cross_entropy(fake_logit, 1.0)
    kl = (tf.constant(0.0) if mu is None else
          kl_loss(tf.cast(mu, tf.float32), tf.cast(log_sigma, tf.float32)))
    return {"loss/G": fake + kl_coeff * kl, "loss/G_fake": fake, "loss/KL": kl}
