"""One STGAN training iteration: n_d critic updates (each on a fresh batch), then one G update.

    a ∈ {0,1}^n_att, b = a shuffled over the batch, a_ = (a·2−1)·thres_int, b_ = (b·2−1)·thres_int
    xb = G(xa, b_ − a_)            edited image
    xa_rec = G(xa, 0)              reconstruction
    L_D, L_G as in losses.py; Adam(lr, β1 0.5, β2 0.999).
With ``cfg.d_augment`` (off in the paper) D sees every real and fake image mirrored and/or moved,
the same for its penalty, and G's loss is taken through the same kind of augmentation (``augment``).
Every random draw of the step (the target shuffles, the gradient-penalty α) comes from ``m.rng``, a
``tf.random.Generator`` kept in the checkpoint, so a resumed run draws what an uninterrupted one
would. Scalars: ``loss/D`` = −``loss/D_wd`` + λ_gp·``loss/D_gp`` + λ_d_att·``loss/D_att`` and
``loss/G`` = ``loss/G_adv`` + λ_g_att·``loss/G_att`` + λ_rec·``loss/G_rec``.

    m = build(STGANConfig.tiny())
    scalars = train_step(m, (xa, a))       # a (images, labels) pair reused, or an iterator of them

Data parallel (``build(cfg, dist)``, a ``common_tools.distribute.Distribution``): every batch is
the GLOBAL batch (``cfg.batch_size`` per replica x the replicas, the same on every worker); the
target shuffle and the GP's alpha are drawn for the whole global batch from ``m.rng`` (made outside
the strategy scope, identical on every worker) and each replica takes its slice, so N replicas
compute what one device does on the global batch. Each replica's losses are its means times
1/replicas (the global-batch average), the gradient penalty is per replica (per sample), gradients
are summed across replicas, the scalars returned are global-batch means. Batch norm (in G's
encoder/decoder) is switched to synchronized statistics over the global batch
(``common_tools.distribute.sync_batch_norm``): the same normalisation and the same moving averages
as one device, on every replica.
"""

from __future__ import annotations

import dataclasses
import itertools

import keras
import tensorflow as tf

from . import losses
from .data import conflict_matrix
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
    dist: object = None                    # common_tools.distribute.Distribution (None: one device)

    def set_lr(self, lr: float) -> None:
        self.g_opt.learning_rate.assign(lr)
        self.d_opt.learning_rate.assign(lr)


def _adam(cfg, name):
    return keras.optimizers.Adam(learning_rate=cfg.lr, beta_1=cfg.beta1, beta_2=cfg.beta2,
                                 epsilon=cfg.adam_eps, name=name)  # a stable name: stable variable paths


def build(cfg, dist=None) -> STGAN:
    """Networks (initial weights from ``cfg.seed``), optimizers with their slots created (so
    checkpoints restore them) and the step's generator seeded with ``cfg.seed``; ``dist``: the
    data-parallel strategy (networks and optimizers are made in its scope)."""
    from common_tools.distribute import Distribution, sync_batch_norm

    dist = dist or Distribution("one")
    keras.utils.set_random_seed(cfg.seed)  # initial weights only: the step never draws from it
    rng = tf.random.Generator.from_seed(cfg.seed)   # outside the scope: one stream on every worker
    with dist.scope():
        G, D = build_networks(cfg)
        model = STGAN(cfg, G, D, _adam(cfg, "G_adam"), _adam(cfg, "D_adam"), rng, dist)
        model.g_opt.build(G.trainable_variables)
        model.d_opt.build(D.trainable_variables)
    if dist.replicas > 1:
        sync_batch_norm(G, D)
    return model


def lr_at(cfg, epoch: int) -> float:
    """Adam lr for a 0-based epoch: lr, then lr/10 from lr_decay_epoch on."""
    return cfg.lr if epoch < cfg.lr_decay_epoch else cfg.lr / 10.0


def _targets(m: STGAN, a):
    """b = a with its rows shuffled (a permutation drawn from m.rng); with ``cfg.flip_targets`` > 0
    that share of the rows (the first ones, after the shuffle draw) instead gets b = a with one
    attribute, drawn uniformly, flipped and the attributes it rules out cleared (the test's single
    edits). Returns (b, b_ − a_)."""
    b = tf.gather(a, tf.argsort(m.rng.uniform([tf.shape(a)[0]])))
    if m.cfg.flip_targets > 0:
        n = m.cfg.n_att
        which = tf.one_hot(tf.cast(m.rng.uniform([tf.shape(a)[0]]) * n, tf.int32), n)   # [B, n_att]
        flipped = a + which * (1.0 - 2.0 * a)
        now_on = tf.reduce_sum(which * flipped, axis=1, keepdims=True)                  # flipped to 1
        flipped *= 1.0 - now_on * tf.matmul(which, tf.constant(conflict_matrix(m.cfg.atts)))
        rows = tf.range(tf.shape(a)[0])
        is_flip = tf.cast(rows < tf.cast(tf.round(m.cfg.flip_targets * tf.cast(tf.shape(a)[0], tf.float32)),
                                         tf.int32), tf.float32)[:, None]
        b = is_flip * flipped + (1.0 - is_flip) * b
    a_ = (a * 2.0 - 1.0) * m.cfg.thres_int
    b_ = (b * 2.0 - 1.0) * m.cfg.thres_int
    return b, b_ - a_


def _dist(m: STGAN):
    if m.dist is None:
        from common_tools.distribute import Distribution

        m.dist = Distribution("one")
    return m.dist


def augment(x, draws):
    """x [B,H,W,C] as D sees it under ``cfg.d_augment``; draws [B,3] per image (flip 0/1, dy, dx):
    mirrored left-right where flip is 1, then moved by (dy, dx) pixels with zeros shifted in.
    Both keep every attribute label true and are differentiable in x (DiffAugment: G's gradient
    goes through the same augmentation)."""
    flip, dy, dx = tf.unstack(draws, axis=1)
    x = tf.where(flip[:, None, None, None] > 0.5, tf.reverse(x, [2]), x)
    h, w = tf.shape(x)[1], tf.shape(x)[2]
    rows = tf.clip_by_value(tf.range(h)[None, :] - tf.cast(dy, tf.int32)[:, None] + 1, 0, h + 1)
    cols = tf.clip_by_value(tf.range(w)[None, :] - tf.cast(dx, tf.int32)[:, None] + 1, 0, w + 1)
    x = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])                # the zero border read when out of range
    x = tf.gather(x, rows, axis=1, batch_dims=1)                   # [B,H,W+2,C]
    return tf.gather(x, cols, axis=2, batch_dims=1)                # [B,H,W,C]


def _augment_draws(m: STGAN, n):
    """() with ``cfg.d_augment`` off (no draw, the paper's stream), else a tuple of one [n,3] draw
    per image from m.rng: flip with probability 1/2, a shift of up to 1/8 of the side each way."""
    augs = m.cfg.augmentations
    if not augs:
        return ()
    flip = tf.cast(m.rng.uniform([n]) < 0.5, tf.float32) * float("flip" in augs)
    limit = (m.cfg.img_size // 8) * int("translation" in augs)
    shift = tf.cast(m.rng.uniform([n, 2], -limit, limit + 1, dtype=tf.int32), tf.float32)
    return (tf.concat([flip[:, None], shift], axis=1),)


def _seen(x, draws):
    return augment(x, draws[0]) if draws else x


def _d_update(m: STGAN, xa, a):
    """Draws for the global batch (targets, alpha, then D's augmentations of the real and the
    fake batch when on), then the update on every replica."""
    _, diff = _targets(m, a)
    n = tf.shape(xa)[0]
    alpha = m.rng.uniform([n, 1, 1, 1])
    draws = _augment_draws(m, n) + _augment_draws(m, n)
    dist = _dist(m)
    return dist.sum(dist.run(lambda *t: _d_replica(m, *t), xa, a, diff, alpha, *draws))


def _d_replica(m: STGAN, xa, a, diff, alpha, *draws):
    cfg, dist = m.cfg, m.dist
    xa, a, diff, alpha, *draws = dist.local(xa, a, diff, alpha, *draws)   # this replica's slice
    xb = m.G(xa, diff, training=True)
    if draws:                                                      # D sees both augmented (the GP too)
        xa, xb = augment(xa, draws[0]), augment(xb, draws[1])
    with tf.GradientTape() as tape:
        real_adv, real_att = m.D(xa)
        fake_adv, _ = m.D(xb)
        d_adv = losses.d_adv_loss(real_adv, fake_adv)
        gp = losses.gradient_penalty(lambda x: m.D(x)[0], xa, xb, alpha)
        d_att = losses.att_bce(a, real_att)
        d_loss = d_adv + cfg.lambda_gp * gp + cfg.lambda_d_att * d_att
        share = dist.average(d_loss)                               # of the global-batch mean
    grads = tape.gradient(share, m.D.trainable_variables)
    dist.apply(m.d_opt, grads, m.D.trainable_variables)
    return {k: dist.average(v) for k, v in
            {"loss/D": d_loss, "loss/D_wd": -d_adv, "loss/D_gp": gp, "loss/D_att": d_att}.items()}


def _g_update(m: STGAN, xa, a):
    b, diff = _targets(m, a)
    draws = _augment_draws(m, tf.shape(xa)[0])
    dist = _dist(m)
    return dist.sum(dist.run(lambda *t: _g_replica(m, *t), xa, a, b, diff, *draws))


def _g_replica(m: STGAN, xa, a, b, diff, *draws):
    cfg, dist = m.cfg, m.dist
    xa, a, b, diff, *draws = dist.local(xa, a, b, diff, *draws)
    with tf.GradientTape() as tape:
        xb = m.G(xa, diff, training=True)
        xa_rec = m.G(xa, tf.zeros_like(diff), training=True)
        fake_adv, fake_att = m.D(_seen(xb, draws))
        g_adv = losses.g_adv_loss(fake_adv)
        g_att = losses.att_bce(b, fake_att)
        g_rec = losses.rec_loss(xa, xa_rec)
        g_loss = g_adv + cfg.lambda_g_att * g_att + cfg.lambda_rec * g_rec
        share = dist.average(g_loss)
    grads = tape.gradient(share, m.G.trainable_variables)
    dist.apply(m.g_opt, grads, m.G.trainable_variables)
    return {k: dist.average(v) for k, v in
            {"loss/G": g_loss, "loss/G_adv": g_adv, "loss/G_att": g_att, "loss/G_rec": g_rec}.items()}


def _d_att_replica(m: STGAN, xa, a):
    cfg, dist = m.cfg, m.dist
    xa, a = dist.local(xa, a)
    with tf.GradientTape() as tape:
        _, real_att = m.D(xa, training=True)
        d_att = losses.att_bce(a, real_att)
        share = dist.average(cfg.lambda_d_att * d_att)
    grads = tape.gradient(share, m.D.trainable_variables)
    pairs = [(g, v) for g, v in zip(grads, m.D.trainable_variables) if g is not None]  # not Dadv's head
    dist.apply(m.d_opt, [g for g, _ in pairs], [v for _, v in pairs])
    return {"loss/D_att": dist.average(d_att)}


def _g_rec_replica(m: STGAN, xa, a):
    cfg, dist = m.cfg, m.dist
    xa, a = dist.local(xa, a)
    with tf.GradientTape() as tape:
        g_rec = losses.rec_loss(xa, m.G(xa, tf.zeros_like(a), training=True))
        share = dist.average(cfg.lambda_rec * g_rec)
    grads = tape.gradient(share, m.G.trainable_variables)
    dist.apply(m.g_opt, grads, m.G.trainable_variables)
    return {"loss/G_rec": dist.average(g_rec)}


_WARMUPS = {"loss/D_att": _d_att_replica, "loss/G_rec": _g_rec_replica}


def _warmup(m: STGAN, term: str, batches, steps: int) -> tuple[float, float]:
    """``steps`` updates on one loss ``term`` alone; the term's value at the first and the last."""
    cache = m.__dict__.setdefault("_compiled_warmups", {})     # one tf.function per term and model
    if term not in cache:
        dist, replica = _dist(m), _WARMUPS[term]
        cache[term] = tf.function(lambda xa, a: dist.sum(dist.run(lambda *t: replica(m, *t), xa, a)))
    if isinstance(batches, tuple):
        batches = itertools.repeat(batches)
    values = []
    for _ in range(steps):
        xa, a = next(batches)
        values.append(float(cache[term](tf.convert_to_tensor(xa, tf.float32), tf.convert_to_tensor(a, tf.float32))[term]))
    return (values[0], values[-1]) if values else (float("nan"), float("nan"))


def d_att_warmup(m: STGAN, batches, steps: int) -> tuple[float, float]:
    """``steps`` updates of D on its attribute term alone, λ_d_att·BCE(a, Datt(xa)), on real
    batches (no G, no adversarial term, no penalty), before the first GAN iteration: G's
    attribute loss then starts from a classifier that reads the attributes instead of one that G
    can satisfy with changes no other classifier sees. Off in the paper (``cfg.d_att_warmup`` 0);
    one of the demo's levers (README). Returns the BCE of the first and the last update."""
    return _warmup(m, "loss/D_att", batches, steps)


def g_rec_warmup(m: STGAN, batches, steps: int) -> tuple[float, float]:
    """``steps`` updates of G on its reconstruction term alone, λ_rec·|xa − G(xa, 0)|, before the
    first GAN iteration (no D): the GAN's iterations then go to the edits, not to learning to
    redraw the face. Off in the paper (``cfg.g_rec_warmup`` 0); one of the demo's levers (README).
    Returns the L1 of the first and the last update."""
    return _warmup(m, "loss/G_rec", batches, steps)


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
