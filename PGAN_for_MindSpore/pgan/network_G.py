"""Generator of progressive growing (Karras et al., ICLR 2018, table 2), in MindSpore (the card's
src/network_G.py).

G starts at 4x4 and grows one scale at a time with ``add_scale()``; the layers of the scales
already trained are kept (the same Parameter objects). The layout and the parameter counts follow
facebookresearch/pytorch_GAN_zoo (at 128x128: G 22,941,074), including its fade-in convention:

    alpha = 1: the previous scale's output, up-sampled (the start of a fade)
    alpha = 0: the newest scale alone (the end of a fade, and every later iteration)

    G(z, alpha) = alpha * up(toRGB_prev(h_prev)) + (1 - alpha) * toRGB_new(h_new)

so a fully grown G is evaluated and exported as G(z, 0.0). Images are NCHW; G has no output
activation (linear toRGB). The critic is in network_D.py.

Example::

    import mindspore as ms
    from pgan.network_G import Generator
    G = Generator(depths=(16, 16, 8), latent_dim=16)    # 4x4; the paper: Generator()
    G.add_scale()                                       # 8x8, fading in
    x = G(ms.ops.randn(2, 16), ms.Tensor(0.5, ms.float32))   # [2, 3, 8, 8]
"""

from mindspore import nn

from .customer_layer import (
    Growing,
    PAPER_DEPTHS,
    PAPER_LATENT_DIM,
    EqualizedConv2d,
    EqualizedLinear,
    check_depths,
    leaky_relu,
    name_parameters,
    pixel_norm,
    resolve_conv_form,
    upsample2x,
)


class GBlock(nn.Cell):
    """One G scale: nearest x2 -> [EqConv3 -> leaky -> PixelNorm] x 2. (N, in, R, R) -> (N, out, 2R, 2R)."""

    def __init__(self, in_depth, out_depth, slope=0.2, form="auto", resolution=None):
        super().__init__()  # resolution: the block's output size 2R (the convolutions' size)
        self.conv1 = EqualizedConv2d(in_depth, out_depth, 3, form=form, resolution=resolution)
        self.conv2 = EqualizedConv2d(out_depth, out_depth, 3, form=form, resolution=resolution)
        self.slope = slope

    def construct(self, x):
        x = upsample2x(x)  # (N, in, 2R, 2R)
        x = pixel_norm(leaky_relu(self.conv1(x), self.slope))  # (N, out, 2R, 2R)
        return pixel_norm(leaky_relu(self.conv2(x), self.slope))


class Generator(Growing, nn.Cell):
    """Progressive generator: z [N, latent_dim], alpha (scalar) -> image [N, image_channels, R, R].

    R = 4 * 2 ** (num_scales - 1); ``add_scale()`` doubles R using the next entry of ``depths``.
    """

    RGB = "to_rgb"  # one toRGB per scale built

    def __init__(
        self,
        depths=PAPER_DEPTHS,           # feature maps per scale (4x4 first); the schedule add_scale() follows
        latent_dim=PAPER_LATENT_DIM,   # size of z
        num_scales=1,                  # scales built now (1 = 4x4 only)
        image_channels=3,              # RGB
        leaky_slope=0.2,               # leaky ReLU slope
        conv_form="auto",              # "matmul" (CPU) / "native" (GPU, Ascend) / "auto": by device target
    ):
        super().__init__()
        self.depths = check_depths(depths, num_scales)
        self.latent_dim = int(latent_dim)
        self.image_channels = int(image_channels)
        self.slope = float(leaky_slope)
        self.conv_form = resolve_conv_form(conv_form)
        d0 = self.depths[0]
        self.format_layer = EqualizedLinear(self.latent_dim, 4 * 4 * d0)  # z -> (N, 16*d0)
        self.scale0 = EqualizedConv2d(d0, d0, 3, form=self.conv_form, resolution=4)
        self.scale_layers = nn.CellList()
        self.to_rgb = nn.CellList([EqualizedConv2d(d0, self.image_channels, 1, form=self.conv_form)])
        for _ in range(num_scales - 1):
            self._append_scale()
        name_parameters(self)

    def _new_scale(self, previous, depth, resolution):
        """The block taking the previous scale to ``resolution``, and its toRGB."""
        return (GBlock(previous, depth, self.slope, self.conv_form, resolution),
                EqualizedConv2d(depth, self.image_channels, 1, form=self.conv_form))

    def construct(self, z, alpha=0.0):
        n = z.shape[0]
        d0 = self.depths[0]
        x = pixel_norm(z)  # (N, latent)
        x = leaky_relu(self.format_layer(x), self.slope)  # (N, 16*d0)
        x = pixel_norm(x.reshape(n, d0, 4, 4))  # (N, d0, 4, 4)
        x = pixel_norm(leaky_relu(self.scale0(x), self.slope))  # (N, d0, 4, 4)
        last = len(self.scale_layers)
        if last == 0:
            return self.to_rgb[0](x)  # (N, 3, 4, 4)
        for i in range(last - 1):
            x = self.scale_layers[i](x)  # (N, d_{i+1}, 2^(i+3), 2^(i+3))
        y = upsample2x(self.to_rgb[last - 1](x))  # previous scale's image, up-sampled: (N, 3, R, R)
        x = self.to_rgb[last](self.scale_layers[last - 1](x))  # newest scale's image: (N, 3, R, R)
        return alpha * y + (1.0 - alpha) * x
