"""StackGAN networks: conditioning augmentation, Stage-I G and D, Stage-II G and D (NHWC, Keras 3).

Zhang et al., "StackGAN: Text to Photo-realistic Image Synthesis with Stacked Generative
Adversarial Networks", ICCV 2017; layer for layer as the reference code (hanzhanggit/StackGAN,
``stageI/model.py``, ``stageII/model.py``, ``misc/custom_ops.py``). Imports no training code.

Conventions of the reference: convolutions have no bias, truncated-normal(0.02) kernels and SAME
padding, and down-sample with 4x4 stride 2; dense layers have a bias and normal(0.02) kernels;
batch norm has eps 1e-5, moving-average momentum 0.9 and gamma ~ N(1, 0.02); up-sampling is a
nearest-neighbour resize x2 followed by a 3x3 conv; leaky ReLUs have slope 0.2.

Noise is an input, never drawn inside a network: the generators take z and the CA noise epsilon
as arguments (:func:`draw_noise` draws both from a seeded ``tf.random.Generator``), so a forward
pass is a pure function of its inputs and an exported graph can be checked against this one.

Parameter counts at the paper configuration (trainable / BN moving statistics; checked part by
part in tests/test_stackgan_networks.py):
    Stage-I G   14,264,192 / 39,168   (CA 262,400 of it)
    Stage-I D    4,029,824 /  4,352
    Stage-II G  26,290,080 / 11,712   (its own CA 262,400 of it)
    Stage-II D  48,603,520 / 13,568

    G1, D1 = built(StageIGenerator()), built(StageIDiscriminator())
    embedding = tf.random.normal([2, 1024])                      # phi_t, one per image
    rng = tf.random.Generator.from_seed(0)
    z, eps = draw_noise(rng, batch=2)
    fake, mu, log_sigma = G1(embedding, z, eps, training=True)   # [2, 64, 64, 3] in [-1, 1]
    logit = D1(fake, embedding, training=True)                   # [2, 1]
    kl = kl_loss(mu, log_sigma)                                  # scalar; G adds 2.0 * kl
    G2 = built(StageIIGenerator())
    hr, mu2, log_sigma2 = G2(fake, embedding, draw_noise(rng, 2)[1])   # [2, 256, 256, 3]
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers, ops

from common_tools.keras_layers import Composite   # built by the first call: no symbolic pre-trace

LEAKY_SLOPE = 0.2   # every leaky ReLU of the reference
BN_EPSILON = 1e-5
BN_MOMENTUM = 0.9   # the reference's ExponentialMovingAverage(decay=0.9)


# ---------------------------------------------------------------------------------------------
# Layers with the reference's initialisers
# ---------------------------------------------------------------------------------------------

def conv(filters, kernel, stride=1, name=None):
    """Conv2D without bias, truncated-normal(0.02) kernel, SAME padding (``custom_conv2d``)."""
    return layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                         kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
                         name=name)


def dense(units, name=None):
    """Dense with bias (zeros) and a normal(0.02) kernel (``custom_fully_connected``)."""
    return layers.Dense(units, kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
                        bias_initializer="zeros", name=name)


def batch_norm(name=None):
    """Batch norm as ``conv_batch_norm``: eps 1e-5, momentum 0.9, gamma ~ N(1, 0.02), beta 0."""
    return layers.BatchNormalization(
        momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
        gamma_initializer=keras.initializers.RandomNormal(mean=1.0, stddev=0.02), name=name)


def leaky_relu(x):
    return ops.leaky_relu(x, negative_slope=LEAKY_SLOPE)


_ACTIVATIONS = {"relu": ops.relu, "leaky": leaky_relu}


def tile_to(c, size):
    """c [N, C] -> [N, size, size, C]: a vector repeated over every spatial position."""
    return ops.tile(c[:, None, None, :], (1, size, size, 1))


# ---------------------------------------------------------------------------------------------
# Conditioning augmentation and its KL term
# ---------------------------------------------------------------------------------------------

class ConditioningAugmentation(Composite, keras.Model):
    """CA: text embedding phi_t [N, 1024] -> (c, mu, log_sigma), each [N, c_dim].

        [mu, log_sigma] = leaky(Dense(phi_t))         one Dense 1024 -> 2*c_dim, leaky on all
        c               = mu + exp(log_sigma) * eps   eps ~ N(0, I) truncated, passed in
    """

    def __init__(self, c_dim=128, name="CA"):
        super().__init__(name=name)
        self.c_dim = c_dim                                      # N_g in the paper
        self.fc = dense(2 * c_dim, name="fc")

    def call(self, embedding, epsilon):
        h = leaky_relu(self.fc(embedding))                      # [N, 256]
        mu, log_sigma = h[:, :self.c_dim], h[:, self.c_dim:]    # [N, 128] each
        return reparameterize(mu, log_sigma, epsilon), mu, log_sigma


def reparameterize(mu, log_sigma, epsilon):
    """c = mu + exp(log_sigma) * epsilon: a sample of N(mu, sigma^2), differentiable in both."""
    return mu + ops.exp(log_sigma) * epsilon


def kl_loss(mu, log_sigma):
    """KL(N(mu, sigma^2) || N(0, I)), averaged over the batch and the c_dim dimensions.

        KL = mean( -log_sigma + 1/2 * (-1 + exp(2 * log_sigma) + mu^2) )
    0 for mu = 0, log_sigma = 0 and positive otherwise; the generator loss adds 2.0 x KL.
    """
    return ops.mean(-log_sigma + 0.5 * (-1.0 + ops.exp(2.0 * log_sigma) + ops.square(mu)))


def draw_noise(rng, batch, z_dim=100, c_dim=128):
    """(z [batch, z_dim] ~ N(0, I), epsilon [batch, c_dim] ~ truncated N(0, I)) from ``rng``.

    ``rng`` is a ``tf.random.Generator`` (checkpoint it to resume the same stream) or an int seed.
    Stage-II training draws twice: (z, eps) for the frozen Stage-I G, and eps for Stage-II's own CA.
    """
    if isinstance(rng, int):
        rng = tf.random.Generator.from_seed(rng)
    z = rng.normal([batch, z_dim])
    epsilon = rng.truncated_normal([batch, c_dim])
    return z, epsilon


# ---------------------------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------------------------

class BottleneckBlock(Composite, layers.Layer):
    """x + BN(conv3(act(BN(conv3(act(BN(conv1(x)))))))), then act: widths [C/4, C/4, C].

    The residual block of Stage-I G (ReLU) and of both discriminators (leaky ReLU).
    """

    def __init__(self, channels, inner, activation="relu", name=None):
        super().__init__(name=name)
        self.act = _ACTIVATIONS[activation]
        self.conv1, self.bn1 = conv(inner, 1, name="conv1"), batch_norm("bn1")
        self.conv2, self.bn2 = conv(inner, 3, name="conv2"), batch_norm("bn2")
        self.conv3, self.bn3 = conv(channels, 3, name="conv3"), batch_norm("bn3")

    def call(self, x, training=False):                          # [N, H, W, C]
        h = self.act(self.bn1(self.conv1(x), training=training))    # [N, H, W, C/4]
        h = self.act(self.bn2(self.conv2(h), training=training))    # [N, H, W, C/4]
        h = self.bn3(self.conv3(h), training=training)              # [N, H, W, C]
        return self.act(x + h)


class ResidualBlock(Composite, layers.Layer):
    """ReLU(x + BN(conv3(ReLU(BN(conv3(x)))))) at constant width: Stage-II G's residual block."""

    def __init__(self, channels, name=None):
        super().__init__(name=name)
        self.conv1, self.bn1 = conv(channels, 3, name="conv1"), batch_norm("bn1")
        self.conv2, self.bn2 = conv(channels, 3, name="conv2"), batch_norm("bn2")

    def call(self, x, training=False):                          # [N, 16, 16, 512]
        h = ops.relu(self.bn1(self.conv1(x), training=training))
        h = self.bn2(self.conv2(h), training=training)
        return ops.relu(x + h)


class UpBlock(Composite, layers.Layer):
    """Nearest-neighbour resize x2 -> conv3 -> BN (-> ReLU unless ``relu=False``)."""

    def __init__(self, filters, relu=True, name=None):
        super().__init__(name=name)
        self.relu = relu
        self.up = layers.UpSampling2D(2, interpolation="nearest", name="resize")
        self.conv, self.bn = conv(filters, 3, name="conv"), batch_norm("bn")

    def call(self, x, training=False):                          # [N, H, W, C]
        h = self.bn(self.conv(self.up(x)), training=training)   # [N, 2H, 2W, filters]
        return ops.relu(h) if self.relu else h


# ---------------------------------------------------------------------------------------------
# Stage-I
# ---------------------------------------------------------------------------------------------

class StageIGenerator(Composite, keras.Model):
    """G0(phi_t, z, eps) -> (image [N, 64, 64, 3] in [-1, 1], mu, log_sigma).

    Shapes in comments for the paper config: gf_dim 128 (1024 channels at 4x4), z_dim 100,
    c_dim 128, 1024-d embeddings, 64 px.
    """

    def __init__(self,
                 gf_dim=128,            # width: 8*gf_dim channels at 4x4, gf_dim at 32x32
                 z_dim=100,             # N_z, the noise size
                 c_dim=128,             # N_g, the size of the CA sample c
                 embedding_dim=1024,    # size of the text embedding phi_t (char-CNN-RNN)
                 image_size=64,         # output size, a multiple of 16
                 name="G1"):
        super().__init__(name=name)
        if image_size % 16:
            raise ValueError(f"Stage-I image_size must be a multiple of 16, got {image_size}")
        self.z_dim, self.c_dim, self.embedding_dim = z_dim, c_dim, embedding_dim
        self.s16 = image_size // 16                             # 4
        ch = gf_dim * 8                                         # 1024
        self.ca = ConditioningAugmentation(c_dim, name="CA")
        self.fc = dense(self.s16 * self.s16 * ch, name="fc")    # 228 -> 16384
        self.fc_bn = batch_norm("fc_bn")
        self.reshape = layers.Reshape((self.s16, self.s16, ch), name="fc_reshape")
        self.res1 = BottleneckBlock(ch, gf_dim * 2, "relu", name="res1")         # 1024, inner 256
        self.up1 = UpBlock(gf_dim * 4, relu=False, name="up1")                    # 8x8x512
        self.res2 = BottleneckBlock(gf_dim * 4, gf_dim, "relu", name="res2")     # 512, inner 128
        self.up2 = UpBlock(gf_dim * 2, name="up2")                                # 16x16x256
        self.up3 = UpBlock(gf_dim, name="up3")                                    # 32x32x128
        self.up4 = layers.UpSampling2D(2, interpolation="nearest", name="up4_resize")
        self.to_rgb = conv(3, 3, name="up4_conv")                                 # 64x64x3

    def logits(self, embedding, z, epsilon, training=False):
        """Everything but the final tanh: (pre-tanh image, mu, log_sigma)."""
        c, mu, log_sigma = self.ca(embedding, epsilon)          # [N, 128] each
        h = ops.concatenate([c, z], axis=-1)                    # [N, 228]
        h = self.reshape(self.fc_bn(self.fc(h), training=training))  # [N, 4, 4, 1024]
        h = self.res1(h, training=training)                     # [N, 4, 4, 1024]
        h = self.up1(h, training=training)                      # [N, 8, 8, 512]
        h = self.res2(h, training=training)                     # [N, 8, 8, 512]
        h = self.up2(h, training=training)                      # [N, 16, 16, 256]
        h = self.up3(h, training=training)                      # [N, 32, 32, 128]
        return self.to_rgb(self.up4(h)), mu, log_sigma          # [N, 64, 64, 3]

    def call(self, embedding, z, epsilon, training=False):
        x, mu, log_sigma = self.logits(embedding, z, epsilon, training=training)
        return ops.tanh(x), mu, log_sigma

    def dummy_inputs(self, batch=1):
        return (ops.zeros((batch, self.embedding_dim)), ops.zeros((batch, self.z_dim)),
                ops.zeros((batch, self.c_dim)))


class MatchingAwareDiscriminator(Composite, keras.Model):
    """D(x, phi_t) -> one logit per (image, text) pair, [N, 1]: high for a real image with its own
    text, low for a fake image or a real image with mismatched text.

        x_code  = encode(x)                               [N, 4, 4, 8*df_dim]  (subclass)
        x_code  = bottleneck residual (leaky)             [N, 4, 4, 512]
        t       = leaky(Dense(phi_t)), tiled to 4x4       [N, 4, 4, 128]
        h       = leaky(BN(conv1x1([x_code, t])))        [N, 4, 4, 640] -> [N, 4, 4, 512]
        logit   = conv 4x4 stride 4 (h)                   [N, 1]
    """

    def __init__(self, df_dim, text_dim, embedding_dim, image_size, down_factor, name):
        super().__init__(name=name)
        if image_size % down_factor:
            raise ValueError(f"{type(self).__name__} image_size must be a multiple of "
                             f"{down_factor}, got {image_size}")
        self.image_size, self.embedding_dim = image_size, embedding_dim
        self.s = image_size // down_factor                      # 4: the code's spatial size
        ch = df_dim * 8                                         # 512
        self.make_encoder(df_dim)                               # the image encoder's layers first
        self.residual = BottleneckBlock(ch, df_dim * 2, "leaky", name="res")   # inner 128
        self.text_fc = dense(text_dim, name="text_fc")          # N_d = 128
        self.joint_conv, self.joint_bn = conv(ch, 1, name="joint_conv"), batch_norm("joint_bn")
        self.logit_conv = conv(1, self.s, stride=self.s, name="logit_conv")    # 4x4 stride 4

    def make_encoder(self, df_dim):
        """Create the layers of :meth:`encode` (each subclass has its own image encoder)."""
        raise NotImplementedError

    def encode(self, x, training=False):
        """x [N, S, S, 3] -> x_code [N, 4, 4, 8*df_dim]."""
        raise NotImplementedError

    def call(self, x, embedding, training=False):
        x_code = self.residual(self.encode(x, training=training), training=training)  # [N,4,4,512]
        t = tile_to(leaky_relu(self.text_fc(embedding)), self.s)                       # [N,4,4,128]
        h = ops.concatenate([x_code, t], axis=-1)                                      # [N,4,4,640]
        h = leaky_relu(self.joint_bn(self.joint_conv(h), training=training))           # [N,4,4,512]
        return ops.reshape(self.logit_conv(h), (-1, 1))                                # [N, 1]

    def dummy_inputs(self, batch=1):
        return (ops.zeros((batch, self.image_size, self.image_size, 3)),
                ops.zeros((batch, self.embedding_dim)))


class StageIDiscriminator(MatchingAwareDiscriminator):
    """D0(x [N, 64, 64, 3], phi_t [N, 1024]) -> logit [N, 1]; df_dim 64, N_d 128."""

    def __init__(self,
                 df_dim=64,             # width: df_dim channels at 32x32, 8*df_dim at 4x4
                 text_dim=128,          # N_d, the compressed text tiled over the 4x4 code
                 embedding_dim=1024,    # size of the text embedding phi_t
                 image_size=64,         # input size, a multiple of 16
                 name="D1"):
        super().__init__(df_dim, text_dim, embedding_dim, image_size, 16, name)

    def make_encoder(self, df_dim):
        self.convs = [conv(df_dim * 2 ** i, 4, stride=2, name=f"down{i + 1}")
                                  for i in range(4)]           # 64, 128, 256, 512
        self.norms = [batch_norm(f"down{i + 1}_bn") for i in range(1, 4)]

    def encode(self, x, training=False):
        c1, c2, c3, c4 = self.convs
        b2, b3, b4 = self.norms
        h = leaky_relu(c1(x))                                   # [N, 32, 32, 64]   no BN
        h = leaky_relu(b2(c2(h), training=training))            # [N, 16, 16, 128]
        h = b3(c3(h), training=training)                        # [N, 8, 8, 256]    no activation
        return b4(c4(h), training=training)                     # [N, 4, 4, 512]    no activation


# ---------------------------------------------------------------------------------------------
# Stage-II
# ---------------------------------------------------------------------------------------------

class StageIIGenerator(Composite, keras.Model):
    """G(s0, phi_t, eps) -> (image [N, 256, 256, 3] in [-1, 1], mu, log_sigma) for a Stage-I
    image s0 [N, 64, 64, 3]; its own CA (not shared with Stage-I). Fully convolutional: the
    output is 4x the input size. Shapes in comments for gf_dim 128, c_dim 128, 4 residual blocks.
    """

    def __init__(self,
                 gf_dim=128,            # width, a multiple of 4: 4*gf_dim at 16x16, gf_dim/4 at 256
                 c_dim=128,             # N_g, the size of this stage's CA sample c
                 embedding_dim=1024,    # size of the text embedding phi_t
                 num_residual=4,        # residual blocks at 16x16
                 lr_size=64,            # Stage-I image size (dummy_inputs only; output is 4x)
                 name="G2"):
        super().__init__(name=name)
        if gf_dim % 4:
            raise ValueError(f"Stage-II gf_dim must be a multiple of 4, got {gf_dim}")
        self.c_dim, self.embedding_dim, self.lr_size = c_dim, embedding_dim, lr_size
        ch = gf_dim * 4                                         # 512
        self.ca = ConditioningAugmentation(c_dim, name="CA")
        self.enc1 = conv(gf_dim, 3, name="enc1")                                  # no BN
        self.enc2, self.enc2_bn = conv(gf_dim * 2, 4, 2, name="enc2"), batch_norm("enc2_bn")
        self.enc3, self.enc3_bn = conv(ch, 4, 2, name="enc3"), batch_norm("enc3_bn")
        self.joint, self.joint_bn = conv(ch, 3, name="joint"), batch_norm("joint_bn")
        self.residuals = [ResidualBlock(ch, name=f"res{i + 1}")
                                      for i in range(num_residual)]
        widths = [gf_dim * 2, gf_dim, gf_dim // 2, gf_dim // 4]                 # 256, 128, 64, 32
        self.ups = [UpBlock(w, name=f"up{i + 1}") for i, w in enumerate(widths)]
        self.to_rgb = conv(3, 3, name="to_rgb")

    def logits(self, lr_image, embedding, epsilon, training=False):
        """Everything but the final tanh: (pre-tanh image, mu, log_sigma)."""
        c, mu, log_sigma = self.ca(embedding, epsilon)                      # [N, 128] each
        h = ops.relu(self.enc1(lr_image))                                   # [N, 64, 64, 128]
        h = ops.relu(self.enc2_bn(self.enc2(h), training=training))         # [N, 32, 32, 256]
        h = ops.relu(self.enc3_bn(self.enc3(h), training=training))         # [N, 16, 16, 512]
        h = ops.concatenate([h, tile_to(c, ops.shape(h)[1])], axis=-1)     # [N, 16, 16, 640]
        h = ops.relu(self.joint_bn(self.joint(h), training=training))       # [N, 16, 16, 512]
        for block in self.residuals:
            h = block(h, training=training)                                 # [N, 16, 16, 512]
        for up in self.ups:
            h = up(h, training=training)            # 32x32x256, 64x64x128, 128x128x64, 256x256x32
        return self.to_rgb(h), mu, log_sigma                                # [N, 256, 256, 3]

    def call(self, lr_image, embedding, epsilon, training=False):
        x, mu, log_sigma = self.logits(lr_image, embedding, epsilon, training=training)
        return ops.tanh(x), mu, log_sigma

    def dummy_inputs(self, batch=1):
        return (ops.zeros((batch, self.lr_size, self.lr_size, 3)),
                ops.zeros((batch, self.embedding_dim)), ops.zeros((batch, self.c_dim)))


class StageIIDiscriminator(MatchingAwareDiscriminator):
    """D(x [N, 256, 256, 3], phi_t [N, 1024]) -> logit [N, 1]; df_dim 64, N_d 128.

    Six 4x4/2 convs (64 ... 2048 channels) to 4x4, 1x1 convs back to 1024 and 512, then the same
    residual block and joint head as Stage-I.
    """

    def __init__(self,
                 df_dim=64,             # width: df_dim channels at 128x128, 32*df_dim at 4x4
                 text_dim=128,          # N_d, the compressed text tiled over the 4x4 code
                 embedding_dim=1024,    # size of the text embedding phi_t
                 image_size=256,        # input size, a multiple of 64
                 name="D2"):
        super().__init__(df_dim, text_dim, embedding_dim, image_size, 64, name)

    def make_encoder(self, df_dim):
        self.convs = ([conv(df_dim * 2 ** i, 4, stride=2, name=f"down{i + 1}")
                       for i in range(6)]                      # 64, 128, 256, 512, 1024, 2048
                      + [conv(df_dim * 16, 1, name="reduce1"),  # 1x1 -> 1024
                         conv(df_dim * 8, 1, name="reduce2")])  # 1x1 -> 512
        self.norms = ([batch_norm(f"down{i + 1}_bn") for i in range(1, 6)]
                      + [batch_norm("reduce1_bn"), batch_norm("reduce2_bn")])

    def encode(self, x, training=False):
        h = leaky_relu(self.convs[0](x))                        # [N, 128, 128, 64]   no BN
        for conv_, norm in zip(self.convs[1:-1], self.norms[:-1]):
            h = leaky_relu(norm(conv_(h), training=training))   # 64²x128, 32²x256, 16²x512,
                                                                # 8²x1024, 4²x2048; 1x1: 4²x1024
        return self.norms[-1](self.convs[-1](h), training=training)  # [N, 4, 4, 512]  no activation


# ---------------------------------------------------------------------------------------------

def built(net, batch=1):
    """Call ``net`` once on zeros (inference mode) so that its weights exist; returns ``net``."""
    net(*net.dummy_inputs(batch), training=False)
    return net


def count_params(weights) -> int:
    """Number of scalars in a list of variables (``model.trainable_weights`` etc.)."""
    return int(sum(math.prod(w.shape) for w in weights))


def stage_networks(cfg, discriminator: bool = True) -> dict:
    """The built networks of ``cfg.stage`` (a StackGANConfig or anything with its fields):
    Stage-I {"G1", "D1"}, Stage-II {"G1" (the Stage-I G it refines), "G2", "D2"};
    ``discriminator=False`` leaves D out (inference, export)."""
    nets = {"G1": StageIGenerator(cfg.gf_dim, cfg.z_dim, cfg.c_dim, cfg.embedding_dim,
                                  cfg.lr_size, name="G1")}
    if cfg.stage == 1 and discriminator:
        nets["D1"] = StageIDiscriminator(cfg.df_dim, cfg.c_dim, cfg.embedding_dim, cfg.lr_size,
                                         name="D1")
    if cfg.stage == 2:
        nets["G2"] = StageIIGenerator(cfg.gf_dim, cfg.c_dim, cfg.embedding_dim, cfg.num_residual,
                                      cfg.lr_size, name="G2")
        if discriminator:
            nets["D2"] = StageIIDiscriminator(cfg.df_dim, cfg.c_dim, cfg.embedding_dim,
                                              4 * cfg.lr_size, name="D2")
    return {k: built(v) for k, v in nets.items()}
