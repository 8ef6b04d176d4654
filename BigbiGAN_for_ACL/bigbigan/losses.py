"""BigBiGAN hinge losses: pure functions of the discriminator's three scores (no networks, no state).

D scores a pair (x, z) three ways: s_x = F(x, y) (image), s_z = H(z) (latent), s_xz = J(F, H) (joint).
Real pairs are (x, E(x)), fake pairs (G(z, y), z), y the real batch's labels:

    L_D  = Σ_{s ∈ {s_x, s_z, s_xz}}  E_real[relu(1 − s)] + E_fake[relu(1 + s)]
    L_GE = Σ_{s ∈ {s_x, s_z, s_xz}}  E_real[s] − E_fake[s]          (minimised by G and E together)

(Donahue & Simonyan 2019, eq. 2-4; the reference's disc_loss / gen_en_loss.) Every score is
[B, 1] (or [B]); sums and means are taken in float32.

    scores_real = D(x, E(x), y)            # (s_x, s_z, s_xz)
    scores_fake = D(G(z, y), z, y)
    d_loss, terms = discriminator_loss(scores_real, scores_fake)   # terms: {"x": .., "z": .., "xz": ..}
    ge_loss = generator_encoder_loss(scores_real, scores_fake)
"""

from __future__ import annotations

import tensorflow as tf

SCORE_NAMES = ("x", "z", "xz")     # the order of D's outputs: s_x, s_z, s_xz


def _f32(score):
    return tf.cast(score, tf.float32)


def hinge_real(score):
    """E[relu(1 − s)]: a real pair is pushed to s ≥ 1."""
    return tf.reduce_mean(tf.nn.relu(1.0 - _f32(score)))


def hinge_fake(score):
    """E[relu(1 + s)]: a fake pair is pushed to s ≤ −1."""
    return tf.reduce_mean(tf.nn.relu(1.0 + _f32(score)))


def discriminator_loss(scores_real, scores_fake):
    """L_D = Σ_s E_real[relu(1 − s)] + E_fake[relu(1 + s)]; returns (L_D, {"x"|"z"|"xz": term}).

    Each term is the hinge loss of one score, real and fake parts together.
    """
    if len(scores_real) != 3 or len(scores_fake) != 3:
        raise ValueError("expected the three scores (s_x, s_z, s_xz) for real and for fake pairs")
    terms = {name: hinge_real(r) + hinge_fake(f)
             for name, r, f in zip(SCORE_NAMES, scores_real, scores_fake)}
    return tf.add_n(list(terms.values())), terms


def generator_encoder_loss(scores_real, scores_fake):
    """L_GE = Σ_s E_real[s] − E_fake[s]: G raises the fake scores, E lowers the real ones."""
    if len(scores_real) != 3 or len(scores_fake) != 3:
        raise ValueError("expected the three scores (s_x, s_z, s_xz) for real and for fake pairs")
    return tf.add_n([tf.reduce_mean(_f32(r)) - tf.reduce_mean(_f32(f))
                     for r, f in zip(scores_real, scores_fake)])
