"""The TF2 FID Inception port with the real weights (fetched once per machine; skipped without network)."""

import os

import numpy as np
import pytest

from common_tools.errors import UserError
from common_tools.metrics import fid, weights


@pytest.fixture(scope="module")
def fid_weights():
    try:
        return weights.fetch(quiet=True)
    except UserError as exc:
        pytest.skip(f"FID Inception weights unavailable (no network?): {exc}")


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:64]
    smooth = np.stack([127 + 120 * np.sin(xx / (4 + c) + c) * np.cos(yy / 6.0) for c in range(3)], -1)
    out = [np.clip(smooth + rng.normal(0, 20, smooth.shape), 0, 255) for _ in range(3)]
    out += [rng.uniform(0, 255, smooth.shape) for _ in range(3)]
    return np.stack(out).astype(np.uint8)  # [6, 64, 64, 3]


def tf1_resize_bilinear(x: np.ndarray, size: int) -> np.ndarray:
    """TF1 ResizeBilinear (align_corners=False, half_pixel_centers=False), written out in numpy."""
    n, h, w, c = x.shape
    x = x.astype(np.float64)

    def coords(n_in):
        src = np.arange(size) * (n_in / size)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, src - lo

    y0, y1, fy = coords(h)
    x0, x1, fx = coords(w)
    top = x[:, y0][:, :, x0] * (1 - fx)[None, None, :, None] + x[:, y0][:, :, x1] * fx[None, None, :, None]
    bot = x[:, y1][:, :, x0] * (1 - fx)[None, None, :, None] + x[:, y1][:, :, x1] * fx[None, None, :, None]
    return top * (1 - fy)[None, :, None, None] + bot * fy[None, :, None, None]


@pytest.fixture(scope="module")
def feats(fid_weights, images):
    return fid.inception_features(images, batch_size=4, progress=False)


def low_rank_fid(f1, f2):
    """FID for N < d without any d x d decomposition: with centred X1, X2, the non-zero eigenvalues of
    S1 S2 are the squared singular values of X1 X2^T / sqrt((n1 - 1)(n2 - 1))."""
    x1, x2 = f1 - f1.mean(0), f2 - f2.mean(0)
    n1, n2 = len(f1) - 1, len(f2) - 1
    tr_sqrt = np.linalg.svd(x1 @ x2.T, compute_uv=False).sum() / np.sqrt(n1 * n2)
    d = f1.mean(0) - f2.mean(0)
    return d @ d + (x1**2).sum() / n1 + (x2**2).sum() / n2 - 2 * tr_sqrt


def test_features_shape_determinism_and_batching(feats, images):
    f = feats
    assert f.shape == (6, 2048) and f.dtype == np.float64
    assert (f >= 0).all() and f.max() > 0.1  # pool3 follows ReLUs
    g = fid.inception_features(images.astype(np.float32), batch_size=6, progress=False)
    np.testing.assert_allclose(f, g, atol=1e-5)
    # the noise images and the smooth ones land in different places
    assert np.linalg.norm(f[0] - f[1]) < np.linalg.norm(f[0] - f[4])


def test_input_is_resized_the_tf1_way(fid_weights, images):
    pre = tf1_resize_bilinear(images[:2], 299).astype(np.float32)
    np.testing.assert_allclose(fid.inception_features(images[:2], progress=False),
                               fid.inception_features(pre, progress=False), atol=1e-4)


def test_fid_between_arrays_and_cached_folders(feats, images, tmp_path, monkeypatch):
    from PIL import Image

    with pytest.warns(UserWarning, match="at least 2048"):
        apart = fid.fid_between(images[:3], images[3:], progress=False)
    assert apart == pytest.approx(low_rank_fid(feats[:3], feats[3:]), rel=1e-6, abs=1e-4)
    assert apart > 10.0

    folder = tmp_path / "reals"
    folder.mkdir()
    for i, im in enumerate(images):
        Image.fromarray(im).save(folder / f"{i}.png")
    cache = tmp_path / "stats"
    mu, sigma, n = fid.folder_statistics(str(folder), cache_dir=str(cache), progress=False)
    assert n == 6 and len(os.listdir(cache)) == 1
    np.testing.assert_allclose(mu, feats.mean(0), atol=1e-5)
    with pytest.warns(UserWarning):  # a cached folder against an array (the array takes the low-rank route)
        mixed = fid.fid_between(str(folder), images[:3], cache_dir=str(cache), progress=False)
    assert mixed == pytest.approx(low_rank_fid(feats, feats[:3]), rel=1e-5, abs=1e-4)

    def must_not_run(*a, **k):
        raise AssertionError("statistics should have come from the cache")

    monkeypatch.setattr(fid, "inception_features", must_not_run)
    mu2, _, _ = fid.folder_statistics(str(folder), cache_dir=str(cache), progress=False)
    np.testing.assert_array_equal(mu, mu2)
    os.utime(folder / "0.png", ns=(1, 1))  # a changed file invalidates the entry
    with pytest.raises(AssertionError, match="cache"):
        fid.folder_statistics(str(folder), cache_dir=str(cache), progress=False)


def test_bad_folders_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        fid.fid_between(str(tmp_path / "nope"), str(tmp_path / "nope"))
    with pytest.raises(UserError, match="no images"):
        fid.fid_between(str(tmp_path), str(tmp_path))
    with pytest.raises(UserError, match="expected uint8 or floats in"):
        fid.check_images(np.full((2, 8, 8, 3), -1.0))
