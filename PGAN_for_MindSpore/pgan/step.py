"""One PGAN training iteration at a fixed scale: the critic (WGAN-GP + drift), then G, then the EMA.

    step = TrainStep(cfg, G, D, avg_G, opt_d, opt_g, scaler_d, scaler_g, rng)
    scalars = step(x_real, alpha)     # {"loss/D", "loss/G", "loss/D_gp", "overflow/D", "overflow/G", ...}

n_critic is 1. Every random draw (z for the critic, the penalty's mixing coefficients e, z for G)
comes from ``rng``, a ``numpy.random.Generator`` kept in the checkpoint, so a resumed run draws
what an uninterrupted one would; e is drawn afresh every step (the model-zoo version fixed it when
the graph was compiled).

Each part is one compiled cell (MindSpore GRAPH_MODE; PyNative's double backward is wrong, see
pgan/customer_layer.py): ``CriticStep`` blends the real images, draws G(z) and applies Adam to the
gradient ``CriticGradients`` computes as two ``value_and_grad`` of two cells in one graph, the
penalty's (a gradient of a gradient) and the Wasserstein + drift one (one cell holding both the
first-order and the nested use of D does not compile in MindSpore 2.10: "The
pointer[real_primal_func] is null"); ``GeneratorStep`` (over ``GeneratorGradients``) and
``AverageGenerator`` (avgG <- decay * avgG + (1 - decay) * G) are the other two. The
``*Gradients`` cells are what the tests compare with finite differences.

With ``cfg.micro_batch`` = m below the batch size, the same update is made from chunks of m
images: ``CriticStep.losses`` (blend, G(z), the gradients) runs per chunk, the gradients and
losses are summed (every loss is a sum over images; m is a multiple of the minibatch-stddev
group), and ``CriticStep.update`` (``ApplyGradients``: the finite check and Adam) runs once; the
same for G. Less memory for the same result (the 32x32 fade at paper widths needs it in 24 GB).

Loss scaling and Adam (beta1 = 0) are in optimizer.py; ``overflow/D`` counts the skipped steps in a
row; when it reaches ``max_overflow_streak`` the step reports the non-finite gradient norm
``grad_norm/D`` and the training driver stops the run cleanly (nothing saved, one line).
"""

from __future__ import annotations

import mindspore as ms
import numpy as np
from mindspore import nn, ops

from . import losses
from .network_D import blend_real_images


def require_graph_mode() -> None:
    """The penalty's second derivative is only right in a compiled graph (pgan/customer_layer.py)."""
    if ms.get_context("mode") != ms.GRAPH_MODE:
        ms.set_context(mode=ms.GRAPH_MODE)


def _global_norm(grads):
    total = 0.0
    for g in grads:
        total = total + ops.sum(g * g)
    return ops.sqrt(total)


class _Scaled(nn.Cell):
    """cell(*inputs) * scale: the loss whose gradient is taken (scale is the last input)."""

    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def construct(self, *inputs):
        return self.cell(*inputs[:-1]) * inputs[-1]


class _CriticSum(nn.Cell):
    """sum D(x, alpha): its gradient with respect to x is grad_x D."""

    def __init__(self, D):
        super().__init__()
        self.D = D

    def construct(self, x, alpha):
        return ops.sum(self.D(x, alpha))


class CriticPenalty(nn.Cell):
    """lambda * sum_i (||grad_x^ D(x^_i)||_2 - 1)^2 at the mixed images x^."""

    def __init__(self, D, weight=10.0):
        super().__init__()
        self.critic_sum = _CriticSum(D)
        self.grad_x = ops.GradOperation()
        self.weight = float(weight)

    def construct(self, x_hat, alpha):
        return losses.gradient_penalty(self.grad_x(self.critic_sum)(x_hat, alpha), self.weight)


class CriticWasserstein(nn.Cell):
    """-sum D(x) + sum D(G(z)) + eps * sum D(x)^2."""

    def __init__(self, D, epsilon=0.001):
        super().__init__()
        self.D = D
        self.epsilon = float(epsilon)

    def construct(self, real, fake, alpha):
        real_scores = self.D(real, alpha)
        return losses.wgan_d(real_scores, self.D(fake, alpha)) + losses.epsilon_drift(real_scores, self.epsilon)


class CriticGradients(nn.Cell):
    """(real, fake, x^, alpha, scale) -> (Wasserstein + drift, penalty, their gradient w.r.t. D's
    weights). The losses are multiplied by ``scale`` before differentiation and the gradients
    divided by it afterwards (loss scaling); the values returned are unscaled."""

    def __init__(self, D, lambda_gp=10.0, epsilon=0.001):
        super().__init__()
        self.wasserstein = CriticWasserstein(D, epsilon)
        self.penalty = CriticPenalty(D, lambda_gp)
        self.weights = ms.ParameterTuple(D.trainable_params())
        self.grad_w = ops.value_and_grad(_Scaled(self.wasserstein), None, self.weights)
        self.grad_gp = ops.value_and_grad(_Scaled(self.penalty), None, self.weights)

    def construct(self, real, fake, x_hat, alpha, scale):
        loss_w, g_w = self.grad_w(real, fake, alpha, scale)   # scale * (Wasserstein + drift)
        loss_gp, g_gp = self.grad_gp(x_hat, alpha, scale)    # scale * penalty
        grads = [(a + b) / scale for a, b in zip(g_w, g_gp)]
        return loss_w / scale, loss_gp / scale, grads


class CriticLosses(nn.Cell):
    """The critic's pass without its update: (x [N,C,R,R] in [-1, 1], z, e [N,1,1,1], alpha, scale)
    -> (Wasserstein + drift, penalty, gradients). Every loss is a sum over the images, so the
    gradients of chunks of a batch add up to the batch's (see ``micro_batch``)."""

    def __init__(self, G, gradients):
        super().__init__()
        self.G = G
        self.gradients = gradients

    def construct(self, x, z, e, alpha, scale):
        real = blend_real_images(x, alpha)  # alpha * up(avgpool(x)) + (1 - alpha) * x, as G's output
        fake = ops.stop_gradient(self.G(z, alpha))  # (N, C, R, R)
        x_hat = losses.mix_images(real, fake, e)
        return self.gradients(real, fake, x_hat, alpha, scale)


class ApplyGradients(nn.Cell):
    """grads -> (finite, global norm): one optimizer update, skipped when a gradient is not finite."""

    def __init__(self, opt):
        super().__init__()
        self.opt = opt

    def construct(self, grads):
        finite = ms.amp.all_finite(grads)
        return ops.depend(finite, self.opt(grads, finite)), _global_norm(grads)


class CriticStep(nn.Cell):
    """One critic update: (x [N,C,R,R] in [-1, 1], z, e [N,1,1,1], alpha, scale) -> (loss, gp, finite, norm)."""

    def __init__(self, G, D, opt, lambda_gp=10.0, epsilon=0.001):
        super().__init__()
        self.losses = CriticLosses(G, CriticGradients(D, lambda_gp, epsilon))
        self.update = ApplyGradients(opt)

    def construct(self, x, z, e, alpha, scale):
        loss_w, loss_gp, grads = self.losses(x, z, e, alpha, scale)
        finite, norm = self.update(grads)
        return loss_w + loss_gp, loss_gp, finite, norm


class _GeneratorLoss(nn.Cell):
    def __init__(self, G, D):
        super().__init__()
        self.G = G
        self.D = D

    def construct(self, z, alpha):
        return losses.wgan_g(self.D(self.G(z, alpha), alpha))


class GeneratorGradients(nn.Cell):
    """(z, alpha, scale) -> (-sum D(G(z)), its gradient w.r.t. G's weights), loss-scaled as above."""

    def __init__(self, G, D):
        super().__init__()
        self.loss = _GeneratorLoss(G, D)
        self.weights = ms.ParameterTuple(G.trainable_params())
        self.grad = ops.value_and_grad(_Scaled(self.loss), None, self.weights)

    def construct(self, z, alpha, scale):
        loss, grads = self.grad(z, alpha, scale)
        return loss / scale, [g / scale for g in grads]


class GeneratorStep(nn.Cell):
    """One G update: (z, alpha, scale) -> (loss, finite, norm); D is not changed."""

    def __init__(self, G, D, opt):
        super().__init__()
        self.gradients = GeneratorGradients(G, D)
        self.update = ApplyGradients(opt)

    def construct(self, z, alpha, scale):
        loss, grads = self.gradients(z, alpha, scale)
        finite, norm = self.update(grads)
        return loss, finite, norm


class AverageGenerator(nn.Cell):
    """avgG <- decay * avgG + (1 - decay) * G, parameter by parameter (the same architecture)."""

    def __init__(self, G, avg_G):
        super().__init__()
        self.G = G
        self.avg_G = avg_G
        self.source = ms.ParameterTuple(G.trainable_params())
        self.average = ms.ParameterTuple(avg_G.trainable_params())

    def construct(self, decay):
        for s, a in zip(self.source, self.average):
            ops.assign(a, a * decay + s * (1.0 - decay))
        return decay


def copy_parameters(source, target) -> None:
    """target's trainable parameters <- source's (the same architecture): avgG = G at a new scale."""
    for s, t in zip(source.trainable_params(), target.trainable_params()):
        if s.shape != t.shape:
            raise ValueError(f"cannot copy {s.name} {s.shape} into {t.name} {t.shape}")
        t.set_data(ms.Tensor(s.asnumpy()))


def _f32(a):
    return ms.Tensor(np.asarray(a, np.float32))


def _accumulate(gradients, apply, arrays, m: int, *shared):
    """Sum ``gradients(*chunk, *shared)`` -> (*values, grads) over the chunks of m rows of
    ``arrays``, then ``apply`` the summed gradients once: ((*values), finite, norm).

    Exact for sums over images when no op couples images across chunks: the minibatch stddev's
    groups must not straddle them (``PGANConfig`` requires m to be a multiple of stddev_group)."""
    values, grads = None, None
    for start in range(0, len(arrays[0]), m):
        out = gradients(*[_f32(a[start:start + m]) for a in arrays], *shared)
        if values is None:
            values, grads = list(out[:-1]), list(out[-1])
        else:
            values = [v + w for v, w in zip(values, out[:-1])]
            grads = [g + h for g, h in zip(grads, out[-1])]
    finite, norm = apply(ms.mutable(tuple(grads)))   # a graph input, not a constant: no recompiling
    return values, finite, norm


class TrainStep:
    """A PGAN iteration over (G, D, avgG) at their current scale, with their optimizers and scalers."""

    def __init__(self, cfg, G, D, avg_G, opt_d, opt_g, scaler_d, scaler_g, rng):
        require_graph_mode()
        self.cfg = cfg
        self.G, self.D, self.avg_G = G, D, avg_G
        self.rng = rng
        self.opt_d, self.opt_g = opt_d, opt_g
        self.scaler_d, self.scaler_g = scaler_d, scaler_g
        self.critic = CriticStep(G, D, opt_d, cfg.lambda_gp, cfg.epsilon_drift)
        self.generator = GeneratorStep(G, D, opt_g)
        self.average = AverageGenerator(G, avg_G)
        self.decay = _f32(cfg.ema_decay)

    def draws(self, n: int):
        """(z_D [n, latent], e [n, 1, 1, 1], z_G [n, latent]) from the checkpointed generator."""
        latent = self.G.latent_dim
        z_d = self.rng.standard_normal((n, latent), dtype=np.float32)
        e = self.rng.uniform(size=(n, 1, 1, 1)).astype(np.float32)
        z_g = self.rng.standard_normal((n, latent), dtype=np.float32)
        return z_d, e, z_g

    def __call__(self, x_real, alpha) -> dict:
        """One iteration on real images ``x_real`` (float32 [N, C, R, R] in [-1, 1]) at fade ``alpha``."""
        x = np.asarray(x_real, np.float32)
        z_d, e, z_g = self.draws(x.shape[0])
        a = _f32(alpha)
        scale_d, scale_g = _f32(self.scaler_d.scale), _f32(self.scaler_g.scale)
        m = self.cfg.micro_batch
        if 0 < m < x.shape[0]:          # the same update from chunks of m images (less memory)
            (loss_w, gp), finite_d, norm_d = _accumulate(self.critic.losses, self.critic.update,
                                                         (x, z_d, e), m, a, scale_d)
            loss_d = loss_w + gp
            (loss_g,), finite_g, norm_g = _accumulate(self.generator.gradients, self.generator.update,
                                                      (z_g,), m, a, scale_g)
        else:
            loss_d, gp, finite_d, norm_d = self.critic(_f32(x), _f32(z_d), _f32(e), a, scale_d)
            loss_g, finite_g, norm_g = self.generator(_f32(z_g), a, scale_g)
        self.scaler_d.update(bool(finite_d.asnumpy()))
        self.scaler_g.update(bool(finite_g.asnumpy()))
        self.average(self.decay)
        out = {"loss/D": float(loss_d.asnumpy()), "loss/G": float(loss_g.asnumpy()),
               "loss/D_gp": float(gp.asnumpy()),
               "overflow/D": self.scaler_d.streak, "overflow/G": self.scaler_g.streak}
        limit = self.cfg.max_overflow_streak
        for key, scaler, norm in (("D", self.scaler_d, norm_d), ("G", self.scaler_g, norm_g)):
            if scaler.streak == 0 or scaler.streak >= limit:   # a skipped step's norm is not reported
                out[f"grad_norm/{key}"] = float(norm.asnumpy())
        return out
