"""Networks: shapes, the paper's parameter counts, PyTorch-equivalent init, per-image norm."""

import numpy as np
import pytest

from stargan.config import StarGANConfig
from stargan.networks import build_discriminator, build_generator, count_params


@pytest.fixture(scope="module")
def tiny():
    return StarGANConfig.tiny()


def test_generator_and_discriminator_shapes(tiny):
    G, D = build_generator(tiny), build_discriminator(tiny)
    x = np.random.RandomState(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    c = np.array([[1, 0, 0, 1, 0], [0, 0, 1, 0, 1]], "float32")
    y = np.asarray(G(x, c))
    assert y.shape == (2, 32, 32, 3)
    assert np.all(np.abs(y) <= 1.0)
    src, cls = D(x)
    assert tuple(src.shape) == (2, 2, 2, 1)     # 32 px / 2**4
    assert tuple(cls.shape) == (2, 5)


@pytest.mark.parametrize("image_size, g_params, d_params", [
    (128, 8_430_528, 44_762_048),
    (64, 8_430_528, 44_731_328),
])
def test_paper_parameter_counts(image_size, g_params, d_params):
    cfg = StarGANConfig.paper().replace(image_size=image_size)
    assert count_params(build_generator(cfg)) == g_params
    assert count_params(build_discriminator(cfg)) == d_params


def test_init_matches_pytorch_default(tiny):
    G, D = build_generator(tiny), build_discriminator(tiny)
    w = {v.path: np.asarray(v) for v in G.weights + D.weights}
    k = w["G/conv_in/kernel"]                           # 7x7x(3+5)x8: bound 1/sqrt(7*7*8)
    bound = 1 / np.sqrt(7 * 7 * 8)
    assert np.abs(k).max() <= bound and np.abs(k).max() > 0.9 * bound
    up = w["G/up0/kernel"]                              # transposed: fan_in = out * k * k
    bound = 1 / np.sqrt(4 * 4 * up.shape[2])
    assert np.abs(up).max() <= bound and np.abs(up).max() > 0.9 * bound
    b = w["D/conv0/bias"]                               # bias U(+-1/sqrt(3*4*4))
    assert np.abs(b).max() <= 1 / np.sqrt(48) and np.abs(b).std() > 0
    assert np.all(w["G/norm_in/gamma"] == 1) and np.all(w["G/norm_in/beta"] == 0)
    assert not any(v.path.endswith("bias") for v in G.weights)


def test_instance_norm_is_per_image(tiny):
    """G's output for an image must not depend on the other images in the batch."""
    G = build_generator(tiny)
    rng = np.random.RandomState(1)
    x = rng.uniform(-1, 1, (3, 32, 32, 3)).astype("float32")
    c = np.eye(5, dtype="float32")[:3]
    both = np.asarray(G(x, c))
    alone = np.asarray(G(x[:1], c[:1]))
    np.testing.assert_allclose(both[:1], alone, atol=1e-5)
