"""PSNR/SSIM agree with skimage (Wang et al. settings) and tf.image.ssim on fixed images."""

import numpy as np
import pytest

from common_tools.errors import UserError
from common_tools.metrics import psnr, psnr_ssim_batch, ssim


@pytest.fixture(scope="module")
def pairs():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:40]
    base = np.stack([128 + 100 * np.sin(xx / 5.0 + c) * np.cos(yy / 7.0) for c in range(3)], -1)
    a = np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)
    b = np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)
    c = rng.integers(0, 256, base.shape, dtype=np.uint8)
    return [(a, b), (a, c), (b, c)]


def test_ssim_equals_skimage_wang_settings(pairs):
    from skimage.metrics import structural_similarity

    for a, b in pairs:
        ref = structural_similarity(a, b, data_range=255, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False)
        assert abs(ssim(a, b) - ref) < 1e-12
    # skimage's defaults (7x7 uniform window, sample covariance) are a different number
    a, b = pairs[0]
    assert abs(ssim(a, b) - structural_similarity(a, b, data_range=255, channel_axis=-1)) > 1e-3


def test_ssim_equals_tf_image_ssim(pairs):
    tf = pytest.importorskip("tensorflow")
    for a, b in pairs:
        ref = tf.image.ssim(tf.constant(a[None], tf.float32), tf.constant(b[None], tf.float32), max_val=255,
                            filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03).numpy()[0]
        assert abs(ssim(a, b) - float(ref)) < 1e-6  # TF computes in float32


def test_psnr_matches_definition_and_skimage(pairs):
    from skimage.metrics import peak_signal_noise_ratio

    a = np.full((16, 16, 3), 100, np.uint8)
    b = a.copy()
    b[0, 0, 0] = 110  # MSE = 100 / 768
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / (100 / 768)), abs=1e-12)
    for x, y in pairs:
        assert psnr(x, y) == pytest.approx(peak_signal_noise_ratio(x, y, data_range=255), abs=1e-10)
    assert psnr(a, a) == float("inf")
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)


def test_batch_is_the_mean_over_pairs(pairs):
    A = np.stack([p[0] for p in pairs])
    B = np.stack([p[1] for p in pairs])
    out = psnr_ssim_batch(A, B)
    assert out["n"] == 3
    assert out["psnr"] == pytest.approx(np.mean([psnr(a, b) for a, b in pairs]))
    assert out["ssim"] == pytest.approx(np.mean([ssim(a, b) for a, b in pairs]))
    # noisier pairs score lower
    assert ssim(*pairs[0]) > ssim(*pairs[1]) and psnr(*pairs[0]) > psnr(*pairs[1])


def test_bad_input_is_a_user_error():
    with pytest.raises(UserError, match="differ in shape"):
        ssim(np.zeros((20, 20, 3)), np.zeros((20, 21, 3)))
    with pytest.raises(UserError, match="at least 11x11"):
        ssim(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)))
    with pytest.raises(UserError, match="same number"):
        psnr_ssim_batch(np.zeros((2, 16, 16, 3)), np.zeros((3, 16, 16, 3)))
