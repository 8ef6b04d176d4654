"""STGAN networks: Genc, STU, Gdec (the generator G) and the discriminator D with heads Dadv, Datt.

Liu et al., "STGAN: A Unified Selective Transfer Network for Arbitrary Image Attribute Editing",
CVPR 2019. Shapes in comments are for the paper configuration (128 px, 13 attributes, width 64,
5 layers); every width is capped at 1024 channels. Layers may sit in Python lists: every layer has
a unique, stable name, and checkpoints map each model to its variables by path
(common_tools.checkpoint).

Conventions of the reference code (TF1 slim): SAME padding, xavier (glorot uniform) kernels, zero
biases and no bias where a norm follows; batch norm with scale, decay 0.999, eps 1e-3; instance
norm with learned scale/offset, eps 1e-6; LeakyReLU slope 0.2.

Parameter counts at the paper configuration (checked in tests/test_stgan_networks.py):
    G 74,998,771 trainable (+7,808 BN moving statistics) = Genc 11,148,160 + STU 30,145,280
      + Gdec 33,705,331;   AttGAN mode (no STU, 1 shortcut, 1 inject): 43,459,203
    D 44,718,990 = convs 11,148,160 + Dadv 16,779,265 + Datt 16,791,565
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from common_tools.keras_layers import Composite   # built by the first call: no symbolic pre-trace

MAX_DIM = 1024  # channel cap of the reference


def _width(base: int, level: int) -> int:
    return min(base * 2 ** level, MAX_DIM)


def _conv(filters, kernel, stride, use_bias, name):
    return keras.layers.Conv2D(filters, kernel, stride, padding="same", use_bias=use_bias,
                               kernel_initializer="glorot_uniform", bias_initializer="zeros", name=name)


def _dconv(filters, kernel, stride, use_bias, name):
    return keras.layers.Conv2DTranspose(filters, kernel, stride, padding="same", use_bias=use_bias,
                                        kernel_initializer="glorot_uniform", bias_initializer="zeros",
                                        name=name)


def _bn(momentum, name):
    return keras.layers.BatchNormalization(momentum=momentum, epsilon=1e-3, scale=True, name=name)


def tile_like(diff, feature):
    """diff [B, n_att] -> [B, H, W, n_att] with the spatial size of ``feature``."""
    shape = tf.shape(feature)
    return tf.tile(diff[:, None, None, :], tf.stack([1, shape[1], shape[2], 1]))


# ---------------------------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------------------------

class Genc(Composite, keras.Model):
    """Encoder: n x [conv 4x4/2, BN, LeakyReLU 0.2].

    x [B,128,128,3] -> f1 [B,64,64,64], f2 [B,32,32,128], f3 [B,16,16,256], f4 [B,8,8,512],
    f5 [B,4,4,1024]; returns the list of all features (the skips come from f1..f4).
    """

    def __init__(self, dim=64, n_layers=5, bn_momentum=0.999, name="Genc"):
        super().__init__(name=name)
        self.convs = [_conv(_width(dim, i), 4, 2, False, f"conv{i + 1}") for i in range(n_layers)]
        self.norms = [_bn(bn_momentum, f"bn{i + 1}") for i in range(n_layers)]

    def call(self, x, training=False):
        features = []
        for conv, norm in zip(self.convs, self.norms):
            x = tf.nn.leaky_relu(norm(conv(x), training=training), alpha=0.2)
            features.append(x)
        return features


class STUCell(Composite, keras.layers.Layer):
    """Selective transfer unit (a conv-GRU variant) for encoder feature f and incoming state s:

        ŝ     = dconv4x4/2(s)                    upsample the state, make its width = out_dim
        r     = σ(conv_k([f, ŝ]))                reset gate
        z     = σ(conv_k([f, ŝ]))                update gate
        s_new = r ∘ ŝ                            state passed to the next (shallower) cell
        ĥ     = tanh(conv_k([f, s_new]))         candidate transfer
        out   = (1 − z) ∘ ŝ + z ∘ ĥ              replaces f as the decoder's skip connection
    No normalisation; every conv has a bias.
    """

    def __init__(self, out_dim, kernel_size=3, name="stu"):
        super().__init__(name=name)
        self.up = _dconv(out_dim, 4, 2, True, "state_dconv")
        self.reset_gate = _conv(out_dim, kernel_size, 1, True, "reset_gate")
        self.update_gate = _conv(out_dim, kernel_size, 1, True, "update_gate")
        self.candidate = _conv(out_dim, kernel_size, 1, True, "candidate")

    def call(self, f, s):
        s_hat = self.up(s)                                    # [B,H,W,out]
        f_s = tf.concat([f, s_hat], axis=3)                   # [B,H,W,C_f+out]
        r = tf.sigmoid(self.reset_gate(f_s))
        z = tf.sigmoid(self.update_gate(f_s))
        s_new = r * s_hat
        h_hat = tf.tanh(self.candidate(tf.concat([f, s_new], axis=3)))
        out = (1.0 - z) * s_hat + z * h_hat
        return out, s_new


class STU(Composite, keras.Model):
    """The STU stack: one cell per skip level, deepest first (encoder layers 4, 3, 2, 1).

    state0 = f5 ‖ diff                 [B,4,4,1037]
    cell@f4 -> out4 [B,8,8,512],   state = s_new ‖ diff [B,8,8,525]
    cell@f3 -> out3 [B,16,16,256], state [B,16,16,269]
    cell@f2 -> out2 [B,32,32,128], state [B,32,32,141]
    cell@f1 -> out1 [B,64,64,64]
    The deepest feature f5 has no STU.
    """

    def __init__(self, dim=64, n_layers=5, n_cells=4, kernel_size=3, inject=True, name="STU"):
        super().__init__(name=name)
        self.inject = inject
        self.levels = [n_layers - 2 - i for i in range(n_cells)]  # encoder indices, deepest first
        self.cells = [STUCell(_width(dim, level), kernel_size, name=f"stu{level + 1}")
                      for level in self.levels]

    def call(self, features, diff):
        state = features[-1]
        if self.inject:
            state = tf.concat([state, tile_like(diff, state)], axis=3)
        skips = {}
        for level, cell in zip(self.levels, self.cells):
            skips[level], state = cell(features[level], state)
            if self.inject:
                state = tf.concat([state, tile_like(diff, state)], axis=3)
        return skips


class Gdec(Composite, keras.Model):
    """Decoder: n−1 x [dconv 4x4/2, BN, ReLU] then a skip and the tiled diff, then dconv to 3 + tanh.

    f5‖diff [B,4,4,1037] -> 1024@8²  (+ skip4 512 + diff 13 = 1549)
                         -> 512@16²  (+ skip3 256 + 13 = 781)
                         -> 256@32²  (+ skip2 128 + 13 = 397)
                         -> 128@64²  (+ skip1  64 + 13 = 205)
                         -> dconv with bias -> 3@128², tanh (applied by Generator)
    """

    def __init__(self, dim=64, n_layers=5, shortcut_layers=4, inject_layers=4, bn_momentum=0.999,
                 name="Gdec"):
        super().__init__(name=name)
        self.n_layers = n_layers
        self.shortcut_layers = shortcut_layers
        self.inject_layers = inject_layers
        self.dconvs = [_dconv(_width(dim, n_layers - 1 - i), 4, 2, False, f"dconv{i + 1}")
                       for i in range(n_layers - 1)]
        self.norms = [_bn(bn_momentum, f"bn{i + 1}") for i in range(n_layers - 1)]
        self.to_rgb = _dconv(3, 4, 2, True, f"dconv{n_layers}")

    def call(self, z, skips, diff, training=False):
        """z: deepest feature; skips: {encoder level: feature}; returns pre-tanh logits."""
        x = tf.concat([z, tile_like(diff, z)], axis=3)
        for i, (dconv, norm) in enumerate(zip(self.dconvs, self.norms)):
            x = tf.nn.relu(norm(dconv(x), training=training))
            if i < self.shortcut_layers:
                x = tf.concat([x, skips[self.n_layers - 2 - i]], axis=3)
            if i < self.inject_layers:
                x = tf.concat([x, tile_like(diff, x)], axis=3)
        return self.to_rgb(x)


class Generator(Composite, keras.Model):
    """G(xa, diff) = tanh(Gdec(Genc(xa), STU(Genc(xa), diff), diff)); AttGAN when use_stu=False."""

    def __init__(self, cfg, name="G"):
        super().__init__(name=name)
        self.n_att = cfg.n_att
        self.img_size = cfg.img_size
        self.Genc = Genc(cfg.enc_dim, cfg.enc_layers, cfg.bn_momentum)
        self.STU = (STU(cfg.stu_dim, cfg.enc_layers, cfg.shortcut_layers, cfg.stu_kernel_size,
                        cfg.stu_inject) if cfg.use_stu and cfg.shortcut_layers > 0 else None)
        self.Gdec = Gdec(cfg.dec_dim, cfg.dec_layers, cfg.shortcut_layers, cfg.inject_layers,
                         cfg.bn_momentum)

    def logits(self, xa, diff, training=False):
        """Pre-tanh output [B,H,W,3] for images xa [B,H,W,3] in [-1,1] and diff [B,n_att]."""
        features = self.Genc(xa, training=training)
        if self.STU is not None:
            skips = self.STU(features, diff)
        else:
            skips = dict(enumerate(features[:-1]))
        return self.Gdec(features[-1], skips, diff, training=training)

    def call(self, xa, diff, training=False):
        return tf.tanh(self.logits(xa, diff, training=training))


# ---------------------------------------------------------------------------------------------
# Discriminator
# ---------------------------------------------------------------------------------------------

class DConvs(Composite, keras.Model):
    """Shared trunk: n x [conv 4x4/2, instance norm (learned affine, eps 1e-6), LeakyReLU 0.2].

    x [B,128,128,3] -> 64@64² -> 128@32² -> 256@16² -> 512@8² -> 1024@4² -> flatten NHWC [B,16384]
    """

    def __init__(self, dim=64, n_layers=5, name="D_convs"):
        super().__init__(name=name)
        self.convs = [_conv(_width(dim, i), 4, 2, False, f"conv{i + 1}") for i in range(n_layers)]
        self.norms = [keras.layers.GroupNormalization(groups=-1, epsilon=1e-6, name=f"in{i + 1}")
                      for i in range(n_layers)]
        self.flatten = keras.layers.Flatten()

    def call(self, x):
        for conv, norm in zip(self.convs, self.norms):
            x = tf.nn.leaky_relu(norm(conv(x)), alpha=0.2)
        return self.flatten(x)


class Head(Composite, keras.Model):
    """FC fc_dim + LeakyReLU 0.2 -> FC out: Dadv (out 1, the critic) or Datt (out n_att logits)."""

    def __init__(self, fc_dim, out_dim, name):
        super().__init__(name=name)
        self.fc1 = keras.layers.Dense(fc_dim, kernel_initializer="glorot_uniform", name="fc1")
        self.fc2 = keras.layers.Dense(out_dim, kernel_initializer="glorot_uniform", name="fc2")

    def call(self, h):
        return self.fc2(tf.nn.leaky_relu(self.fc1(h), alpha=0.2))


class Discriminator(Composite, keras.Model):
    """D(x) -> (Dadv(x) [B,1] WGAN critic score, Datt(x) [B,n_att] attribute logits); heads share no FC."""

    def __init__(self, cfg, name="D"):
        super().__init__(name=name)
        self.convs = DConvs(cfg.dis_dim, cfg.dis_layers)
        self.Dadv = Head(cfg.dis_fc_dim, 1, name="Dadv")
        self.Datt = Head(cfg.dis_fc_dim, cfg.n_att, name="Datt")

    def call(self, x):
        h = self.convs(x)
        return self.Dadv(h), self.Datt(h)


# ---------------------------------------------------------------------------------------------

def build_generator(cfg) -> Generator:
    """G for ``cfg`` with its weights created (one call on zeros), e.g. to restore a checkpoint into."""
    G = Generator(cfg)
    G(tf.zeros([1, cfg.img_size, cfg.img_size, 3]), tf.zeros([1, cfg.n_att]))
    return G


def build_networks(cfg):
    """Build G and D for ``cfg`` (weights created by one call on zeros); returns (G, D)."""
    D = Discriminator(cfg)
    D(tf.zeros([1, cfg.img_size, cfg.img_size, 3]))
    return build_generator(cfg), D


def count_params(model) -> int:
    """Every weight of ``model`` (trainable and BN moving statistics), as StarGAN's count_params."""
    return int(sum(np.prod(w.shape) for w in model.weights))
