"""The WGAN-GP + drift formulas against numpy on hand-made scores and gradients."""

import mindspore as ms
import numpy as np
import pytest

from pgan import losses


def _t(a):
    return ms.Tensor(np.asarray(a, np.float32))


REAL = np.array([[1.0], [2.0], [-0.5]], np.float32)
FAKE = np.array([[0.5], [-1.0], [3.0]], np.float32)


def test_wasserstein_terms():
    assert float(losses.wgan_d(_t(REAL), _t(FAKE)).asnumpy()) == pytest.approx(-(1 + 2 - 0.5) + (0.5 - 1 + 3))
    assert float(losses.wgan_g(_t(FAKE)).asnumpy()) == pytest.approx(-(0.5 - 1 + 3))


def test_epsilon_drift():
    assert float(losses.epsilon_drift(_t(REAL)).asnumpy()) == pytest.approx(0.001 * (1 + 4 + 0.25))
    assert float(losses.epsilon_drift(_t(REAL), 0.5).asnumpy()) == pytest.approx(0.5 * 5.25)


def test_gradient_penalty_per_image_norms():
    g = np.zeros((3, 2, 2, 2), np.float32)
    g[0, 0, 0, 0] = 3.0
    g[0, 1, 1, 1] = 4.0          # ||g_0|| = 5 -> (5 - 1)^2 = 16
    g[1] = 0.5                   # ||g_1|| = sqrt(8 * 0.25) = sqrt(2)
    # g[2] = 0                   # ||g_2|| = 0 -> 1 (and a finite derivative, see below)
    expected = 10.0 * (16.0 + (np.sqrt(2.0) - 1.0) ** 2 + 1.0)
    assert float(losses.gradient_penalty(_t(g)).asnumpy()) == pytest.approx(expected, rel=1e-5)
    assert float(losses.gradient_penalty(_t(g), weight=1.0).asnumpy()) == pytest.approx(expected / 10, rel=1e-5)
    d = ms.ops.GradOperation()(losses.gradient_penalty)(_t(g)).asnumpy()
    assert np.isfinite(d).all()
    # d/dg of 10 (||g|| - 1)^2 = 20 (||g|| - 1) g / ||g||: 20 * 4 * (3, 4) / 5 at image 0
    np.testing.assert_allclose([d[0, 0, 0, 0], d[0, 1, 1, 1]], [48.0, 64.0], rtol=1e-4)


def test_mixing():
    real, fake = np.ones((2, 1, 2, 2), np.float32), np.zeros((2, 1, 2, 2), np.float32)
    e = np.array([0.25, 0.75], np.float32).reshape(2, 1, 1, 1)
    mixed = losses.mix_images(_t(real), _t(fake), _t(e)).asnumpy()
    np.testing.assert_allclose(mixed[:, 0, 0, 0], [0.25, 0.75])
