"""One StarGAN training iteration: D every iteration, G every ``n_critic`` iterations.

    step = TrainStep(cfg, G, D)
    scalars = step(x_real, c_org, iteration)      # {"loss/D": ..., "loss/G": ... (G iterations)}

Target labels are the batch's own labels shuffled across the batch. The G update makes a fresh
forward pass through the just-updated D. The D update (with the target draw) and the G update are
one ``tf.function`` each, traced once and chained on G iterations, optionally compiled with XLA
(``cfg.xla``). Every random draw comes from ``step.rng``, a ``tf.random.Generator`` kept in the
checkpoint, so a resumed run draws what an uninterrupted one would. ``cfg.mixed_precision`` turns
on Keras's mixed-precision policy, which must be set before the networks are built
(``common_tools.device.set_mixed_precision``: mixed_float16 on GPU, with loss-scaled Adam;
mixed_bfloat16 on CPU, which needs no loss scaling).

Data parallel (``dist``, a ``common_tools.distribute.Distribution``; build G and D in
``dist.scope()`` first): the step takes the GLOBAL batch (``cfg.batch_size`` per replica x the
replicas, the same on every worker); the target shuffle and the GP's alpha are drawn for the whole
global batch from the one generator (outside the scope, identical on every worker), then each
replica takes its slice of batch, targets and alpha, so N replicas compute what one device does on
the global batch. Each replica's losses are its means times 1/replicas (the global-batch average),
the gradient penalty is per replica (per sample), the gradients are summed across replicas; the
scalars returned are the global-batch means. G and D have no batch norm (instance norm is per
sample), so nothing is synchronized. XLA is used only on one replica.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from . import losses


def learning_rate(base_lr: float, iteration: int, cfg) -> float:
    """The paper's schedule: constant, then linear decay to 0 over the last ``num_step_decay``
    iterations, recomputed every ``lr_update_step`` iterations.

    lr(i) = base * min(1, (T - i') / num_step_decay),  i' = floor(i / lr_update_step) * lr_update_step

    (The reference code subtracts lr/num_step_decay every lr_update_step iterations instead, so its
    lr only falls by ~0.1% over a whole run: effectively constant. We follow the paper.)
    """
    if cfg.num_step_decay <= 0:
        return float(base_lr)
    i = (iteration // cfg.lr_update_step) * cfg.lr_update_step
    frac = (cfg.training_iterations - i) / float(cfg.num_step_decay)
    return float(base_lr) * min(1.0, max(0.0, frac))


def needs_loss_scaling() -> bool:
    return keras.mixed_precision.global_policy().name == "mixed_float16"


def make_optimizer(lr: float, cfg, name: str):
    opt = keras.optimizers.Adam(learning_rate=lr, beta_1=cfg.beta1, beta_2=cfg.beta2, name=name)
    if needs_loss_scaling():
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


class TrainStep:
    """Callable training iteration over (G, D) with their Adam optimisers."""

    def __init__(self, cfg, G, D, seed: int | None = None, dist=None):
        from common_tools.distribute import Distribution

        self.cfg, self.G, self.D = cfg, G, D
        self.dist = dist or Distribution("one")
        self.loss_scaling = needs_loss_scaling()
        # one stream for the global batch: made outside the strategy scope, the same on every worker
        self.rng = tf.random.Generator.from_seed(cfg.seed if seed is None else seed)
        with self.dist.scope():
            self.g_opt = make_optimizer(cfg.g_lr, cfg, "g_adam")  # stable names: the same variable
            self.d_opt = make_optimizer(cfg.d_lr, cfg, "d_adam")  # paths in every process
            self.g_opt.build(G.trainable_variables)
            self.d_opt.build(D.trainable_variables)
        xla = bool(cfg.xla) and self.dist.replicas == 1
        self._d_step = tf.function(self._d_train, jit_compile=xla, reduce_retracing=True)
        self._g_step = tf.function(self._g_train, jit_compile=xla, reduce_retracing=True)

    # ---- the maths of one iteration ------------------------------------------------------------
    def _d_update(self, x_real, c_org, c_trg, alpha):
        cfg, G, D, dist = self.cfg, self.G, self.D, self.dist
        x_real, c_org, c_trg, alpha = dist.local(x_real, c_org, c_trg, alpha)   # this replica's
        n = tf.shape(x_real)[0]
        x_fake = tf.cast(G(x_real, c_trg), x_real.dtype)       # no gradient to G here
        with tf.GradientTape() as tape:
            # real and fake through D as one batch: one pass instead of two (D has no batch norm)
            src, cls = D(tf.concat([x_real, x_fake], axis=0))
            out_src, fake_src = tf.split(tf.cast(src, tf.float32), 2, axis=0)
            out_cls = tf.cast(cls[:n], tf.float32)
            d_loss_cls = losses.classification_loss(out_cls, c_org)
            d_loss_adv = losses.d_adversarial_loss(out_src, fake_src)
            x_hat = alpha * x_real + (1.0 - alpha) * x_fake
            with tf.GradientTape() as gp_tape:
                gp_tape.watch(x_hat)
                hat_src, _ = D(x_hat)
                hat_sum = tf.reduce_sum(tf.cast(hat_src, tf.float32))
            d_loss_gp = losses.gradient_penalty(gp_tape.gradient(hat_sum, x_hat))
            d_loss = d_loss_adv + cfg.lambda_cls * d_loss_cls + cfg.lambda_gp * d_loss_gp
            share = dist.average(d_loss)                   # this replica's share of the global mean
            scaled = self.d_opt.scale_loss(share) if self.loss_scaling else share
        grads = tape.gradient(scaled, D.trainable_variables)
        dist.apply(self.d_opt, grads, D.trainable_variables)
        return {k: dist.average(v) for k, v in {
            "loss/D": d_loss, "loss/D_real": -tf.reduce_mean(out_src),
            "loss/D_fake": tf.reduce_mean(fake_src),
            "loss/D_cls": d_loss_cls, "loss/D_gp": d_loss_gp}.items()}

    def _g_update(self, x_real, c_org, c_trg):
        cfg, G, D, dist = self.cfg, self.G, self.D, self.dist
        x_real, c_org, c_trg = dist.local(x_real, c_org, c_trg)
        with tf.GradientTape() as tape:
            x_fake = G(x_real, c_trg)
            out_src, out_cls = D(x_fake)
            g_loss_fake = losses.g_adversarial_loss(tf.cast(out_src, tf.float32))
            g_loss_cls = losses.classification_loss(tf.cast(out_cls, tf.float32), c_trg)
            x_rec = G(x_fake, c_org)
            g_loss_rec = losses.reconstruction_loss(x_real, tf.cast(x_rec, tf.float32))
            g_loss = g_loss_fake + cfg.lambda_rec * g_loss_rec + cfg.lambda_cls * g_loss_cls
            extra = {}
            if cfg.lambda_id > 0:                          # a static choice: traced in or out
                extra["loss/G_id"] = losses.identity_loss(x_real, tf.cast(G(x_real, c_org), tf.float32))
                g_loss = g_loss + cfg.lambda_id * extra["loss/G_id"]
            share = dist.average(g_loss)
            scaled = self.g_opt.scale_loss(share) if self.loss_scaling else share
        grads = tape.gradient(scaled, G.trainable_variables)
        dist.apply(self.g_opt, grads, G.trainable_variables)
        return {k: dist.average(v) for k, v in {
            "loss/G": g_loss, "loss/G_fake": g_loss_fake, "loss/G_rec": g_loss_rec,
            "loss/G_cls": g_loss_cls, **extra}.items()}

    def _d_train(self, x_real, c_org):
        # target domain labels: the (global) batch's own labels, shuffled across the batch;
        # then the GP's mixing weights; both drawn for the global batch, sliced per replica
        n = tf.shape(c_org)[0]
        perm = tf.argsort(self.rng.uniform([n]))
        c_trg = tf.gather(c_org, perm)
        alpha = self.rng.uniform([n, 1, 1, 1], dtype=x_real.dtype)
        out = self.dist.run(self._d_update, x_real, c_org, c_trg, alpha)
        return self.dist.sum(out), c_trg

    def _g_train(self, x_real, c_org, c_trg):
        return self.dist.sum(self.dist.run(self._g_update, x_real, c_org, c_trg))

    # ---- the public call -----------------------------------------------------------------------
    def set_learning_rates(self, iteration: int) -> None:
        self.g_opt.learning_rate.assign(learning_rate(self.cfg.g_lr, iteration, self.cfg))
        self.d_opt.learning_rate.assign(learning_rate(self.cfg.d_lr, iteration, self.cfg))

    def __call__(self, x_real, c_org, iteration: int, train_g: bool | None = None) -> dict:
        """Run iteration ``iteration`` (0-based) on a batch; returns a dict of python floats.

        G is updated when ``(iteration + 1) % n_critic == 0`` unless ``train_g`` says otherwise.
        """
        if train_g is None:
            train_g = (iteration + 1) % self.cfg.n_critic == 0
        x_real = tf.convert_to_tensor(x_real, tf.float32)
        c_org = tf.convert_to_tensor(c_org, tf.float32)
        out, c_trg = self._d_step(x_real, c_org)
        if train_g:                                        # the same targets, the updated D
            out = {**out, **self._g_step(x_real, c_org, c_trg)}
        return {k: float(v) for k, v in out.items()}

    def variables(self) -> dict:
        """The trackables a checkpoint must hold to resume exactly (Keras models as they are)."""
        return {"G": self.G, "D": self.D, "g_opt": self.g_opt, "d_opt": self.d_opt, "rng": self.rng}
