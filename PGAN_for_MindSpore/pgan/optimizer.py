"""The optimizer side of a PGAN step (the card's src/optimizer.py): Adam with beta1 = 0 and the
dynamic loss scale.

Adam is the paper's (betas 0 and 0.99): MindSpore's ``nn.Adam`` refuses beta1 = 0 (the model-zoo
version used 1e-4), so :class:`Adam` here is the textbook update with bias correction.

Loss scaling, on every device: each loss is multiplied by the current scale (2 ** 12 at the start),
the gradients divided by it and checked with ``mindspore.amp.all_finite`` (no NPU-only float-status
ops); a step whose gradients are not finite changes nothing (Adam's moments and step count too) and
divides the scale by ``scale_factor``; ``scale_window`` good steps in a row multiply it by
``scale_factor`` (MindSpore's DynamicLossScaleUpdateCell rule); :attr:`LossScale.streak` counts
the skipped steps in a row (step.py stops the run when it repeats).
"""

import mindspore as ms
import numpy as np
from mindspore import nn, ops


class AdamSlots(nn.Cell):
    """Adam's state as a cell of its own (m<i>, v<i> per parameter, in order; t; lr): what a
    checkpoint keeps of an optimizer, keyed by these names."""

    def __init__(self, params, lr):
        super().__init__()
        for i, p in enumerate(params):
            for kind in ("m", "v"):
                setattr(self, f"{kind}{i}", ms.Parameter(ms.Tensor(np.zeros(p.shape, np.float32)), name=f"{kind}{i}"))
        self.t = ms.Parameter(ms.Tensor(0.0, ms.float32), name="t")
        self.lr = ms.Parameter(ms.Tensor(float(lr), ms.float32), name="lr")


class Adam(nn.Cell):
    """Adam (Kingma & Ba, 2015) over ``params``; beta1 may be 0. ``opt(grads, apply)`` updates only
    where the scalar bool ``apply`` is True (a skipped step leaves moments and step count as they are).

        m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,  t <- t + 1
        p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

    Its state is ``opt.slots`` (an :class:`AdamSlots`), the cell to checkpoint.
    """

    def __init__(self, params, lr=0.001, beta1=0.0, beta2=0.99, eps=1e-8):
        super().__init__()
        params = list(params)
        self.slots = AdamSlots(params, lr)
        self.params = ms.ParameterTuple(params)
        self.m = ms.ParameterTuple([getattr(self.slots, f"m{i}") for i in range(len(params))])
        self.v = ms.ParameterTuple([getattr(self.slots, f"v{i}") for i in range(len(params))])
        self.t = self.slots.t
        self.lr = self.slots.lr
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def set_lr(self, lr) -> None:
        self.lr.set_data(ms.Tensor(float(lr), ms.float32))

    def construct(self, grads, apply):
        t = self.t + 1.0
        c1 = 1.0 - ops.pow(self.beta1, t)
        c2 = 1.0 - ops.pow(self.beta2, t)
        for p, m, v, g in zip(self.params, self.m, self.v, grads):
            m_new = self.beta1 * m + (1.0 - self.beta1) * g
            v_new = self.beta2 * v + (1.0 - self.beta2) * g * g
            p_new = p - self.lr * (m_new / c1) / (ops.sqrt(v_new / c2) + self.eps)
            ops.assign(m, ops.where(apply, m_new, m))
            ops.assign(v, ops.where(apply, v_new, v))
            ops.assign(p, ops.where(apply, p_new, p))
        return ops.assign(self.t, ops.where(apply, t, self.t))


class LossScale:
    """The dynamic loss scale of one network (kept in the checkpoint through state_dict)."""

    def __init__(self, exponent=12, factor=10.0, window=1000):
        self.scale = float(2.0 ** exponent)
        self.factor, self.window = float(factor), int(window)
        self.good = 0      # finite steps since the last change
        self.streak = 0    # skipped (overflowing) steps in a row

    def update(self, finite: bool) -> None:
        if finite:
            self.streak = 0
            self.good += 1
            if self.good >= self.window:
                self.scale *= self.factor
                self.good = 0
        else:
            self.streak += 1
            self.good = 0
            self.scale = max(self.scale / self.factor, 1.0)

    def state_dict(self) -> dict:
        return {"scale": self.scale, "good": self.good, "streak": self.streak}

    def load_state_dict(self, state: dict) -> None:
        self.scale, self.good, self.streak = float(state["scale"]), int(state["good"]), int(state["streak"])
