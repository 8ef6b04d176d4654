"""Layers and networks: the reference parameter counts, the two convolution forms against nn.Conv2d
(forward, first derivative, and the gradient-penalty weight gradient, which needs double backward),
the penalty gradient against finite differences, pixel norm, minibatch stddev, fade-in, growth.

Everything runs in GRAPH_MODE (set for this module, restored after it): MindSpore 2.10's PyNative
double backward is wrong for ordinary ops, see pgan/customer_layer.py. Tensors are tiny because MindSpore's
CPU convolution is slow.
"""

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn, ops

from pgan.customer_layer import (
    EqualizedConv2d,
    EqualizedLinear,
    count_params,
    downsample2x,
    minibatch_stddev,
    pixel_norm,
    resolve_conv_form,
    set_conv_form,
    upsample2x,
)
from pgan.network_G import Generator
from pgan.network_D import Discriminator, blend_real_images

# pytorch_GAN_zoo's counts (shared/specs/pgan.md): resolution -> (G, D)
REFERENCE_COUNTS = {
    4: (6_563_843, 6_561_793),
    8: (11_284_998, 11_283_457),
    16: (16_006_153, 16_005_121),
    32: (20_727_308, 20_726_785),
    64: (22_498_063, 22_498_049),
    128: (22_941_074, 22_941_313),
}
TINY = (8, 8, 4)  # feature maps at 4, 8, 16


@pytest.fixture(autouse=True, scope="module")
def graph_mode():
    previous = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    yield
    ms.set_context(mode=previous)


def _tensor(rng, shape, dtype=ms.float32):
    return ms.Tensor(rng.standard_normal(shape), dtype)


class _Score(nn.Cell):
    """sum(r * net(x, *extra)): a scalar critic built around ``net`` with fixed random weights r."""

    def __init__(self, net, r, *extra):
        super().__init__()
        self.net = net
        self.r = r
        self.extra = extra

    def construct(self, x):
        return ops.sum(self.net(x, *self.extra) * self.r)


class _Penalty(nn.Cell):
    """||d score(x) / dx||^2: its gradient with respect to the weights is a double backward."""

    def __init__(self, score):
        super().__init__()
        self.score = score
        self.grad_x = ops.GradOperation()

    def construct(self, x):
        g = self.grad_x(self.score)(x)
        return ops.sum(g * g)


class _WeightGrads(nn.Cell):
    """d cell(x) / d params, as one compiled graph (called again, it reuses that graph)."""

    def __init__(self, cell, params):
        super().__init__()
        self.cell = cell
        self.params = ms.ParameterTuple(params)
        self.grad = ops.GradOperation(get_by_list=True)

    def construct(self, x):
        return self.grad(self.cell, self.params)(x)


def _weight_grads(cell, params, x):
    return [g.asnumpy() for g in _WeightGrads(cell, params)(x)]


def _assert_close(a, b, rtol=1e-4):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape
    scale = max(np.abs(b).max(), 1e-12)
    assert np.abs(a - b).max() <= rtol * scale, f"max diff {np.abs(a - b).max():.3e} vs scale {scale:.3e}"


# ---------------------------------------------------------------- parameter counts (build only)


def test_reference_parameter_counts_per_scale():
    G, D = Generator(), Discriminator()  # the paper: latent 512, depths 512 x4, 256, 128
    seen = {}
    for resolution in (4, 8, 16, 32, 64, 128):
        if resolution > 4:
            G.add_scale()
            D.add_scale()
        assert G.resolution == D.resolution == resolution
        seen[resolution] = (count_params(G), count_params(D))
    assert seen == REFERENCE_COUNTS
    # the minibatch-stddev channel: 513 -> 512 (the model zoo's D has 512 -> 512, 4,608 fewer)
    assert D.scale0_conv.weight.shape == (512, 513, 3, 3)
    assert len(D.from_rgb) == 6 and len(D.scale_layers) == 5  # every fromRGB kept, as in the reference
    with pytest.raises(ValueError, match="no scale left"):
        G.add_scale()
    with pytest.raises(ValueError, match="num_scales"):
        Generator(depths=TINY, num_scales=4)


# ---------------------------------------------------------------- the two convolution forms


@pytest.mark.parametrize("form, resolution", [("matmul", None), ("matmul", 4), ("native", None)],
                         ids=["im2col", "shift", "native"])
@pytest.mark.parametrize("k", [1, 3])
def test_conv_forms_match_nn_conv2d(form, resolution, k):
    rng = np.random.default_rng(k)
    eq = EqualizedConv2d(8, 6, k, form=form, resolution=resolution)
    assert (eq.shift is not None) == (resolution is not None and k > 1)
    eq.bias.set_data(_tensor(rng, (6,)))
    ref = nn.Conv2d(8, 6, k, pad_mode="pad", padding=k // 2, has_bias=True)
    ref.weight.set_data(ms.Tensor(eq.weight.asnumpy() * eq.scale))  # the same layer, scale folded in
    ref.bias.set_data(eq.bias.value())
    hw = (5, 3) if form == "matmul" and resolution is None else (4, 4)  # im2col: H != W too
    x = _tensor(rng, (2, 8) + hw)
    r = _tensor(rng, (2, 6) + hw)

    _assert_close(eq(x).asnumpy(), ref(x).asnumpy(), 1e-5)

    # first derivative: with respect to x and to the weights (d/dw = scale * d/dw_ref)
    s_eq, s_ref = _Score(eq, r), _Score(ref, r)
    _assert_close(ops.GradOperation()(s_eq)(x).asnumpy(), ops.GradOperation()(s_ref)(x).asnumpy(), 1e-5)
    g_eq = _weight_grads(s_eq, [eq.weight, eq.bias], x)
    g_ref = _weight_grads(s_ref, [ref.weight, ref.bias], x)
    _assert_close(g_eq[0], g_ref[0] * eq.scale, 1e-5)
    _assert_close(g_eq[1], g_ref[1], 1e-5)

    # the gradient penalty's weight gradient (double backward) through a leaky critic,
    # twice: a stale-buffer bug (ops.pad's gradient in GRAPH_MODE) shows only on the second call
    class Leaky(nn.Cell):
        def __init__(self, conv):
            super().__init__()
            self.conv = conv

        def construct(self, x):
            y = self.conv(x)
            return ops.maximum(y, 0.2 * y)

    p_eq, p_ref = _Penalty(_Score(Leaky(eq), r)), _Penalty(_Score(Leaky(ref), r))
    grads_eq = _WeightGrads(p_eq, [eq.weight, eq.bias])
    gp_ref = _weight_grads(p_ref, [ref.weight, ref.bias], x)
    assert np.abs(gp_ref[0]).max() > 0
    for _ in range(2):
        _assert_close(p_eq(x).asnumpy(), p_ref(x).asnumpy(), 1e-5)
        gp_eq = [g.asnumpy() for g in grads_eq(x)]
        _assert_close(gp_eq[0], gp_ref[0] * eq.scale, 1e-4)
    assert np.abs(gp_eq[1]).max() < 1e-5 * np.abs(gp_eq[0]).max()  # the bias has no second-order effect


def test_whole_critic_penalty_gradient_same_in_both_forms():
    ms.set_seed(1)
    D = Discriminator(depths=TINY, num_scales=2, stddev_group=2, conv_form="matmul")
    rng = np.random.default_rng(0)
    x = _tensor(rng, (4, 3, 8, 8))
    alpha = ms.Tensor(0.3, ms.float32)
    r = ms.Tensor(np.ones((4, 1)), ms.float32)
    params = D.trainable_params()
    forms = {}
    for form in ("matmul", "native"):
        set_conv_form(D, form)
        forms[form] = (D(x, alpha).asnumpy(), _weight_grads(_Penalty(_Score(D, r, alpha)), params, x))
    _assert_close(forms["matmul"][0], forms["native"][0], 1e-5)
    scale = max(np.abs(g).max() for g in forms["native"][1])  # biases' entries are ~1e-7 of it
    assert scale > 0
    for p, a, b in zip(params, forms["matmul"][1], forms["native"][1]):
        assert np.abs(a - b).max() <= 1e-4 * scale, p.name


def test_critic_penalty_gradient_matches_finite_differences():
    """Every op of D (both scales, the fade, stddev, linear) has the right second derivative;
    32 feature maps, so that every 3x3 convolution takes the shift form."""
    ms.set_seed(2)
    D = Discriminator(depths=(32, 32), num_scales=2, stddev_group=2, conv_form="matmul")
    assert all(c.shift is not None for _, c in D.cells_and_names()
               if isinstance(c, EqualizedConv2d) and c.kernel_size == 3)
    rng = np.random.default_rng(3)
    for p in D.trainable_params():  # float64, random biases too, so no term is trivially zero
        p.set_dtype(ms.float64)
        p.set_data(_tensor(rng, p.shape, ms.float64))
    x = _tensor(rng, (4, 3, 8, 8), ms.float64)
    penalty = _Penalty(_Score(D, ms.Tensor(np.ones((4, 1)), ms.float64), ms.Tensor(0.4, ms.float64)))
    grads = _weight_grads(penalty, D.trainable_params(), x)
    eps = 1e-6
    for p, g in zip(D.trainable_params(), grads):
        base = p.asnumpy().copy()
        for idx in {tuple(int(rng.integers(0, s)) for s in base.shape) for _ in range(2)}:
            values = []
            for sign in (1, -1):
                moved = base.copy()
                moved[idx] += sign * eps
                p.set_data(ms.Tensor(moved, ms.float64))
                values.append(float(penalty(x).asnumpy()))
            p.set_data(ms.Tensor(base, ms.float64))
            fd = (values[0] - values[1]) / (2 * eps)
            assert abs(fd - g[idx]) <= 1e-5 * (abs(fd) + 1.0), (p.name, idx, fd, g[idx])


def test_shift_form_up_to_8x8_and_its_matrix():
    from pgan.customer_layer import shift_matrix, uses_shift

    G = Generator(depths=(128, 128, 128, 128), latent_dim=4, num_scales=4, conv_form="matmul")   # 4 .. 32
    D = Discriminator(depths=(128, 128, 128, 128), num_scales=4, stddev_group=2, conv_form="matmul")
    for net in (G, D):
        sizes = {c.resolution: c.shift is not None for _, c in net.cells_and_names()
                 if isinstance(c, EqualizedConv2d) and c.kernel_size == 3}
        assert sizes == {4: True, 8: True, 16: False, 32: False}   # flat im2col from 16x16 (faster there)
    assert not uses_shift(8, 16) and uses_shift(8, 128) and not uses_shift(16, 128)
    assert not uses_shift(4, 64, kernel_size=1)
    # the 0/1 matrix on a 2x3 image: x @ S is the 3x3 "same" convolution's k*k taps, zero-padded
    x = np.arange(1.0, 7.0).reshape(2, 3)
    S = shift_matrix(2, 3, 3)
    taps = (np.tile(x.reshape(-1), 9)[None] * S.T)  # [HW out, 9*HW in]: tap t's input per output pixel
    padded = np.pad(x, 1)
    for t in range(9):
        window = padded[t // 3:t // 3 + 2, t % 3:t % 3 + 3].reshape(-1)
        assert np.array_equal(taps[:, t * 6:(t + 1) * 6].sum(axis=1), window)


def test_conv_form_auto_follows_the_device_target():
    expected = "matmul" if ms.get_context("device_target") == "CPU" else "native"
    assert resolve_conv_form("auto") == expected
    assert EqualizedConv2d(2, 2, 3).form == expected
    with pytest.raises(ValueError, match="conv form"):
        EqualizedConv2d(2, 2, 3, form="winograd")


# ---------------------------------------------------------------- the other layers


def test_equalized_init_and_linear():
    ms.set_seed(4)
    conv = EqualizedConv2d(64, 32, 3, form="matmul")
    w = conv.weight.asnumpy()
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1.0) < 0.02  # N(0, 1), 18,432 draws
    assert not conv.bias.asnumpy().any()
    assert conv.scale == pytest.approx(np.sqrt(2.0 / (64 * 9)))
    lin = EqualizedLinear(5, 3)
    x = _tensor(np.random.default_rng(0), (2, 5))
    expected = x.asnumpy() @ (lin.weight.asnumpy() * np.sqrt(2.0 / 5)).T
    _assert_close(lin(x).asnumpy(), expected, 1e-5)


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = ms.Tensor(np.random.default_rng(5).standard_normal((2, 8, 4, 4)) * 7.0 + 3.0, ms.float32)
    ms_per_pixel = (pixel_norm(x).asnumpy() ** 2).mean(axis=1)  # (N, H, W)
    assert ms_per_pixel.shape == (2, 4, 4)
    np.testing.assert_allclose(ms_per_pixel, 1.0, rtol=1e-5)
    z = ms.Tensor(np.full((3, 16), 5.0), ms.float32)  # latent vectors: normalised per sample
    np.testing.assert_allclose(pixel_norm(z).asnumpy(), 1.0, rtol=1e-5)


@pytest.mark.parametrize("n, group", [(4, 2), (3, 4), (4, 4)])
def test_minibatch_stddev_adds_one_channel(n, group):
    x = np.random.default_rng(6).standard_normal((n, 5, 4, 4)).astype(np.float32)
    y = minibatch_stddev(ms.Tensor(x), group).asnumpy()
    assert y.shape == (n, 6, 4, 4)
    np.testing.assert_array_equal(y[:, :5], x)
    g = min(n, group) if n % min(n, group) == 0 else n
    groups = x.reshape(n // g, g, 5, 4, 4)
    stat = np.sqrt(groups.var(axis=1, ddof=1) + 1e-8).mean(axis=(1, 2, 3))  # one value per group
    expected = np.repeat(stat, g)[:, None, None, None] * np.ones((n, 1, 4, 4))
    np.testing.assert_allclose(y[:, 5:], expected, rtol=1e-5)


def test_up_and_down_sampling():
    x = np.random.default_rng(7).standard_normal((2, 3, 4, 4)).astype(np.float32)
    up = upsample2x(ms.Tensor(x)).asnumpy()
    np.testing.assert_array_equal(up, x.repeat(2, axis=2).repeat(2, axis=3))  # nearest
    down = downsample2x(ms.Tensor(x)).asnumpy()
    np.testing.assert_allclose(down, x.reshape(2, 3, 2, 2, 2, 2).mean(axis=(3, 5)), rtol=1e-6)
    np.testing.assert_allclose(downsample2x(ms.Tensor(up)).asnumpy(), x, rtol=1e-6)
    half = ms.Tensor(0.5, ms.float32)
    blended = blend_real_images(ms.Tensor(x), half).asnumpy()
    np.testing.assert_allclose(blended, 0.5 * down.repeat(2, 2).repeat(2, 3) + 0.5 * x, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- growth and fade-in


def _alpha(a):
    return ms.Tensor(a, ms.float32)


def test_generator_fade_in():
    ms.set_seed(8)
    G = Generator(depths=TINY, latent_dim=8)
    z = _tensor(np.random.default_rng(8), (2, 8))
    old = G(z, _alpha(0.0)).asnumpy()
    assert old.shape == (2, 3, 4, 4)
    G.add_scale()
    start, end = G(z, _alpha(1.0)).asnumpy(), G(z, _alpha(0.0)).asnumpy()
    assert end.shape == (2, 3, 8, 8)
    # alpha = 1: the previous scale's image, nearest up-sampled
    np.testing.assert_allclose(start, old.repeat(2, 2).repeat(2, 3), rtol=1e-5, atol=1e-6)
    assert np.abs(end - start).max() > 1e-3
    _assert_close(G(z, _alpha(0.25)).asnumpy(), 0.25 * start + 0.75 * end, 1e-5)
    # alpha = 0: the newest scale alone (the previous toRGB no longer matters)
    G.to_rgb[0].weight.set_data(G.to_rgb[0].weight.value() * 3.0)
    np.testing.assert_allclose(G(z, _alpha(0.0)).asnumpy(), end, rtol=1e-5, atol=1e-6)
    assert np.abs(G(z, _alpha(1.0)).asnumpy() - start).max() > 1e-3


def test_discriminator_fade_in():
    ms.set_seed(9)
    D = Discriminator(depths=TINY, stddev_group=2)
    x = _tensor(np.random.default_rng(9), (4, 3, 8, 8))
    old = D(downsample2x(x), _alpha(0.0)).asnumpy()
    D.add_scale()
    start, end = D(x, _alpha(1.0)).asnumpy(), D(x, _alpha(0.0)).asnumpy()
    # alpha = 1: the previous scale's D on the average-pooled image
    _assert_close(start, old, 1e-5)
    assert np.abs(end - start).max() > 1e-4 * np.abs(start).max()
    D.from_rgb[0].weight.set_data(D.from_rgb[0].weight.value() * 3.0)
    _assert_close(D(x, _alpha(0.0)).asnumpy(), end, 1e-5)  # alpha = 0: fromRGB_prev unused


@pytest.mark.parametrize("cls", [Generator, Discriminator])
def test_add_scale_keeps_the_trained_layers(cls, tmp_path):
    ms.set_seed(10)
    kwargs = {"latent_dim": 8} if cls is Generator else {}
    net = cls(depths=TINY, **kwargs)
    before = {p.name: (p, p.asnumpy().copy()) for p in net.trainable_params()}
    net.add_scale()
    after = {p.name: p for p in net.trainable_params()}
    for name, (param, value) in before.items():
        assert after[name] is param  # the same Parameter object, under the same name
        np.testing.assert_array_equal(param.asnumpy(), value)
    assert len(after) == len(before) + 6  # two 3x3 convs and one 1x1 conv, weight + bias each
    # grown == built at that scale: the same names, so a checkpoint moves between the two
    net.add_scale()
    built = cls(depths=TINY, num_scales=3, **kwargs)
    assert [p.name for p in net.trainable_params()] == [p.name for p in built.trainable_params()]
    assert [p.shape for p in net.trainable_params()] == [p.shape for p in built.trainable_params()]
    path = str(tmp_path / "net.ckpt")
    ms.save_checkpoint(net, path)
    assert ms.load_param_into_net(built, ms.load_checkpoint(path)) == ([], [])
    x = _tensor(np.random.default_rng(10), (2, 8) if cls is Generator else (2, 3, 16, 16))
    np.testing.assert_array_equal(net(x, _alpha(0.5)).asnumpy(), built(x, _alpha(0.5)).asnumpy())

