"""StarGAN networks (Choi et al., CVPR 2018, appendix / yunjey/StarGAN model.py), NHWC, Keras 3.

Generator G(x, c): the target label vector c is tiled over the image and concatenated to it; then
a down-sampling conv stack, residual blocks at 1/4 resolution and an up-sampling stack back to RGB.
No conv in G has a bias; every norm is instance norm with a learned scale/offset (eps 1e-5) that
always uses the statistics of the image itself, in training and at test time alike.

Discriminator D(x) -> (D_src, D_cls): a PatchGAN of strided convs with LeakyReLU(0.01) and no
normalisation, with two heads: D_src (real/fake score map) and D_cls (one logit per attribute).

Weights are initialised as PyTorch's defaults do, so training behaves like the reference:
kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in), +1/sqrt(fan_in)), biases likewise.
For transposed convs PyTorch's fan_in is out_channels * k * k; Keras stores that kernel as
(k, k, out, in) and computes fan_in = k * k * out too, so the same VarianceScaling serves both.

Shapes in comments are for the paper config: image 128, c_dim 5, conv dims 64, repeats 6.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from common_tools.keras_layers import Composite   # built by the first call: no symbolic pre-trace


def torch_default_init():
    """PyTorch's default conv kernel init: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in))."""
    return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform")


def torch_bias_init(fan_in: int):
    """PyTorch's default conv bias init: U(+-1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(-bound, bound)


def conv(filters, kernel, stride=1, padding="same", use_bias=False, fan_in=None, name=None):
    """A Conv2D with PyTorch's default init. 'same' equals PyTorch's k//2-ish zero padding for the
    shapes used here (7/1/3, 3/1/1, and 4/2/1 on even sizes)."""
    return layers.Conv2D(filters, kernel, strides=stride, padding=padding, use_bias=use_bias,
                         kernel_initializer=torch_default_init(),
                         bias_initializer=torch_bias_init(fan_in) if use_bias else "zeros",
                         name=name)


def instance_norm(name=None):
    """Instance norm with learned affine (init 1 and 0), eps 1e-5, per-image statistics always."""
    return layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


class ResidualBlock(Composite, layers.Layer):
    """x + IN(conv3x3(ReLU(IN(conv3x3(x))))) — no ReLU after the addition."""

    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = conv(dim, 3, name="conv1")
        self.norm1 = instance_norm("norm1")
        self.conv2 = conv(dim, 3, name="conv2")
        self.norm2 = instance_norm("norm2")

    def call(self, x):                                          # [N, 32, 32, 256]
        h = ops.relu(self.norm1(self.conv1(x)))
        return x + self.norm2(self.conv2(h))                    # [N, 32, 32, 256]


class Generator(Composite, keras.Model):
    """G(x, c) -> image in [-1, 1]; x [N, S, S, 3] in [-1, 1], c [N, c_dim] in {0, 1}."""

    def __init__(self, conv_dim=64, c_dim=5, repeat_num=6, **kwargs):
        super().__init__(**kwargs)
        self.c_dim = c_dim
        self.down = []                                          # [N,128,128,3+5]
        self.down += [conv(conv_dim, 7, name="conv_in"), instance_norm("norm_in")]   # -> 64 ch
        dim = conv_dim
        for i in range(2):                                      # -> [N,64,64,128] -> [N,32,32,256]
            self.down += [conv(dim * 2, 4, stride=2, name=f"down{i}"), instance_norm(f"down{i}_norm")]
            dim *= 2
        self.bottleneck = [ResidualBlock(dim, name=f"res{i}") for i in range(repeat_num)]
        self.up = []
        for i in range(2):                                      # -> [N,64,64,128] -> [N,128,128,64]
            self.up += [layers.Conv2DTranspose(dim // 2, 4, strides=2, padding="same", use_bias=False,
                                               kernel_initializer=torch_default_init(), name=f"up{i}"),
                        instance_norm(f"up{i}_norm")]
            dim //= 2
        self.conv_out = conv(3, 7, name="conv_out")             # -> [N,128,128,3]

    def logits(self, x, c):
        """Everything but the final tanh (the serving graph applies it as the node ``G/Tanh``)."""
        n, h, w = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
        c = ops.cast(c, x.dtype)
        c = ops.broadcast_to(ops.reshape(c, (n, 1, 1, self.c_dim)), (n, h, w, self.c_dim))
        h = ops.concatenate([x, c], axis=-1)                    # [N,128,128,3+c_dim]
        for i in range(0, len(self.down), 2):
            h = ops.relu(self.down[i + 1](self.down[i](h)))
        for block in self.bottleneck:
            h = block(h)
        for i in range(0, len(self.up), 2):
            h = ops.relu(self.up[i + 1](self.up[i](h)))
        return self.conv_out(h)                                 # [N,128,128,3]

    def call(self, x, c):
        return ops.tanh(self.logits(x, c))


class Discriminator(Composite, keras.Model):
    """D(x) -> (out_src [N, S/64, S/64, 1], out_cls [N, c_dim]) — PatchGAN with an attribute head."""

    def __init__(self, image_size=128, conv_dim=64, c_dim=5, repeat_num=6, **kwargs):
        super().__init__(**kwargs)
        self.c_dim = c_dim
        self.main = []
        dim, in_ch = conv_dim, 3
        for i in range(repeat_num):                             # 128 -> 64 -> ... -> 2 px
            self.main.append(conv(dim, 4, stride=2, use_bias=True, fan_in=in_ch * 16, name=f"conv{i}"))
            in_ch, dim = dim, dim * 2                           # 64, 128, ..., 2048 channels
        kernel = image_size // 2 ** repeat_num                  # 2 at 128 px
        self.conv_src = conv(1, 3, name="conv_src")             # [N,2,2,2048] -> [N,2,2,1]
        self.conv_cls = conv(c_dim, kernel, padding="valid", name="conv_cls")  # -> [N,1,1,c_dim]

    def call(self, x):
        h = x
        for layer in self.main:
            h = ops.leaky_relu(layer(h), negative_slope=0.01)
        out_src = self.conv_src(h)
        out_cls = ops.reshape(self.conv_cls(h), (-1, self.c_dim))
        return out_src, out_cls


def build_generator(cfg) -> Generator:
    """A built Generator for ``cfg`` (a StarGANConfig); its weights exist after this call."""
    G = Generator(cfg.g_conv_dim, cfg.c_dim, cfg.g_repeat_num, name="G")
    G(ops.zeros((1, cfg.image_size, cfg.image_size, 3)), ops.zeros((1, cfg.c_dim)))
    return G


def build_discriminator(cfg) -> Discriminator:
    D = Discriminator(cfg.image_size, cfg.d_conv_dim, cfg.c_dim, cfg.d_repeat_num, name="D")
    D(ops.zeros((1, cfg.image_size, cfg.image_size, 3)))
    return D


def count_params(model) -> int:
    return int(sum(math.prod(v.shape) for v in model.weights))
