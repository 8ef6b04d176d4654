"""The paper's layers (Karras et al., ICLR 2018, section 4): equalized learning rate, pixel norm,
minibatch standard deviation, nearest up-sampling and average-pool down-sampling, in MindSpore.

Equalized learning rate: every weight is drawn from N(0, 1) and multiplied at run time by the
He constant c = sqrt(2 / fan_in); biases start at 0. The optimizer therefore sees unit-variance
weights in every layer.

Two forms of the same convolution, ONE weight layout
----------------------------------------------------
``EqualizedConv2d`` keeps its weight as ``[out, in, k, k]`` (the layout of ``nn.Conv2d`` and
``ops.conv2d``) and computes the convolution in one of two forms:

    "native"   ops.conv2d                                   (GPU, Ascend)
    "matmul"   on CPU, one of two matmul forms by the layer's resolution:
               up to 8x8 and H*W <= 2 C (:func:`uses_shift`), "shift": one GEMM of the k*k tap weights
               [k*k*O, C] with the input as [C, N*H*W], then a constant 0/1 shift matrix
               [k*k*H*W, H*W] sums the taps' contributions into place (its zeros are the
               padding); no slices at all;
               above, im2col over the flattened padded NHWC image: each tap's columns are one
               contiguous run of pixels (pad, k*k 1-D slices, concat), then one matmul

MindSpore 2.10's CPU ``nn.Conv2d`` runs oneDNN's reference kernel (~1 GFLOP/s): a 3x3 conv on
16x512x4x4 takes ~0.9 s forward, 2-D im2col ~35 ms, the shift form 12.5 ms: MindSpore's CPU
strided 2-D slices cost 3x the matmul they feed (a 256x4608x512 matmul runs at 150 GFLOP/s, 8 ms).
Forward + backward, 512 channels, batch 16 (``/tmp`` micro-benchmark, 2026-12-02): 4x4 81 -> 42 ms,
8x8 178 -> 81 ms with the shift form. The 1-D slices of the flattened image are contiguous copies:
forward / a penalty step (double backward) at batch 16, 512 channels (``/tmp`` micro-benchmark,
2026-12-02): 32x32 2-D im2col 1.81 / 5.90 s, flat im2col 0.55 / 2.77 s (the matmul's own time:
~0.5 s forward); 16x16 flat 0.16 / 0.58-0.71 s against the shift form's 0.17-0.23 / 0.84-1.05 s
(its second matmul costs H*W / C of the first); 8x8 flat 0.05 / 0.20 s, shift 0.04 / 0.18 s.
The shift form needs the layer's resolution (``resolution=``, given by the networks); without it
the layer uses im2col. "auto" (the default) picks "matmul"
when MindSpore's device target is CPU and "native" otherwise, when the layer is built: call
``common_tools.device.setup_mindspore`` first, or switch a built network with
:func:`set_conv_form`. The parameters are the same in both forms, so a checkpoint saved on one
device loads on another.

Derivatives
-----------
Every op here has first and second derivatives (the WGAN-GP penalty differentiates
||dD(x)/dx||^2 with respect to D's weights). Measured on MindSpore 2.10 (CPU wheel):

- ``ops.AvgPool``, ``ops.avg_pool2d`` and ``ops.ResizeNearestNeighbor`` cannot be differentiated
  twice ("AvgPoolGrad's / AvgPool3DGrad's / ResizeNearestNeighborGrad's bprop not defined"), so
  down- and up-sampling are reshape + mean and reshape + broadcast here.
- The functional ``ops.pad`` gives a gradient that changes from call to call of the same compiled
  graph (right the first time, then wrong, then 0), so the matmul form pads with the ``ops.Pad``
  primitive.
- The second derivatives are right in GRAPH_MODE (and under ``mindspore.jit``), but
  PYNATIVE_MODE's eager double backward is silently wrong for ordinary ops: a scalar multiply or
  a concat before a matmul gives a zero weight gradient of the penalty; ``ops.matmul``, the im2col
  convolution, broadcast multiply and ``ops.tile`` give wrong values; only ``ops.conv2d`` came out
  right. Compute the gradient penalty in a compiled graph.

Example::

    import mindspore as ms
    from pgan.customer_layer import EqualizedConv2d, pixel_norm
    conv = EqualizedConv2d(8, 16, 3)                      # weight [16, 8, 3, 3]
    y = pixel_norm(conv(ms.ops.ones((2, 8, 4, 4))))       # [2, 16, 4, 4]
"""

import math

import mindspore as ms
from mindspore import nn, ops
from mindspore.common.initializer import Normal, initializer

CONV_FORMS = ("auto", "matmul", "native")
SHIFT_MAX_PIXELS = 8 * 8  # the shift form up to this H*W (its second matmul grows with (H*W)^2)


def uses_shift(resolution, in_channels, kernel_size=3) -> bool:
    """The matmul form's choice: the shift matrix when H*W <= SHIFT_MAX_PIXELS and H*W <= 2 C.

    The shift matmul costs H*W / C times the tap GEMM (N O k^2 HW HW against N O k^2 C HW), so at
    few channels im2col's slices are cheaper: measured at the demo's 16 channels and 16x16, the
    shift form made an iteration 0.48 -> 0.79 s; above 8x8 the flat im2col wins at 512 channels too
    (module docstring)."""
    if kernel_size == 1 or resolution is None:
        return False
    pixels = resolution * resolution
    return pixels <= SHIFT_MAX_PIXELS and pixels <= 2 * in_channels


def resolve_conv_form(form="auto"):
    """'auto' -> 'matmul' on a CPU device target, 'native' on GPU/Ascend; others unchanged."""
    if form not in CONV_FORMS:
        raise ValueError(f"conv form must be one of {CONV_FORMS}, got {form!r}")
    if form != "auto":
        return form
    return "matmul" if ms.get_context("device_target") == "CPU" else "native"


def leaky_relu(x, slope=0.2):
    """max(x, slope * x) (ops.leaky_relu's own form; differentiable twice)."""
    return ops.maximum(x, x * slope)


def pixel_norm(x, eps=1e-8):
    """b = a / sqrt(mean_c(a^2) + eps) over the channel axis of x [N, C, ...] (paper eq. in 4.2).

    sqrt and a division, not ops.rsqrt: MindSpore 2.10's ONNX export has no Rsqrt.
    """
    return x / ops.sqrt(ops.mean(x * x, axis=1, keep_dims=True) + eps)


def minibatch_stddev(x, group_size=4):
    """Append the minibatch standard deviation as one more feature map (paper section 3).

    x [N, C, H, W] -> [N, C + 1, H, W]. As in pytorch_GAN_zoo: groups are consecutive samples,
    G = min(N, group_size) (all of N when that does not divide N); per group the unbiased std of
    each feature over the group, + 1e-8 under the root, averaged over C, H, W, broadcast as a map.
    """
    n, c, h, w = x.shape
    g = min(n, group_size)
    if n % g != 0:
        g = n
    if g == 1:
        return ops.concat([x, ops.zeros((n, 1, h, w), x.dtype)], 1)
    y = x.reshape(n // g, g, c, h, w)  # (groups, G, C, H, W)
    y = y - ops.mean(y, axis=1, keep_dims=True)
    y = ops.sqrt(ops.sum(y * y, 1) / (g - 1) + 1e-8)  # (groups, C, H, W), unbiased
    y = ops.mean(y.reshape(n // g, c * h * w), axis=1, keep_dims=True)  # (groups, 1)
    y = ops.broadcast_to(y.reshape(n // g, 1, 1, 1, 1), (n // g, g, 1, h, w))
    return ops.concat([x, y.reshape(n, 1, h, w)], 1)


def upsample2x(x):
    """Nearest-neighbour x2: [N, C, H, W] -> [N, C, 2H, 2W] (reshape + broadcast)."""
    n, c, h, w = x.shape
    y = ops.broadcast_to(x.reshape(n, c, h, 1, w, 1), (n, c, h, 2, w, 2))
    return y.reshape(n, c, 2 * h, 2 * w)


def downsample2x(x):
    """2x2 average pooling, stride 2: [N, C, H, W] -> [N, C, H/2, W/2] (reshape + mean)."""
    n, c, h, w = x.shape
    return ops.mean(x.reshape(n, c, h // 2, 2, w // 2, 2), axis=(3, 5))


def shift_matrix(height, width, k):
    """[k*k*H*W, H*W] float32 0/1: row t*H*W + q, column p is 1 where input pixel q is tap t
    (t = i*k + j, offsets i - k//2, j - k//2) of output pixel p; taps falling outside are the zero
    padding."""
    import numpy as np

    p, hw = k // 2, height * width
    out = np.zeros((k * k * hw, hw), np.float32)
    ys, xs = np.divmod(np.arange(hw), width)
    for t in range(k * k):
        sy, sx = ys + t // k - p, xs + t % k - p
        inside = (sy >= 0) & (sy < height) & (sx >= 0) & (sx < width)
        out[t * hw + sy[inside] * width + sx[inside], np.arange(hw)[inside]] = 1.0
    return out


def _normal_weight(shape):
    return ms.Parameter(initializer(Normal(sigma=1.0, mean=0.0), shape, ms.float32), name="weight")


class EqualizedConv2d(nn.Cell):
    """Conv k x k, stride 1, 'same' padding, with the He constant applied at run time.

    weight [out, in, k, k] ~ N(0, 1), bias [out] = 0; y = conv(x, c * weight) + bias with
    c = sqrt(2 / (in * k * k)). x [N, in, H, W] -> [N, out, H, W] in both forms. ``resolution``
    (H = W, optional): the input size the layer is built for; the matmul form then uses the
    shift matrix where :func:`uses_shift` says (the matrix is a constant, not a parameter).
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, form="auto", resolution=None):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.scale = math.sqrt(2.0 / (in_channels * kernel_size * kernel_size))
        self.form = resolve_conv_form(form)
        self.weight = _normal_weight((out_channels, in_channels, kernel_size, kernel_size))
        self.bias = ms.Parameter(initializer("zeros", (out_channels,), ms.float32), name="bias")
        p = kernel_size // 2
        # the Pad primitive: functional ops.pad's gradient changes from call to call (module docstring)
        self.pad_nhwc = ops.Pad(((0, 0), (p, p + 1), (p, p), (0, 0)))  # + 1 row: _matmul
        self.resolution = resolution
        self.shift = None
        if uses_shift(resolution, in_channels, kernel_size):
            self.shift = ms.Tensor(shift_matrix(resolution, resolution, kernel_size))

    def construct(self, x):
        if self.form == "native":
            p = self.kernel_size // 2
            y = ops.conv2d(x, self.weight * self.scale, None, 1, "pad", p)
            return y + self.bias.reshape(1, self.out_channels, 1, 1)
        # the matmul forms scale their (smaller) output, not the weight: conv(x, c w) = c conv(x, w)
        if self.shift is not None:
            return self._shifted(x, self.weight)
        return self._matmul(x, self.weight)

    def _shifted(self, x, w):
        n, c, h, wd = x.shape
        k, o, hw = self.kernel_size, self.out_channels, h * wd
        wm = w.transpose(0, 2, 3, 1).reshape(o * k * k, c)  # rows o*k*k + t
        cols = x.reshape(n, c, hw).transpose(1, 0, 2).reshape(c, n * hw)  # (C, N*HW)
        z = ops.matmul(wm, cols).reshape(o * k * k, n, hw).transpose(1, 0, 2)  # (N, O*k*k, HW)
        y = ops.matmul(z.reshape(n, o, k * k * hw), self.shift.astype(x.dtype))  # (N, O, HW): taps summed
        return y.reshape(n, o, h, wd) * self.scale + self.bias.reshape(1, o, 1, 1)

    def _matmul(self, x, w):
        n, c, h, wd = x.shape
        k = self.kernel_size
        o = self.out_channels
        x = x.transpose(0, 2, 3, 1)  # (N, H, W, C)
        wm = w.transpose(2, 3, 1, 0).reshape(k * k * c, o)  # (k*k*C, O), taps in (kh, kw) order
        if k == 1:
            y = ops.matmul(x.reshape(n * h * wd, c), wm) * self.scale + self.bias  # (N*H*W, O)
            return y.reshape(n, h, wd, o).transpose(0, 3, 1, 2)
        # im2col over the flattened padded image: with rows of wp = W + 2p pixels, tap (i, j) of
        # output pixel (y, x) is flat pixel (y + i) * wp + (x + j), so each tap's column block is ONE
        # contiguous run of m = H * wp pixels per image, starting at i * wp + j (one extra zero row at
        # the bottom keeps the last run inside). The 2p columns per row that wrap around are computed
        # and dropped. 3-6x faster than 2-D slices here (32x32x512: 0.55 vs 1.8 s forward).
        wp, m = wd + 2 * (k // 2), h * (wd + 2 * (k // 2))
        flat = self.pad_nhwc(x).reshape(n, (h + k) * wp, c)  # (N, (H + 2p + 1) * wp, C)
        cols = ops.concat([flat[:, (t // k) * wp + t % k:(t // k) * wp + t % k + m, :] for t in range(k * k)], -1)
        y = ops.matmul(cols.reshape(n * m, k * k * c), wm) * self.scale + self.bias  # (N*H*wp, O)
        return y.reshape(n, h, wp, o)[:, :, :wd, :].transpose(0, 3, 1, 2)  # (N, O, H, W)

    def extend_repr(self):
        shift = ", shift" if self.shift is not None and self.form == "matmul" else ""
        return f"{self.in_channels}->{self.out_channels}, k={self.kernel_size}, form={self.form}{shift}"


class EqualizedLinear(nn.Cell):
    """Fully connected with the He constant: y = x (c * W)^T + b, W [out, in] ~ N(0, 1), c = sqrt(2 / in)."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.scale = math.sqrt(2.0 / in_features)
        self.weight = _normal_weight((out_features, in_features))
        self.bias = ms.Parameter(initializer("zeros", (out_features,), ms.float32), name="bias")
        self.matmul_t = ops.MatMul(transpose_b=True)

    def construct(self, x):
        # x W^T without transposing W, scaled after: (N, out) is far smaller than W (out, in)
        return self.matmul_t(x, self.weight) * self.scale + self.bias  # (N, out)

    def extend_repr(self):
        return f"{self.in_features}->{self.out_features}"


def set_conv_form(net, form):
    """Switch every EqualizedConv2d inside ``net`` to ``form`` ("auto", "matmul", "native").

    The parameters do not change. ``net``'s compiled graphs are dropped; a training cell built
    around ``net`` before the switch keeps the old form: build it anew.
    """
    resolved = resolve_conv_form(form)
    for _, cell in net.cells_and_names():
        if isinstance(cell, EqualizedConv2d):
            cell.form = resolved
    forget_compiled_graphs(net)
    return net


def forget_compiled_graphs(net):
    """Make ``net`` and its sub-cells compile afresh on their next GRAPH_MODE call.

    A Cell keeps the graph it compiled for given input shapes, even after cells were added to it
    or attributes read by ``construct`` changed; this drops those graphs. Cells that hold ``net``
    (a training wrapper) keep theirs: build them anew.
    """
    for _, cell in net.cells_and_names():
        cell.compile_cache.clear()
    return net


def count_params(net):
    """Number of trainable scalars in ``net``."""
    return sum(int(p.size) for p in net.trainable_params())


PAPER_DEPTHS = (512, 512, 512, 512, 256, 128)  # feature maps per scale: 4, 8, 16, 32, 64, 128
PAPER_LATENT_DIM = 512


def check_depths(depths, num_scales):
    depths = tuple(int(d) for d in depths)
    if not depths or min(depths) < 1:
        raise ValueError(f"depths must be positive feature-map counts per scale, got {depths}")
    if not 1 <= num_scales <= len(depths):
        raise ValueError(f"num_scales must be in 1..{len(depths)} (len(depths)), got {num_scales}")
    return depths


def name_parameters(net):
    """Give every parameter its path inside ``net`` (the same whether built at a scale or grown to it)."""
    for name, param in net.parameters_and_names():
        param.name = name


class Growing:
    """The growth G and D share (mixed into their ``nn.Cell``): the scales built are the entries of
    the CellList named by ``RGB`` (toRGB / fromRGB, one per scale); ``_new_scale(previous, depth,
    resolution)`` returns the next scale's (block, rgb layer)."""

    RGB = "to_rgb"

    @property
    def num_scales(self):
        return len(getattr(self, self.RGB))

    @property
    def resolution(self):
        return 4 * 2 ** (self.num_scales - 1)

    def _append_scale(self):
        if self.num_scales >= len(self.depths):
            raise ValueError(f"no scale left to add: depths {self.depths} stop at {self.resolution}x{self.resolution}")
        previous, depth = self.depths[self.num_scales - 1], self.depths[self.num_scales]
        block, rgb = self._new_scale(previous, depth, 2 * self.resolution)
        self.scale_layers.append(block)
        getattr(self, self.RGB).append(rgb)

    def add_scale(self):
        """Grow to twice the resolution; the trained layers (and their parameters) stay.

        Graphs compiled for the old size are dropped; rebuild any training cell that holds the net.
        """
        self._append_scale()
        name_parameters(self)
        forget_compiled_graphs(self)
        return self
