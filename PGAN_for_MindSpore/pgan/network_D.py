"""Critic of progressive growing (Karras et al., ICLR 2018, table 2), in MindSpore (the card's
src/network_D.py).

D grows with G (``add_scale()``) and keeps its trained layers when a scale is added; the layout
and the parameter counts follow facebookresearch/pytorch_GAN_zoo (at 128x128: D 22,941,313), and
so does the fade-in (alpha = 1: the previous scale, alpha = 0: the newest alone):

    D(x, alpha) = D_rest(alpha * fromRGB_prev(avgpool(x)) + (1 - alpha) * block_new(fromRGB_new(x)))

Unlike the MindSpore model-zoo version, D has the minibatch standard deviation, down-samples with
average pooling, and keeps its trained layers when a scale is added. Real images are blended
during a fade as D sees G's (:func:`blend_real_images`).

Example::

    import mindspore as ms
    from pgan.network_D import Discriminator
    D = Discriminator(depths=(16, 16, 8))               # 4x4; the paper: Discriminator()
    D.add_scale()                                       # 8x8, fading in
    score = D(ms.ops.randn(2, 3, 8, 8), ms.Tensor(0.5, ms.float32))   # [2, 1]
"""

from mindspore import nn

from .customer_layer import (
    Growing,
    PAPER_DEPTHS,
    EqualizedConv2d,
    EqualizedLinear,
    check_depths,
    downsample2x,
    leaky_relu,
    minibatch_stddev,
    name_parameters,
    resolve_conv_form,
    upsample2x,
)


class DBlock(nn.Cell):
    """One D scale: [EqConv3 -> leaky] (new -> new), [EqConv3 -> leaky] (new -> previous), AvgPool 2.

    (N, new, R, R) -> (N, previous, R/2, R/2).
    """

    def __init__(self, depth, previous_depth, slope=0.2, form="auto", resolution=None):
        super().__init__()  # resolution: the block's input size R (the convolutions' size)
        self.conv1 = EqualizedConv2d(depth, depth, 3, form=form, resolution=resolution)
        self.conv2 = EqualizedConv2d(depth, previous_depth, 3, form=form, resolution=resolution)
        self.slope = slope

    def construct(self, x):
        x = leaky_relu(self.conv1(x), self.slope)  # (N, new, R, R)
        x = leaky_relu(self.conv2(x), self.slope)  # (N, previous, R, R)
        return downsample2x(x)  # (N, previous, R/2, R/2)


class Discriminator(Growing, nn.Cell):
    """Progressive critic: image [N, image_channels, R, R], alpha (scalar) -> score [N, 1].

    R = 4 * 2 ** (num_scales - 1). The 4x4 part: minibatch stddev -> EqConv3 (d0 + 1 -> d0) ->
    leaky -> EqLinear (16*d0 -> d0) -> leaky -> EqLinear (d0 -> 1).
    """

    RGB = "from_rgb"  # one fromRGB per scale built

    def __init__(
        self,
        depths=PAPER_DEPTHS,           # feature maps per scale (4x4 first); the schedule add_scale() follows
        num_scales=1,                  # scales built now (1 = 4x4 only)
        image_channels=3,              # RGB
        leaky_slope=0.2,               # leaky ReLU slope
        stddev_group=4,                # minibatch standard deviation group size
        conv_form="auto",              # "matmul" (CPU) / "native" (GPU, Ascend) / "auto": by device target
    ):
        super().__init__()
        self.depths = check_depths(depths, num_scales)
        self.image_channels = int(image_channels)
        self.slope = float(leaky_slope)
        self.stddev_group = int(stddev_group)
        self.conv_form = resolve_conv_form(conv_form)
        d0 = self.depths[0]
        self.from_rgb = nn.CellList([EqualizedConv2d(self.image_channels, d0, 1, form=self.conv_form)])
        self.scale_layers = nn.CellList()  # scale_layers[i] takes 2^(i+3) -> 2^(i+2)
        self.scale0_conv = EqualizedConv2d(d0 + 1, d0, 3, form=self.conv_form, resolution=4)
        self.scale0_linear = EqualizedLinear(4 * 4 * d0, d0)
        self.decision = EqualizedLinear(d0, 1)
        for _ in range(num_scales - 1):
            self._append_scale()
        name_parameters(self)

    def _new_scale(self, previous, depth, resolution):
        """The block taking the new scale's ``resolution`` to the previous one, and its fromRGB."""
        return (DBlock(depth, previous, self.slope, self.conv_form, resolution),
                EqualizedConv2d(self.image_channels, depth, 1, form=self.conv_form))

    def construct(self, x, alpha=0.0):
        n = x.shape[0]
        last = len(self.scale_layers)
        h = leaky_relu(self.from_rgb[last](x), self.slope)  # (N, d_last, R, R)
        if last > 0:
            y = leaky_relu(self.from_rgb[last - 1](downsample2x(x)), self.slope)  # (N, d_prev, R/2, R/2)
            h = self.scale_layers[last - 1](h)  # (N, d_prev, R/2, R/2)
            h = alpha * y + (1.0 - alpha) * h
            for j in range(last - 1):
                h = self.scale_layers[last - 2 - j](h)  # down to (N, d0, 4, 4)
        h = minibatch_stddev(h, self.stddev_group)  # (N, d0 + 1, 4, 4)
        h = leaky_relu(self.scale0_conv(h), self.slope)  # (N, d0, 4, 4)
        h = leaky_relu(self.scale0_linear(h.reshape(n, -1)), self.slope)  # (N, d0)
        return self.decision(h)  # (N, 1)


def blend_real_images(x, alpha):
    """Real images during a fade, as D sees G's: alpha * up(avgpool(x)) + (1 - alpha) * x. x [N, C, R, R]."""
    return alpha * upsample2x(downsample2x(x)) + (1.0 - alpha) * x
