"""SWD (PGGAN) and MS-SSIM against properties and straightforward reimplementations."""

import numpy as np
import pytest
from scipy import signal

from common_tools.errors import UserError
from common_tools.metrics import msssim, swd


def smooth_images(rng, n, size=32, noise=6.0):
    yy, xx = np.mgrid[0:size, 0:size]
    out = []
    for _ in range(n):
        fx, fy, ph = rng.uniform(3, 8), rng.uniform(3, 8), rng.uniform(0, 6)
        base = np.stack([127 + 100 * np.sin(xx / fx + ph + c) * np.cos(yy / fy) for c in range(3)], -1)
        out.append(np.clip(base + rng.normal(0, noise, base.shape), 0, 255))
    return np.stack(out).astype(np.uint8)


def test_laplacian_pyramid_reconstructs_the_image():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (2, 3, 32, 32)).astype(np.float32)
    pyr = swd.laplacian_pyramid(x, 2)
    assert [p.shape[-1] for p in pyr] == [32, 16]
    np.testing.assert_allclose(swd.pyr_up(pyr[1]) + pyr[0], x, atol=1e-3)
    # the blur kernel sums to one: a constant image has a zero band-pass level
    flat = swd.laplacian_pyramid(np.full((1, 3, 32, 32), 7.0, np.float32), 2)
    np.testing.assert_allclose(flat[0], 0, atol=1e-5)
    np.testing.assert_allclose(flat[1], 7.0, atol=1e-5)


def test_patches_are_the_pixels_around_their_centres():
    rng = np.random.default_rng(1)
    level = rng.normal(size=(2, 3, 20, 24)).astype(np.float32)
    desc = swd.patch_descriptors(level, np.random.default_rng(5), per_image=4)
    r = np.random.default_rng(5)  # same draws, walked by hand
    img = np.repeat(np.arange(2), 4)
    ys, xs = r.integers(3, 17, size=8), r.integers(3, 21, size=8)
    for k in range(8):
        np.testing.assert_array_equal(desc[k], level[img[k], :, ys[k] - 3:ys[k] + 4, xs[k] - 3:xs[k] + 4])


def test_sliced_wasserstein_of_identical_sets_is_zero_and_of_shifted_sets_the_shift():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(256, 6)).astype(np.float32)
    assert swd.sliced_wasserstein(a, a.copy(), np.random.default_rng(0)) == 0.0
    # a shift by t along every direction d moves each projection by t.d; mean |t.d| > 0
    assert swd.sliced_wasserstein(a, a + 1.0, np.random.default_rng(0)) > 0.5


def test_swd_separates_distributions():
    rng = np.random.default_rng(3)
    real, real2 = smooth_images(rng, 16), smooth_images(rng, 16)
    noise = rng.integers(0, 256, real.shape).astype(np.uint8)
    same = swd.swd(real, real2, seed=0)
    other = swd.swd(real, noise, seed=0)
    assert set(same) == {"swd_32", "swd_16", "swd_avg", "n"}
    assert same["swd_avg"] == pytest.approx(np.mean([same["swd_32"], same["swd_16"]]))
    assert other["swd_avg"] > 2 * same["swd_avg"]
    assert swd.swd(real, noise, seed=0) == other  # deterministic for a seed
    with pytest.raises(UserError, match="same shape"):
        swd.swd(real, real[:8])


def reference_msssim(a, b):
    """MS-SSIM written with scipy.signal.fftconvolve and a 2-D window, as Wang's MATLAB code does."""
    weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
    a, b = a.astype(np.float64), b.astype(np.float64)
    mcs, last = [], None
    for level in range(5):
        size = min(11, a.shape[1], a.shape[2])
        sigma = 1.5 * size / 11
        ax = np.arange(size) - size // 2 + (0.5 if size % 2 == 0 else 0.0)
        win = np.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2 * sigma**2))
        win = (win / win.sum())[None, :, :, None]
        f = lambda x: signal.fftconvolve(x, win, mode="valid")  # noqa: E731
        m1, m2 = f(a), f(b)
        s11, s22, s12 = f(a * a) - m1**2, f(b * b) - m2**2, f(a * b) - m1 * m2
        c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
        cs = np.mean((2 * s12 + c2) / (s11 + s22 + c2), axis=(1, 2, 3))
        ssim = np.mean((2 * m1 * m2 + c1) * (2 * s12 + c2) / ((m1**2 + m2**2 + c1) * (s11 + s22 + c2)), axis=(1, 2, 3))
        mcs.append(cs)
        last = ssim
        a = (a[:, 0::2, 0::2] + a[:, 1::2, 0::2] + a[:, 0::2, 1::2] + a[:, 1::2, 1::2]) / 4
        b = (b[:, 0::2, 0::2] + b[:, 1::2, 0::2] + b[:, 0::2, 1::2] + b[:, 1::2, 1::2]) / 4
    out = np.ones(len(last))
    for w, cs in zip(weights[:-1], mcs[:-1]):
        out *= np.clip(cs, 0, None) ** w
    return out * np.clip(last, 0, None) ** weights[-1]


def test_ms_ssim_matches_reference_and_bounds():
    rng = np.random.default_rng(4)
    x = smooth_images(rng, 4, size=64)
    y = np.clip(x + rng.normal(0, 20, x.shape), 0, 255).astype(np.uint8)
    np.testing.assert_allclose(msssim.ms_ssim(x, y), reference_msssim(x, y), atol=1e-9)
    np.testing.assert_allclose(msssim.ms_ssim(x, x), 1.0, atol=1e-12)


def test_diversity_is_low_for_varied_sets_and_one_for_duplicates():
    rng = np.random.default_rng(5)
    varied = rng.integers(0, 256, (8, 32, 32, 3)).astype(np.uint8)
    dup = np.repeat(varied[:4], 2, axis=0)  # pairs (0,1), (2,3), ... are identical
    assert msssim.msssim_diversity(dup)["msssim"] == pytest.approx(1.0)
    out = msssim.msssim_diversity(varied)
    assert out["pairs"] == 4 and out["msssim"] < 0.2
    with pytest.raises(UserError, match="at least 16 px"):
        msssim.ms_ssim(varied[:, :8, :8], varied[:, :8, :8])
