"""One BigBiGAN training iteration: ``n_disc`` D updates, then one joint G+E update, on one batch.

For each of the n_disc (default 2) D steps a fresh z ~ truncated normal [B, latent_dim] is drawn and

    x̂ = G(z, y)        ẑ = E(x)        (y: the real batch's labels)
    real pairs (x, ẑ), fake pairs (x̂, z) -> D -> (s_x, s_z, s_xz) of each
    D  <- Adam step on L_D   (bigbigan.losses.discriminator_loss)

and the G+E update uses L_GE (bigbigan.losses.generator_encoder_loss) of the LAST D step's forward
pass, i.e. the scores of D before that step's update, as the reference does (its gen_en_tape is the
one recorded in the last pass of the D loop): every iteration costs n_disc forward passes, not
n_disc + 1. Real and fake pairs go through D as one batch of 2B (D has no batch norm; its spectral
norms make one power iteration per step). G, E and D run in training mode throughout (batch-norm
statistics, spectral-norm vectors and dropout all update).

With ``cfg.lr_e > 0`` E gets its own Adam (``e_opt``) at that rate on the same L_GE gradient; by
default E shares G's optimizer (the reference). Adam's moments are per variable, so the two only
differ in the rate.

Every random draw is reproducible across a resume: z comes from the ``tf.random.Generator`` given
to the step (checkpointed by the trainer), dropout masks from the Keras seed generators of the
Dropout layers (checkpointed too: :func:`dropout_states`).

Data parallel (``dist``, a ``common_tools.distribute.Distribution``; default one device): the
batch given is the GLOBAL batch (``cfg.batch_size`` per replica x the replicas, the same on every
worker). Each z is drawn for the whole global batch from ``rng`` (made outside the strategy scope:
one stream, identical on every worker) and each replica takes its slice, as it does of x and y, so
N replicas draw and compute what one device does on the global batch. Each replica's losses are its
means times 1/replicas, gradients are summed across replicas, the scalars returned are global-batch
means. Batch norm: E's BatchNormalization and G's conditional batch norms are switched to
synchronized (global-batch) moments (``common_tools.distribute.sync_batch_norm``,
:func:`sync_conditional_batch_norm`), so the moving moments stay identical on every replica.
Spectral norm: the power iteration's u' = normalize(normalize(u Wᵀ) W) reads only the mirrored W
and u, never the replica's data, so every replica computes the same u' (the same ops on the same
values) and writes it into its own copy of u: the copies stay identical without a reduction, and
equal to one device's u (the distributed test compares every ``sn_u``). Dropout (H, J, E): each
replica's Dropout layers draw from their own copy of the same seed state, so replicas share masks
row for row; the statistics differ from one device's masks for the global batch (run the
one-device comparison with dropout 0).

Mixed precision follows the global Keras policy, set before the networks are built
(``common_tools.device.set_mixed_precision``): mixed_float16 gets loss-scaled Adam, mixed_bfloat16
(CPU) needs none; scores and losses are float32 either way.

    step = TrainStep(cfg, G, D, E, tf.random.Generator.from_seed(0))
    step = TrainStep(cfg, G, D, E, rng, dist=dist)   # G, D, E built in dist.scope(), rng outside
    scalars = step(x, y)        # {"loss/D": .., "loss/G": .., "loss/D_x": .., "loss/D_z": .., "loss/D_xz": ..}
"""

from __future__ import annotations

import functools

import keras
import tensorflow as tf

from . import losses


def needs_loss_scaling() -> bool:
    return keras.mixed_precision.global_policy().name == "mixed_float16"


def make_optimizer(lr: float, cfg, name: str):
    """Adam(lr, beta1, beta2), loss-scaled under mixed_float16. The fixed ``name`` keeps its
    variable paths (``d_opt/iteration``) the same in every build, not ``adam_3/...``."""
    opt = keras.optimizers.Adam(learning_rate=lr, beta_1=cfg.beta1, beta_2=cfg.beta2, name=name)
    if needs_loss_scaling():
        opt = keras.optimizers.LossScaleOptimizer(opt, name=f"{name}_scaled")
    return opt


def dropout_states(**models) -> dict:
    """``{"D.H.block0.dropout": state variable, ...}``: the seed-generator states of every Dropout
    layer of ``models`` (keyword = model name), for the checkpoint. Keras keeps them out of
    ``model.weights``, so a checkpoint of the weights alone would restart the dropout stream."""
    out = {}
    for model_name, model in models.items():
        for layer in _walk(model, model_name):
            path, obj = layer
            if isinstance(obj, keras.layers.Dropout):
                out[path] = obj.seed_generator.state
    return out


def _walk(layer, path):
    """(path, layer) for ``layer`` and every layer below it, in attribute order (stable names)."""
    yield path, layer
    for child in layer._layers:                       # Keras 3: the directly tracked sublayers
        yield from _walk(child, f"{path}.{child.name}")


def sync_conditional_batch_norm(*models) -> int:
    """Switch every ConditionalBatchNorm of ``models`` to global-batch moments; returns how many."""
    from .layers import ConditionalBatchNorm

    count = 0
    for model in models:
        for _, layer in _walk(model, model.name):
            if isinstance(layer, ConditionalBatchNorm):
                layer.synchronized = True
                count += 1
    return count


class TrainStep:
    """Callable training iteration over G, D = (F, H, J) and E with their two Adam optimizers.

    ``rng`` draws every z (make it outside ``dist.scope()``); ``compile`` traces the iteration
    once as a tf.function (the default); ``dist``: the data-parallel strategy (G, D, E built in
    its scope; the optimizers are made in it here).
    """

    def __init__(self, cfg, G, D, E, rng: tf.random.Generator, compile: bool = True, dist=None):
        from common_tools.distribute import Distribution, sync_batch_norm

        self.cfg, self.G, self.D, self.E, self.rng = cfg, G, D, E, rng
        self.dist = dist or Distribution("one")
        self.loss_scaling = needs_loss_scaling()
        self.d_vars = list(D.trainable_variables)
        self.ge_vars = list(G.trainable_variables) + list(E.trainable_variables)
        self.e_opt, self.e_vars = None, []
        with self.dist.scope():                            # the Adams' slots mirrored like the weights
            self.d_opt = make_optimizer(cfg.lr_d, cfg, "d_opt")
            self.ge_opt = make_optimizer(cfg.lr_ge, cfg, "ge_opt")   # one optimizer for G and E
            if cfg.lr_e > 0:                               # E apart: its own Adam and learning rate
                self.ge_vars = list(G.trainable_variables)
                self.e_vars = list(E.trainable_variables)
                self.e_opt = make_optimizer(cfg.lr_e, cfg, "e_opt")
                self.e_opt.build(self.e_vars)
            self.d_opt.build(self.d_vars)
            self.ge_opt.build(self.ge_vars)
        if self.dist.replicas > 1:                         # global-batch BN moments
            sync_batch_norm(G, D, E)
            sync_conditional_batch_norm(G)
        # compile=False runs the iteration eagerly (debugging; tests of the state machine only)
        self._iteration = tf.function(self._train, reduce_retracing=True) if compile else self._train

    # ---- the maths of one iteration ------------------------------------------------------------
    def _scores(self, x, y, z):
        """(real scores, fake scores), each (s_x, s_z, s_xz) of [B, 1] in float32."""
        G, D, E = self.G, self.D, self.E
        x_fake = tf.cast(G(z, y, training=True), tf.float32)            # [B, 32, 32, C]
        z_hat = tf.cast(E(x, training=True), tf.float32)                # [B, latent]
        y2 = tf.concat([y, y], axis=0) if self.cfg.conditional else None
        scores = D(tf.concat([x, x_fake], axis=0), tf.concat([z_hat, z], axis=0), y2,
                   training=True)                                        # 3 × [2B, 1]
        halves = [tf.split(tf.cast(s, tf.float32), 2, axis=0) for s in scores]
        return tuple(h[0] for h in halves), tuple(h[1] for h in halves)

    def _replica(self, last: bool, x, y, z):
        """One D step on this replica's slice; on the ``last`` one the G+E update too (its
        gradients taken before D's update, applied after it, as the reference)."""
        dist = self.dist
        x, y, z = dist.local(x, y, z)
        scale = (lambda opt, loss: opt.scale_loss(loss)) if self.loss_scaling else (lambda opt, loss: loss)
        with tf.GradientTape(persistent=last) as tape:
            real, fake = self._scores(x, y, z)
            d_loss, terms = losses.discriminator_loss(real, fake)
            d_scaled = scale(self.d_opt, dist.average(d_loss))         # of the global-batch mean
            if last:
                ge_loss = losses.generator_encoder_loss(real, fake)
                ge_scaled = scale(self.ge_opt, dist.average(ge_loss))
                if self.e_opt is not None:
                    e_scaled = scale(self.e_opt, dist.average(ge_loss))
        d_grads = tape.gradient(d_scaled, self.d_vars)
        if last:
            ge_grads = tape.gradient(ge_scaled, self.ge_vars)       # before D's update below
            if self.e_opt is not None:
                e_grads = tape.gradient(e_scaled, self.e_vars)
            del tape
        dist.apply(self.d_opt, d_grads, self.d_vars)
        out = {"loss/D": dist.average(d_loss)}
        out.update({f"loss/D_{k}": dist.average(v) for k, v in terms.items()})
        if last:
            dist.apply(self.ge_opt, ge_grads, self.ge_vars)
            if self.e_opt is not None:
                dist.apply(self.e_opt, e_grads, self.e_vars)
            out["loss/G"] = dist.average(ge_loss)
        return out

    def _train(self, x, y):
        cfg, dist = self.cfg, self.dist
        batch = tf.shape(x)[0]                                # the global batch
        d_outs = []
        for k in range(cfg.n_disc):
            z = self.rng.truncated_normal([batch, cfg.latent_dim], dtype=tf.float32)
            replica = functools.partial(self._replica, k == cfg.n_disc - 1)
            d_outs.append(dict(dist.sum(dist.run(replica, x, y, z))))
        out = {"loss/G": d_outs[-1]["loss/G"]}
        for key in ["loss/D"] + [f"loss/D_{name}" for name in losses.SCORE_NAMES]:
            out[key] = tf.add_n([o[key] for o in d_outs]) / len(d_outs)   # mean over the D steps
        return out

    # ---- the public call -----------------------------------------------------------------------
    def set_learning_rates(self) -> None:
        """Apply the config's learning rates (a resumed run may have changed them)."""
        self.d_opt.learning_rate.assign(self.cfg.lr_d)
        self.ge_opt.learning_rate.assign(self.cfg.lr_ge)
        if self.e_opt is not None:
            self.e_opt.learning_rate.assign(self.cfg.lr_e)

    def __call__(self, x, y) -> dict:
        """One iteration on a batch: x float [B, 32, 32, C] in [0, 1], y int [B]; python floats.

        ``loss/D`` and its per-score terms ``loss/D_x``, ``loss/D_z``, ``loss/D_xz`` are means over
        the n_disc D steps; ``loss/G`` is L_GE, the loss G and E share.
        """
        x = tf.convert_to_tensor(x, tf.float32)
        y = tf.cast(tf.convert_to_tensor(y), tf.int32)
        out = self._iteration(x, y)
        return {k: float(v) for k, v in out.items()}

    def trackables(self) -> dict:
        """What a checkpoint must hold to resume exactly (models as Keras models)."""
        out = {"G": self.G, "D": self.D, "E": self.E, "d_opt": self.d_opt, "ge_opt": self.ge_opt,
               "rng": self.rng, "dropout": dropout_states(D=self.D, E=self.E)}
        if self.e_opt is not None:
            out["e_opt"] = self.e_opt
        return out
