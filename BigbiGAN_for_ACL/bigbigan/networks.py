"""BigBiGAN networks: the generator G, the discriminator D = (F, H, J) and the encoder E.

Donahue & Simonyan, "Large Scale Adversarial Representation Learning", NeurIPS 2019, in the small
conditional 32×32 form of the reference implementation (LEGO999/BIgBiGAN, model_small.py), NHWC,
Keras 3. Imports no training code.

    G(z, y)        z [B, 100], y int [B]  -> x̂ [B, 32, 32, C] in [0, 1]
    D(x, z, y)     -> (s_x, s_z, s_xz), each [B, 1]:  F scores the image (with a projection of y),
                      H the latent, J the pair from F's and H's features
    E(x)           x [B, 32, 32, C] -> ẑ [B, 100] (deterministic)

Shapes in comments are for the defaults (MNIST: C = 1, ch 64, en_ch 32, latent 100, embedding 32).
Every layer has a fixed name, so variable paths are stable (e.g. ``G/block0/conv1/kernel``). Each
layer gets its own initializer instance from ``init``: "truncated_normal" (stddev 0.02, the
reference on MNIST) or "orthogonal". Convolutions in G and D, and every Dense of H and J, are
spectrally normalised (bigbigan.layers); u vectors and batch-norm statistics are non-trainable.
``training`` is a Python bool: True updates SN vectors and BN statistics and enables dropout.

Parameter counts, trainable (+ non-trainable), checked in tests/test_bigbigan_networks.py:
    MNIST     G 2,081,201 (+7,984)  F 2,368,986 (+1,944)  H 42,113 (+576)  J 70,273 (+576)
              E 550,948 (+896)
    CIFAR-10  G 2,082,353           F 2,370,266           H, J the same    E 554,084

    G, D, E = build_networks(channels=1)
    x_fake = G(z, y)                              # z ~ truncated normal [B, 100], y [B] int
    s_x, s_z, s_xz = D(x_real, E(x_real), y)
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from common_tools.keras_layers import Composite   # built by the first call: no symbolic pre-trace

from .layers import (ConditionalBatchNorm, SelfAttention, SNConv2D, SNConv2DTranspose, SNDense,
                     make_initializer)


# ---------------------------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------------------------

class ResBlockUp(Composite, layers.Layer):
    """G's residual up-block, conditioned on c (a latent chunk ‖ the label embedding):

        main: CBN(c) → ReLU → up×2 → SN-conv3x3 → CBN(c) → ReLU → SN-conv3x3
        skip: up×2 → SN-conv1x1                        out = main + skip;  no conv has a bias
    [B, H, W, in_ch], c [B, d] -> [B, 2H, 2W, out_ch]
    """

    def __init__(self, in_ch, out_ch, init="truncated_normal", **kwargs):
        super().__init__(**kwargs)
        self.cbn0 = ConditionalBatchNorm(in_ch, init=init, name="cbn0")
        self.up = layers.UpSampling2D(2, name="up")
        self.conv1 = SNConv2D(out_ch, 3, kernel_initializer=make_initializer(init), name="conv1")
        self.cbn1 = ConditionalBatchNorm(out_ch, init=init, name="cbn1")
        self.conv2 = SNConv2D(out_ch, 3, kernel_initializer=make_initializer(init), name="conv2")
        self.skip = SNConv2D(out_ch, 1, kernel_initializer=make_initializer(init), name="skip")

    def call(self, x, c, training=False):                               # [B, H, W, in]
        h = ops.relu(self.cbn0(x, c, training=training))
        h = self.conv1(self.up(h), training=training)                    # [B, 2H, 2W, out]
        h = ops.relu(self.cbn1(h, c, training=training))
        h = self.conv2(h, training=training)
        return h + self.skip(self.up(x), training=training)              # [B, 2H, 2W, out]


class ResBlockDown(Composite, layers.Layer):
    """F's residual down-block (BigGAN D block, pre-activation, no bias):

        main: ReLU → SN-conv3x3 → ReLU → SN-conv3x3 → avgpool 2
        skip: SN-conv1x1 → avgpool 2                   out = main + skip
    [B, H, W, in] -> [B, H/2, W/2, ch]
    """

    def __init__(self, ch, init="truncated_normal", **kwargs):
        super().__init__(**kwargs)
        self.conv0 = SNConv2D(ch, 3, kernel_initializer=make_initializer(init), name="conv0")
        self.conv1 = SNConv2D(ch, 3, kernel_initializer=make_initializer(init), name="conv1")
        self.skip = SNConv2D(ch, 1, kernel_initializer=make_initializer(init), name="skip")
        self.pool = layers.AveragePooling2D(2, padding="same", name="pool")

    def call(self, x, training=False):
        h = self.conv0(ops.relu(x), training=training)
        h = self.pool(self.conv1(ops.relu(h), training=training))       # [B, H/2, W/2, ch]
        return h + self.pool(self.skip(x, training=training))


class ResBlock(Composite, layers.Layer):
    """F's last block at constant size: x + SN-conv3x3(ReLU(SN-conv3x3(x))), no bias."""

    def __init__(self, ch, init="truncated_normal", **kwargs):
        super().__init__(**kwargs)
        self.conv0 = SNConv2D(ch, 3, kernel_initializer=make_initializer(init), name="conv0")
        self.conv1 = SNConv2D(ch, 3, kernel_initializer=make_initializer(init), name="conv1")

    def call(self, x, training=False):                                  # [B, 4, 4, 256]
        h = ops.relu(self.conv0(x, training=training))
        return x + self.conv1(h, training=training)


class ResDense(Composite, layers.Layer):
    """Residual MLP block of H, J (spectral_norm=True) and E (False); LeakyReLU slope 0.2:

        main: Dense → Dropout → LeakyReLU → Dense → Dropout → LeakyReLU
        skip: LeakyReLU(Dense(x))                      out = main + skip
    [B, in] -> [B, units]; every Dense has a bias.
    """

    def __init__(self, units, dropout=0.2, spectral_norm=True, init="truncated_normal", **kwargs):
        super().__init__(**kwargs)
        dense = SNDense if spectral_norm else layers.Dense
        self.dense0 = dense(units, kernel_initializer=make_initializer(init), name="dense0")
        self.dense1 = dense(units, kernel_initializer=make_initializer(init), name="dense1")
        self.skip = dense(units, kernel_initializer=make_initializer(init), name="skip")
        self.dropout = layers.Dropout(dropout, name="dropout")

    def call(self, x, training=False):                                  # [B, in]
        h = ops.leaky_relu(self.dropout(self.dense0(x, training=training), training=training), 0.2)
        h = ops.leaky_relu(self.dropout(self.dense1(h, training=training), training=training), 0.2)
        return h + ops.leaky_relu(self.skip(x, training=training), 0.2)  # [B, units]


class RevBlock(Composite, layers.Layer):
    """Reversible (RevNet) block of E on [B, H, W, ch], split in halves x1, x2 along channels:

        y1 = x1 + R(x2),  y2 = x2,  out = [y2 ‖ y1]
        R(a) = a + ReLU(BN(conv3x3(ReLU(BN(conv3x3(a))))))   ch/2 -> ch/2, convs without bias
    (the reference's bottleneck R keeps its own identity shortcut).
    """

    def __init__(self, ch, init="truncated_normal", **kwargs):
        super().__init__(**kwargs)
        half = ch // 2
        self.conv0 = layers.Conv2D(half, 3, padding="same", use_bias=False,
                                   kernel_initializer=make_initializer(init), name="conv0")
        self.bn0 = layers.BatchNormalization(name="bn0")
        self.conv1 = layers.Conv2D(half, 3, padding="same", use_bias=False,
                                   kernel_initializer=make_initializer(init), name="conv1")
        self.bn1 = layers.BatchNormalization(name="bn1")

    def call(self, x, training=False):                                  # [B, H, W, ch]
        x1, x2 = ops.split(x, 2, axis=-1)                                # [B, H, W, ch/2] each
        r = ops.relu(self.bn0(self.conv0(x2), training=training))
        r = ops.relu(self.bn1(self.conv1(r), training=training))
        y1 = x1 + (r + x2)
        return ops.concatenate([x2, y1], axis=-1)                        # [B, H, W, ch]


def pool_and_pad_channels(x, pool):
    """avgpool 2 (SAME), then C/2 zero channels on each side: [B, H, W, C] -> [B, ⌈H/2⌉, ⌈W/2⌉, 2C]."""
    x = pool(x)
    c = x.shape[-1]
    return ops.pad(x, [[0, 0], [0, 0], [0, 0], [c // 2, c - c // 2]])


# ---------------------------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------------------------

class Generator(Composite, keras.Model):
    """G(z, y) -> x̂ [B, 32, 32, channels] in [0, 1] (BigGAN-style, hierarchical latents).

    z [B, 100] splits into 4 chunks of 25: z0 → SN-Dense → [B, 4, 4, 4ch]; the label embedding
    e(y) [B, 32] is appended to z1, z2, z3 ([B, 57] each), which condition the three up-blocks:

        [B,4,4,256] → ResUp(z1) 256 → [B,8,8,256] → ResUp(z2) → [B,16,16,128] → self-attention
        → ResUp(z3) → [B,32,32,64] → BN → ReLU → SN-convT3x3 (no bias) → [B,32,32,C] → sigmoid

    The final BN is Keras's default (momentum 0.99, eps 1e-3), like the reference's; the
    conditional ones use momentum 0.9, eps 1e-5.
    """

    def __init__(self, channels=1, ch=64, latent_dim=100, num_classes=10, embed_dim=32,
                 conditional=True, init="truncated_normal", name="G", **kwargs):
        super().__init__(name=name, **kwargs)
        if latent_dim % 4:
            raise ValueError(f"latent_dim must split into 4 equal chunks, got {latent_dim}")
        self.channels = channels
        self.latent_dim = latent_dim
        self.conditional = conditional
        top = 4 * ch                                                     # 256
        self.top = top
        if conditional:
            self.embed = layers.Embedding(num_classes, embed_dim, name="embed")
        self.linear = SNDense(4 * 4 * top, use_bias=True, kernel_initializer=make_initializer(init),
                              name="linear")
        self.block0 = ResBlockUp(top, top, init, name="block0")          # 4 -> 8
        self.block1 = ResBlockUp(top, top // 2, init, name="block1")     # 8 -> 16
        self.attention = SelfAttention(top // 2, init, name="attention")
        self.block2 = ResBlockUp(top // 2, top // 4, init, name="block2")  # 16 -> 32
        self.bn = layers.BatchNormalization(name="bn")
        self.conv_out = SNConv2DTranspose(channels, 3, use_bias=False,
                                          kernel_initializer=make_initializer(init), name="conv_out")

    def logits(self, z, y=None, training=False):
        """Everything but the final sigmoid: [B, 32, 32, channels]."""
        z0, z1, z2, z3 = ops.split(z, 4, axis=-1)                        # 4 × [B, 25]
        if self.conditional:
            if y is None:
                raise ValueError("this Generator is conditional: pass the labels y")
            e = self.embed(ops.cast(y, "int32"))                         # [B, 32]
            z1, z2, z3 = (ops.concatenate([zi, e], axis=-1) for zi in (z1, z2, z3))  # [B, 57]
        h = ops.reshape(self.linear(z0, training=training), (-1, 4, 4, self.top))  # [B,4,4,256]
        h = self.block0(h, z1, training=training)                        # [B, 8, 8, 256]
        h = self.block1(h, z2, training=training)                        # [B, 16, 16, 128]
        h = self.attention(h, training=training)                         # [B, 16, 16, 128]
        h = self.block2(h, z3, training=training)                        # [B, 32, 32, 64]
        h = ops.relu(self.bn(h, training=training))
        return self.conv_out(h, training=training)                       # [B, 32, 32, C]

    def call(self, z, y=None, training=False):
        return ops.sigmoid(self.logits(z, y, training=training))


# ---------------------------------------------------------------------------------------------
# Discriminator: F (image), H (latent), J (joint)
# ---------------------------------------------------------------------------------------------

class DiscriminatorF(Composite, keras.Model):
    """F(x, y) -> (feature [B, 4ch], s_x [B, 1]); a projection discriminator on images.

        [B,32,32,C] → ResDown 64 → [B,16,16,64] → self-attention → ResDown 128 → [B,8,8,128]
        → ResDown 256 → [B,4,4,256] → ResBlock 256 → ReLU → Σ over H, W → feature [B, 256]
        s_x = Dense(1)(feature) + ⟨Embedding(y), feature⟩
    """

    def __init__(self, ch=64, num_classes=10, conditional=True, init="truncated_normal", name="F",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.conditional = conditional
        self.block0 = ResBlockDown(ch, init, name="block0")              # 32 -> 16
        self.attention = SelfAttention(ch, init, name="attention")
        self.block1 = ResBlockDown(2 * ch, init, name="block1")          # 16 -> 8
        self.block2 = ResBlockDown(4 * ch, init, name="block2")          # 8 -> 4
        self.block3 = ResBlock(4 * ch, init, name="block3")
        self.linear = layers.Dense(1, kernel_initializer=make_initializer(init), name="linear")
        if conditional:
            self.embed = layers.Embedding(num_classes, 4 * ch, name="embed")

    def call(self, x, y=None, training=False):                          # [B, 32, 32, C]
        h = self.block0(x, training=training)                            # [B, 16, 16, 64]
        h = self.attention(h, training=training)
        h = self.block1(h, training=training)                            # [B, 8, 8, 128]
        h = self.block2(h, training=training)                            # [B, 4, 4, 256]
        h = ops.relu(self.block3(h, training=training))
        feature = ops.sum(h, axis=(1, 2))                                # [B, 256]
        s_x = self.linear(feature)                                       # [B, 1]
        if self.conditional:
            if y is None:
                raise ValueError("this DiscriminatorF is conditional: pass the labels y")
            s_x = s_x + ops.sum(self.embed(ops.cast(y, "int32")) * feature, axis=-1, keepdims=True)
        return feature, s_x


class DiscriminatorH(Composite, keras.Model):
    """H(z) -> (feature [B, 64], s_z [B, 1]): z [B, 100] → 3 × ResDense(64) → Dense(1)."""

    def __init__(self, units=64, num_blocks=3, dropout=0.2, init="truncated_normal", name="H",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.blocks = [ResDense(units, dropout, True, init, name=f"block{i}")
                                   for i in range(num_blocks)]
        self.linear = layers.Dense(1, kernel_initializer=make_initializer(init), name="linear")

    def call(self, z, training=False):
        h = ops.reshape(z, (ops.shape(z)[0], -1))                        # [B, 100]
        for block in self.blocks:
            h = block(h, training=training)                              # [B, 64]
        return h, self.linear(h)


class DiscriminatorJ(Composite, keras.Model):
    """J(f, h) -> s_xz [B, 1]: [F feature ‖ H feature] [B, 320] → 3 × ResDense(64) → Dense(1)."""

    def __init__(self, units=64, num_blocks=3, dropout=0.2, init="truncated_normal", name="J",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.blocks = [ResDense(units, dropout, True, init, name=f"block{i}")
                                   for i in range(num_blocks)]
        self.linear = layers.Dense(1, kernel_initializer=make_initializer(init), name="linear")

    def call(self, f, h, training=False):
        j = ops.concatenate([f, h], axis=-1)                             # [B, 320]
        for block in self.blocks:
            j = block(j, training=training)                              # [B, 64]
        return self.linear(j)


class Discriminator(Composite, keras.Model):
    """D(x, z, y) -> (s_x, s_z, s_xz), each [B, 1]; F, H and J are the attributes of the same name."""

    def __init__(self, ch=64, units=64, num_classes=10, conditional=True, dropout=0.2,
                 init="truncated_normal", name="D", **kwargs):
        super().__init__(name=name, **kwargs)
        self.F = DiscriminatorF(ch, num_classes, conditional, init)
        self.H = DiscriminatorH(units, 3, dropout, init)
        self.J = DiscriminatorJ(units, 3, dropout, init)

    def call(self, x, z, y=None, training=False):
        f, s_x = self.F(x, y, training=training)                         # [B, 256], [B, 1]
        h, s_z = self.H(z, training=training)                            # [B, 64], [B, 1]
        s_xz = self.J(f, h, training=training)                           # [B, 1]
        return s_x, s_z, s_xz


# ---------------------------------------------------------------------------------------------
# Encoder
# ---------------------------------------------------------------------------------------------

class Encoder(Composite, keras.Model):
    """E(x) -> ẑ [B, latent_dim], a RevNet with an MLP head (no spectral norm):

        [B,32,32,C] → up×2 → [B,64,64,C] → conv7x7/2 (bias) → [B,32,32,32] → maxpool3/2 VALID
        → [B,15,15,32] → 2 RevBlock 32 → avgpool, pad → [B,8,8,64] → 2 RevBlock 64
        → avgpool, pad → [B,4,4,128] → 2 RevBlock 128 → mean over H, W → [B,128]
        → 2 × ResDense(256) → Dense(latent_dim)
    RevNet batch norms are Keras's default (momentum 0.99, eps 1e-3), like the reference's.
    """

    def __init__(self, ch=32, latent_dim=100, units=256, dropout=0.2, init="truncated_normal",
                 name="E", **kwargs):
        super().__init__(name=name, **kwargs)
        self.up = layers.UpSampling2D(2, name="up")
        self.conv = layers.Conv2D(ch, 7, strides=2, padding="same",
                                  kernel_initializer=make_initializer(init), name="conv")
        self.maxpool = layers.MaxPooling2D(3, strides=2, padding="valid", name="maxpool")
        self.stages = [[RevBlock(ch * 2 ** s, init, name=f"rev{2 * s + i}")
                                    for i in range(2)] for s in range(3)]
        self.pools = [layers.AveragePooling2D(2, padding="same", name=f"avgpool{s}")
                                  for s in range(2)]
        self.blocks = [ResDense(units, dropout, False, init, name=f"block{i}")
                                   for i in range(2)]
        self.linear = layers.Dense(latent_dim, kernel_initializer=make_initializer(init),
                                   name="linear")

    def pooled(self, x, training=False):
        """The RevNet's globally averaged features [B, 4·ch] (the paper's "avepool" probe input)."""
        h = self.maxpool(self.conv(self.up(x)))                          # [B, 15, 15, 32]
        for s, stage in enumerate(self.stages):
            if s:
                h = pool_and_pad_channels(h, self.pools[s - 1])          # [B,8,8,64], [B,4,4,128]
            for block in stage:
                h = block(h, training=training)
        return ops.mean(h, axis=(1, 2))                                  # [B, 128]

    def call(self, x, training=False):                                  # [B, 32, 32, C]
        h = self.pooled(x, training=training)                            # [B, 128]
        for block in self.blocks:
            h = block(h, training=training)                              # [B, 256]
        return self.linear(h)                                            # [B, 100]


# ---------------------------------------------------------------------------------------------

def build_networks(channels=1, ch=64, en_ch=32, latent_dim=100, num_classes=10, embed_dim=32,
                   units=64, en_units=256, dropout=0.2, conditional=True, init="truncated_normal",
                   image_size=32):
    """G, D, E with their weights created (one inference call each on zeros; nothing updated)."""
    G = Generator(channels, ch, latent_dim, num_classes, embed_dim, conditional, init)
    D = Discriminator(ch, units, num_classes, conditional, dropout, init)
    E = Encoder(en_ch, latent_dim, en_units, dropout, init)
    z = ops.zeros((1, latent_dim))
    y = ops.zeros((1,), "int32") if conditional else None
    x = ops.zeros((1, image_size, image_size, channels))
    G(z, y)
    D(x, z, y)
    E(x)
    return G, D, E


def count_params(weights) -> int:
    """Number of scalars in a list of weights (e.g. ``model.trainable_weights``)."""
    return int(sum(math.prod(w.shape) for w in weights))
