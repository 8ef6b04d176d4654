"""One STGAN training iteration: n_d critic updates (each on a fresh batch), then one G update.

    a ∈ {0,1}^n_att, b = a shuffled over the batch, a_ = (a·2−1)·thres_int, b_ = (b·2−1)·thres_int
    xb = G(xa, b_ − a_)            edited image
    xa_rec = G(xa, 0)              reconstruction
    L_D, L_G as in losses.py; Adam(lr, β1 0.5, β2 0.999).
Every random draw of the step (the target shuffles, the gradient-penalty α) comes from ``m.rng``, a
``tf.random.Generator`` kept in the checkpoint, so a resumed run draws what an uninterrupted one
would. Scalars: ``loss/D`` = −``loss/D_wd`` + λ_gp·``loss/D_gp`` + λ_d_att·``loss/D_att`` and
``loss/G`` = ``loss/G_adv`` + λ_g_att·``loss/G_att`` + λ_rec·``loss/G_rec``.

    m = build(STGANConfig.tiny())
    scalars = train_step(m, (xa, a))       # a (images, labels) pair reused, or an iterator of them
"""

from __future__ import annotations

import dataclasses
import itertools

import keras
import tensorflow as tf

from . import losses
from .networks import build_networks


@dataclasses.dataclass
class STGAN:
    """The trainable state: config, G, D, their optimizers and the step's random generator."""
    cfg: object
    G: keras.Model
    D: keras.Model
    g_opt: keras.optimizers.Optimizer
    d_opt: keras.optimizers.Optimizer
    rng: tf.random.Generator

    def set_lr(self, lr: float) -> None:
        self.g_opt.learning_rate.assign(lr)
        self.d_opt.learning_rate.assign(lr)


def _adam(cfg, name):
    return keras.optimizers.Adam(learning_rate=cfg.lr, beta_1=cfg.beta1, beta_2=cfg.beta2,
                                 epsilon=cfg.adam_eps, name=name)  # a stable name: stable variable paths


def build(cfg) -> STGAN:
    """Networks (initial weights from ``cfg.seed``), optimizers with their slots created (so
    checkpoints restore them) and the step's generator seeded with ``cfg.seed``."""
    keras.utils.set_random_seed(cfg.seed)  # initial weights only: the step never draws from it
    G, D = build_networks(cfg)
    model = STGAN(cfg, G, D, _adam(cfg, "G_adam"), _adam(cfg, "D_adam"),
                  tf.random.Generator.from_seed(cfg.seed))
    model.g_opt.build(G.trainable_variables)
    model.d_opt.build(D.trainable_variables)
    return model


def lr_at(cfg, epoch: int) -> float:
    """Adam lr for a 0-based epoch: lr, then lr/10 from lr_decay_epoch on."""
    return cfg.lr if epoch < cfg.lr_decay_epoch else cfg.lr / 10.0


def _targets(m: STGAN, a):
    """b = a with its rows shuffled (a permutation drawn from m.rng); returns (b, b_ − a_)."""
    b = tf.gather(a, tf.argsort(m.rng.uniform([tf.shape(a)[0]])))
    a_ = (a * 2.0 - 1.0) * m.cfg.thres_int
    b_ = (b * 2.0 - 1.0) * m.cfg.thres_int
    return b, b_ - a_


def _d_update(m: STGAN, xa, a):
    cfg = m.cfg
    _, diff = _targets(m, a)
    xb = m.G(xa, diff, training=True)
    alpha = m.rng.uniform([tf.shape(xa)[0], 1, 1, 1])
    with tf.GradientTape() as tape:
        real_adv, real_att = m.D(xa)
        fake_adv, _ = m.D(xb)
        d_adv = losses.d_adv_loss(real_adv, fake_adv)
        gp = losses.gradient_penalty(lambda x: m.D(x)[0], xa, xb, alpha)
        d_att = losses.att_bce(a, real_att)
        d_loss = d_adv + cfg.lambda_gp * gp + cfg.lambda_d_att * d_att
    grads = tape.gradient(d_loss, m.D.trainable_variables)
    m.d_opt.apply_gradients(zip(grads, m.D.trainable_variables))
    return {"loss/D": d_loss, "loss/D_wd": -d_adv, "loss/D_gp": gp, "loss/D_att": d_att}


def _g_update(m: STGAN, xa, a):
    cfg = m.cfg
    b, diff = _targets(m, a)
    with tf.GradientTape() as tape:
        xb = m.G(xa, diff, training=True)
        xa_rec = m.G(xa, tf.zeros_like(diff), training=True)
        fake_adv, fake_att = m.D(xb)
        g_adv = losses.g_adv_loss(fake_adv)
        g_att = losses.att_bce(b, fake_att)
        g_rec = losses.rec_loss(xa, xa_rec)
        g_loss = g_adv + cfg.lambda_g_att * g_att + cfg.lambda_rec * g_rec
    grads = tape.gradient(g_loss, m.G.trainable_variables)
    m.g_opt.apply_gradients(zip(grads, m.G.trainable_variables))
    return {"loss/G": g_loss, "loss/G_adv": g_adv, "loss/G_att": g_att, "loss/G_rec": g_rec}


def compiled(m: STGAN):
    """(d_update, g_update) as tf.functions (traced once per input shape)."""
    if not hasattr(m, "_compiled"):
        m._compiled = (tf.function(lambda xa, a: _d_update(m, xa, a)),
                       tf.function(lambda xa, a: _g_update(m, xa, a)))
    return m._compiled


def train_step(m: STGAN, batches) -> dict:
    """One iteration: ``cfg.n_d`` D updates then one G update, each on the next (xa, a) batch.

    ``batches``: an iterator of (images [B,H,W,3] in [-1,1], labels [B,n_att] 0/1), or a single
    (xa, a) pair reused for every update. Returns the scalars of the last D and the G update.
    """
    if isinstance(batches, tuple):
        batches = itertools.repeat(batches)
    d_update, g_update = compiled(m)
    for _ in range(m.cfg.n_d):
        xa, a = next(batches)
        d_out = d_update(tf.convert_to_tensor(xa, tf.float32), tf.convert_to_tensor(a, tf.float32))
    xa, a = next(batches)
    g_out = g_update(tf.convert_to_tensor(xa, tf.float32), tf.convert_to_tensor(a, tf.float32))
    return {k: float(v) for k, v in {**d_out, **g_out}.items()}
