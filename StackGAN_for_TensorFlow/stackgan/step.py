"""One StackGAN training iteration: a D update, then a G update, on one batch (the reference's order).

    step = TrainStep(cfg, G=G1, D=D1)                         # Stage-I
    step = TrainStep(cfg, G=G2, D=D2, G1=frozen_stage1_G)     # Stage-II
    scalars = step(images, wrong_images, embeddings)          # {"loss/D": ..., "loss/G": ..., ...}

Each update draws its own noise, as the reference's two ``sess.run`` calls did: z ~ N(0, I) and the
CA's eps ~ truncated N(0, I), all from one ``tf.random.Generator`` that the checkpoint keeps (so a
resumed run draws the same stream). Stage-II draws (z, eps) for the frozen Stage-I G and its own eps.

The frozen Stage-I G runs in inference mode (moving BN statistics, no updates), so Stage-II G
learns on the same low-resolution images it gets at test time. G runs in training mode (batch
statistics) in both updates, D in all of its calls, as in the reference (prettytensor's train phase).

Data parallel (``dist``, a ``common_tools.distribute.Distribution``; default one device): the
batch given is the GLOBAL batch (``cfg.batch_size`` per replica x the replicas, the same on every
worker). The noise (z, eps, Stage-II's second eps) is drawn for the whole global batch from
``self.rng`` (made outside the strategy scope: one stream, identical on every worker) and each
replica takes its slice, so N replicas draw and compute what one device does on the global batch.
Each replica's losses are its means times 1/replicas, gradients are summed across replicas, the
scalars returned are global-batch means. Batch norm (G and D of both stages) is switched to
synchronized statistics over the global batch (``common_tools.distribute.sync_batch_norm``): the
same normalisation and moving averages as one device, on every replica. Stage-II's Stage-I G stays
frozen (inference mode: its moving statistics, nothing to synchronise). Build G, D (and G1) inside
``dist.scope()`` and the TrainStep outside it (it opens the scope for its optimizers itself).

``cfg.mixed_precision`` needs the Keras policy set before the networks are built
(``common_tools.device.set_mixed_precision``); under ``mixed_float16`` both Adams are loss-scaled.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from . import losses


def learning_rate(base_lr: float, epoch: int, cfg) -> float:
    """The reference's step schedule: halved at every multiple of lr_decay_epoch past the stage's
    first epoch (Stage-I: 50, 100, ...; Stage-II: 700, 800, ... after PRETRAINED_EPOCH 600).

        lr(e) = base * 0.5 ** max(0, floor(e / d) - floor(e0 / d)),  d = lr_decay_epoch, e0 = cfg.start_epoch
    """
    d = cfg.lr_decay_epoch
    return float(base_lr) * 0.5 ** max(0, epoch // d - cfg.start_epoch // d)


def needs_loss_scaling() -> bool:
    return keras.mixed_precision.global_policy().name == "mixed_float16"


def make_optimizer(lr: float, cfg, name: str):
    """Adam(lr, beta1 = cfg.beta1) named ``name`` (stable variable paths: an unnamed one becomes
    adam_3, adam_5, ... with every build in a process); loss-scaled under mixed_float16."""
    opt = keras.optimizers.Adam(learning_rate=lr, beta_1=cfg.beta1, name=name)
    return keras.optimizers.LossScaleOptimizer(opt) if needs_loss_scaling() else opt


class TrainStep:
    """Callable training iteration of one stage over (G, D) and their Adams.

    ``G1``: Stage-II only, the Stage-I generator (loaded by the caller, never trained here).
    """

    def __init__(self, cfg, G, D, G1=None, seed: int | None = None, dist=None):
        from common_tools.distribute import Distribution, sync_batch_norm

        if (cfg.stage == 2) != (G1 is not None):
            raise ValueError("a Stage-II step needs the frozen Stage-I G (G1=...); Stage-I takes none")
        self.cfg, self.G, self.D, self.G1 = cfg, G, D, G1
        if G1 is not None:
            G1.trainable = False
        self.dist = dist or Distribution("one")
        self.loss_scaling = needs_loss_scaling()
        with self.dist.scope():                       # the Adams' slots mirrored like the weights
            self.g_opt = make_optimizer(cfg.generator_lr, cfg, "g_adam")
            self.d_opt = make_optimizer(cfg.discriminator_lr, cfg, "d_adam")
            self.g_opt.build(G.trainable_variables)
            self.d_opt.build(D.trainable_variables)
        if self.dist.replicas > 1:
            sync_batch_norm(G, D)                     # global-batch BN statistics
        self.rng = tf.random.Generator.from_seed(cfg.seed if seed is None else seed)
        self._iteration = (self._train if cfg.run_eagerly else
                           tf.function(self._train, reduce_retracing=True))

    # ---- the maths of one iteration ------------------------------------------------------------
    def _epsilon(self, n):
        """The CA noise eps [n, c_dim] ~ truncated N(0, I); zeros without conditioning augmentation
        (then c = mu). Drawn either way, so the random stream does not depend on the flag."""
        eps = self.rng.truncated_normal([n, self.cfg.c_dim])
        return eps if self.cfg.cond_augmentation else tf.zeros_like(eps)

    def _noise(self, n):
        """One update's draws for n samples: [z, eps] (Stage-I) or [z, eps, eps2] (Stage-II), in
        the order the stream has always been drawn."""
        out = [self.rng.normal([n, self.cfg.z_dim]), self._epsilon(n)]
        return out if self.G1 is None else out + [self._epsilon(n)]

    def _generate(self, embedding, noise, training: bool):
        z, eps = noise[0], noise[1]
        if self.G1 is None:                                               # Stage-I
            return self.G(embedding, z, eps, training=training)
        low_res, _, _ = self.G1(embedding, z, eps, training=False)       # frozen Stage-I G
        return self.G(tf.stop_gradient(low_res), embedding, noise[2], training=training)

    def generate(self, embedding, training: bool):
        """Fake images for ``embedding`` [n, D] with fresh noise: (fake, mu, log_sigma)."""
        return self._generate(embedding, self._noise(tf.shape(embedding)[0]), training)

    def _d_replica(self, images, wrong_images, embedding, *noise):
        dist = self.dist
        images, wrong_images, embedding, *noise = dist.local(images, wrong_images, embedding, *noise)
        fake, _, _ = self._generate(embedding, noise, training=True)     # no gradient to G here
        fake = tf.cast(fake, images.dtype)
        with tf.GradientTape() as tape:
            real_logit = self.D(images, embedding, training=True)
            wrong_logit = self.D(wrong_images, embedding, training=True)
            fake_logit = self.D(fake, embedding, training=True)
            out = losses.discriminator_loss(real_logit, wrong_logit, fake_logit, self.cfg.b_wrong)
            share = dist.average(out["loss/D"])                           # of the global-batch mean
            scaled = self.d_opt.scale_loss(share) if self.loss_scaling else share
        grads = tape.gradient(scaled, self.D.trainable_variables)
        dist.apply(self.d_opt, grads, self.D.trainable_variables)
        return {k: dist.average(v) for k, v in out.items()}

    def _g_replica(self, embedding, *noise):
        dist = self.dist
        embedding, *noise = dist.local(embedding, *noise)
        with tf.GradientTape() as tape:
            fake, mu, log_sigma = self._generate(embedding, noise, training=True)
            fake_logit = self.D(fake, embedding, training=True)
            out = losses.generator_loss(fake_logit, mu if self.cfg.cond_augmentation else None,
                                        log_sigma, self.cfg.kl_coeff)
            share = dist.average(out["loss/G"])
            scaled = self.g_opt.scale_loss(share) if self.loss_scaling else share
        grads = tape.gradient(scaled, self.G.trainable_variables)
        dist.apply(self.g_opt, grads, self.G.trainable_variables)
        return {k: dist.average(v) for k, v in out.items()}

    def _train(self, images, wrong_images, embedding):
        n, dist = tf.shape(embedding)[0], self.dist                       # n: the global batch
        out = dict(dist.sum(dist.run(self._d_replica, images, wrong_images, embedding,
                                     *self._noise(n))))
        out.update(dist.sum(dist.run(self._g_replica, embedding, *self._noise(n))))
        return out

    # ---- the public call -----------------------------------------------------------------------
    def set_learning_rates(self, epoch: int) -> dict:
        """Set both Adams' lr for ``epoch`` (absolute: Stage-II starts at cfg.start_epoch)."""
        lr_g = learning_rate(self.cfg.generator_lr, epoch, self.cfg)
        lr_d = learning_rate(self.cfg.discriminator_lr, epoch, self.cfg)
        self.g_opt.learning_rate.assign(lr_g)
        self.d_opt.learning_rate.assign(lr_d)
        return {"lr_g": lr_g, "lr_d": lr_d}

    def __call__(self, images, wrong_images, embedding) -> dict:
        """One D update then one G update. images / wrong_images [n, S, S, 3] in [-1, 1] (S =
        cfg.image_size), embedding [n, embedding_dim]. Returns python floats: loss/D (and its
        loss/D_real, loss/D_wrong, loss/D_fake), loss/G (= loss/G_fake + kl_coeff * loss/KL)."""
        out = self._iteration(tf.convert_to_tensor(images, tf.float32),
                              tf.convert_to_tensor(wrong_images, tf.float32),
                              tf.convert_to_tensor(embedding, tf.float32))
        return {k: float(v) for k, v in out.items()}

    def variables(self) -> dict:
        """The trackables a checkpoint holds to resume exactly (Keras models as they are): the
        stage's G and D under their stage's names (G1/D1, G2/D2), the frozen G1 in Stage-II too,
        so that a Stage-II checkpoint alone serves inference."""
        names = ("G1", "D1") if self.G1 is None else ("G2", "D2")
        out = {names[0]: self.G, names[1]: self.D, "g_opt": self.g_opt, "d_opt": self.d_opt,
               "rng": self.rng}
        if self.G1 is not None:
            out["G1"] = self.G1
        return out
