"""The training step: Adam with beta1 = 0 against numpy, the loss-scale rule, the critic's and G's
gradients (the penalty's is a double backward) against finite differences, and one TrainStep:
losses, the EMA, real-image blending, fresh mixing coefficients, overflow skipping and stopping.

GRAPH_MODE for the whole module (PyNative's double backward is wrong, see pgan/customer_layer.py).
"""

import math

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from pgan import losses
from pgan.config import PGANConfig
from pgan.customer_layer import downsample2x, upsample2x
from pgan.network_G import Generator
from pgan.network_D import Discriminator
from pgan.optimizer import Adam, LossScale
from pgan.step import CriticGradients, GeneratorGradients, TrainStep, copy_parameters


@pytest.fixture(autouse=True, scope="module")
def graph_mode():
    previous = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    yield
    ms.set_context(mode=previous)


def _t(a, dtype=ms.float32):
    return ms.Tensor(np.asarray(a), dtype)


class _Apply(nn.Cell):
    def __init__(self, opt):
        super().__init__()
        self.opt = opt

    def construct(self, g0, g1, apply):
        return self.opt((g0, g1), apply)


def _numpy_adam(p, grads, lr, b1, b2, eps=1e-8):
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return p


@pytest.mark.parametrize("beta1", [0.0, 0.5])
def test_adam_matches_numpy_and_skips_when_told(beta1):
    rng = np.random.default_rng(0)
    w0, b0 = rng.standard_normal((3, 2)).astype(np.float32), rng.standard_normal(2).astype(np.float32)
    w, b = ms.Parameter(_t(w0), name="w"), ms.Parameter(_t(b0), name="b")
    opt = Adam([w, b], lr=0.1, beta1=beta1, beta2=0.99)
    step = _Apply(opt)
    grads = [(rng.standard_normal((3, 2)).astype(np.float32), rng.standard_normal(2).astype(np.float32))
             for _ in range(3)]
    step(_t(grads[0][0]), _t(grads[0][1]), _t(True, ms.bool_))
    step(_t(grads[1][0] * 1e3), _t(grads[1][1]), _t(False, ms.bool_))   # skipped: nothing moves
    step(_t(grads[2][0]), _t(grads[2][1]), _t(True, ms.bool_))
    used = [grads[0], grads[2]]
    np.testing.assert_allclose(w.asnumpy(), _numpy_adam(w0, [g[0] for g in used], 0.1, beta1, 0.99), rtol=1e-5)
    np.testing.assert_allclose(b.asnumpy(), _numpy_adam(b0, [g[1] for g in used], 0.1, beta1, 0.99), rtol=1e-5)
    assert float(opt.t.asnumpy()) == 2.0
    assert sorted(n for n, _ in opt.slots.parameters_and_names()) == ["lr", "m0", "m1", "t", "v0", "v1"]


def test_loss_scale_rule():
    s = LossScale(exponent=12, factor=10.0, window=3)
    assert s.scale == 4096.0
    s.update(False)
    assert (s.scale, s.streak) == (409.6, 1)
    for _ in range(3):
        s.update(True)
    assert (s.scale, s.streak, s.good) == (4096.0, 0, 0)
    for _ in range(6):
        s.update(False)
    assert s.scale == 1.0 and s.streak == 6            # never below 1
    again = LossScale()
    again.load_state_dict(s.state_dict())
    assert again.state_dict() == s.state_dict()


def _float64(net, rng):
    for p in net.trainable_params():                 # random biases too: no term is trivially zero
        p.set_dtype(ms.float64)
        p.set_data(_t(rng.standard_normal(p.shape) * 0.5, ms.float64))


def _check_against_finite_differences(params, grads, loss, rng, eps=1e-6):
    scale = max(np.abs(g).max() for g in grads)
    assert scale > 0
    checked = 0
    for p, g in zip(params, grads):
        base = p.asnumpy().copy()
        idx = tuple(int(rng.integers(0, s)) for s in base.shape)
        values = []
        for sign in (1, -1):
            moved = base.copy()
            moved[idx] += sign * eps
            p.set_data(_t(moved, ms.float64))
            values.append(loss())
        p.set_data(_t(base, ms.float64))
        fd = (values[0] - values[1]) / (2 * eps)
        assert abs(fd - g[idx]) <= 1e-5 * (abs(fd) + 1.0), (p.name, idx, fd, g[idx])
        checked += 1
    return checked


def test_critic_gradients_match_finite_differences():
    """Wasserstein + drift + penalty through a growing D in a fade: the step's whole D gradient."""
    rng = np.random.default_rng(1)
    D = Discriminator(depths=(4, 4), num_scales=2, stddev_group=2, conv_form="matmul")
    _float64(D, rng)
    real, fake = _t(rng.standard_normal((4, 3, 8, 8)), ms.float64), _t(rng.standard_normal((4, 3, 8, 8)), ms.float64)
    e = _t(rng.uniform(size=(4, 1, 1, 1)), ms.float64)
    x_hat = losses.mix_images(real, fake, e)
    alpha, scale = _t(0.3, ms.float64), _t(1024.0, ms.float64)
    grads_cell = CriticGradients(D, lambda_gp=10.0, epsilon=0.001)
    loss_w, loss_gp, grads = grads_cell(real, fake, x_hat, alpha, scale)
    grads = [g.asnumpy() for g in grads]

    def total():
        return float(grads_cell.wasserstein(real, fake, alpha).asnumpy()
                     + grads_cell.penalty(x_hat, alpha).asnumpy())

    assert float(loss_w.asnumpy() + loss_gp.asnumpy()) == pytest.approx(total(), rel=1e-12)
    assert float(loss_gp.asnumpy()) > 0
    assert _check_against_finite_differences(D.trainable_params(), grads, total, rng) == len(grads)


def test_generator_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    G = Generator(depths=(4, 4), latent_dim=4, num_scales=2, conv_form="matmul")
    D = Discriminator(depths=(4, 4), num_scales=2, stddev_group=2, conv_form="matmul")
    _float64(G, rng), _float64(D, rng)
    z, alpha = _t(rng.standard_normal((4, 4)), ms.float64), _t(0.6, ms.float64)
    cell = GeneratorGradients(G, D)
    loss, grads = cell(z, alpha, _t(8.0, ms.float64))
    grads = [g.asnumpy() for g in grads]
    assert len(grads) == len(G.trainable_params())
    total = lambda: float(cell.loss(z, alpha).asnumpy())  # noqa: E731
    assert float(loss.asnumpy()) == pytest.approx(total(), rel=1e-12)
    assert _check_against_finite_differences(G.trainable_params(), grads, total, rng) == len(grads)


# ---------------------------------------------------------------- one TrainStep (4x4, the tiny widths)


@pytest.fixture(scope="module")
def tiny():
    cfg = PGANConfig.tiny().replace(max_overflow_streak=3)
    G = Generator(cfg.depth, cfg.latent_dim, conv_form=cfg.conv_form)
    D = Discriminator(cfg.depth, stddev_group=cfg.stddev_group, conv_form=cfg.conv_form)
    avg_G = Generator(cfg.depth, cfg.latent_dim, conv_form=cfg.conv_form)
    copy_parameters(G, avg_G)
    opt_d, opt_g = Adam(D.trainable_params()), Adam(G.trainable_params())
    step = TrainStep(cfg, G, D, avg_G, opt_d, opt_g, LossScale(), LossScale(), np.random.default_rng(0))
    x = np.random.default_rng(3).uniform(-1, 1, (4, 3, 4, 4)).astype(np.float32)
    return step, x


def _params(net):
    return [p.asnumpy().copy() for p in net.trainable_params()]


def test_step_trains_both_networks_and_averages_g(tiny):
    step, x = tiny
    g0, d0, a0 = _params(step.G), _params(step.D), _params(step.avg_G)
    out = step(x, 0.0)
    assert set(out) >= {"loss/D", "loss/G", "loss/D_gp", "grad_norm/D", "grad_norm/G"}
    assert all(math.isfinite(v) for v in out.values()) and out["overflow/D"] == out["overflow/G"] == 0
    assert out["loss/D_gp"] > 0
    g1 = _params(step.G)
    assert all(not np.array_equal(a, b) for a, b in zip(g0, g1) if a.size > 1)
    assert any(not np.array_equal(a, b) for a, b in zip(d0, _params(step.D)))
    for before, after, g in zip(a0, _params(step.avg_G), g1):      # avgG <- 0.999 avgG + 0.001 G
        np.testing.assert_allclose(after, 0.999 * before + 0.001 * g, rtol=1e-5, atol=1e-7)


def test_fresh_mixing_coefficients_every_step(tiny):
    step, _ = tiny
    state = step.rng.bit_generator.state
    first, second = step.draws(4), step.draws(4)
    assert not np.array_equal(first[1], second[1]) and first[1].shape == (4, 1, 1, 1)
    assert ((0 <= first[1]) & (first[1] < 1)).all()
    step.rng.bit_generator.state = state
    np.testing.assert_array_equal(step.draws(4)[1], first[1])      # all from the checkpointed generator


def test_critic_sees_blended_real_images(tiny):
    step, x = tiny
    step.opt_d.set_lr(0.0)   # nothing moves: the same critic for every call
    z, e, _ = step.draws(4)
    scale = _t(4096.0)
    blocky = upsample2x(downsample2x(_t(x))).asnumpy()

    def loss(images, alpha):
        return float(step.critic(_t(images), _t(z), _t(e), _t(alpha), scale)[0].asnumpy())

    assert loss(x, 1.0) == pytest.approx(loss(blocky, 1.0), rel=1e-5)      # alpha = 1: up(avgpool(x))
    assert loss(x, 0.0) != pytest.approx(loss(blocky, 0.0), rel=1e-3)      # alpha = 0: x itself
    step.opt_d.set_lr(0.001)


def test_overflow_skips_then_stops(tiny):
    step, x = tiny
    d0 = _params(step.D)
    t0 = float(step.opt_d.t.asnumpy())
    step.scaler_d.scale = 1e38            # scaled gradients overflow float32
    out = step(x, 0.0)
    assert out["overflow/D"] == 1 and "grad_norm/D" not in out and out["overflow/G"] == 0
    assert all(np.array_equal(a, b) for a, b in zip(d0, _params(step.D)))   # skipped: D unchanged
    assert float(step.opt_d.t.asnumpy()) == t0 and step.scaler_d.scale == pytest.approx(1e37)
    for _ in range(2):                    # max_overflow_streak = 3 in this fixture
        step.scaler_d.scale = 1e38
        out = step(x, 0.0)
    assert out["overflow/D"] == 3 and not math.isfinite(out["grad_norm/D"])   # the driver stops here
    step.scaler_d.scale = 4096.0
    out = step(x, 0.0)
    assert out["overflow/D"] == 0 and math.isfinite(out["grad_norm/D"])
    assert any(not np.array_equal(a, b) for a, b in zip(d0, _params(step.D)))


def test_micro_batches_give_the_whole_batch_update(monkeypatch):
    """micro_batch 2 on a batch of 4 (stddev groups of 2 stay whole): the same losses, gradient
    norms and updated G, D and avgG as one pass over the batch, at 8x8 during a fade."""
    import pgan.step

    chunked_calls = []
    accumulate = pgan.step._accumulate
    monkeypatch.setattr(pgan.step, "_accumulate", lambda *a: chunked_calls.append(a[3]) or accumulate(*a))
    results = []
    for micro in (0, 2):
        cfg = PGANConfig.tiny().replace(batch_size=4, stddev_group=2, micro_batch=micro)
        ms.set_seed(5)
        G = Generator(cfg.depth, cfg.latent_dim, num_scales=2, conv_form=cfg.conv_form)
        D = Discriminator(cfg.depth, num_scales=2, stddev_group=2, conv_form=cfg.conv_form)
        avg_G = Generator(cfg.depth, cfg.latent_dim, num_scales=2, conv_form=cfg.conv_form)
        copy_parameters(G, avg_G)
        step = TrainStep(cfg, G, D, avg_G, Adam(D.trainable_params()), Adam(G.trainable_params()),
                         LossScale(), LossScale(), np.random.default_rng(0))
        x = np.random.default_rng(6).uniform(-1, 1, (4, 3, 8, 8)).astype(np.float32)
        before = _params(D) + _params(G)
        out = step(x, 0.5)
        results.append((out, before, _params(D) + _params(G) + _params(avg_G)))
    assert chunked_calls == [2, 2]          # critic and G in chunks of 2, only when micro_batch is set
    (whole, before, p_whole), (chunked, _, p_chunked) = results
    assert max(np.abs(a - b).max() for a, b in zip(before, p_whole)) > 1e-4   # the update moved them
    for key in ("loss/D", "loss/G", "loss/D_gp", "grad_norm/D", "grad_norm/G"):   # sums, not means
        assert chunked[key] == pytest.approx(whole[key], rel=1e-5), key
    assert max(np.abs(a - b).max() for a, b in zip(p_whole, p_chunked)) < 1e-6
