"""The evaluation's measures on features with a known answer (no networks: fast)."""

import numpy as np
import pytest

from bigbigan.evaluate import L2_GRID, LinearProbe, collapse_check, describe, generator_check, inversion_corr


def _clusters(rng, n, d_signal=10, d_noise=0, sep=3.0):
    centres = rng.normal(0, sep, (10, d_signal))
    y = rng.integers(0, 10, n)
    x = centres[y] + rng.normal(0, 1, (n, d_signal))
    if d_noise:
        x = np.concatenate([x, rng.normal(0, 1, (n, d_noise))], axis=1)
    return x, y


def test_validated_strength_beats_a_bad_fixed_one_on_noisy_features():
    """Few samples, many pure-noise dimensions: the held-out choice picks a strong ridge, and
    scores at least as well as the weakest fixed one (which fits the noise)."""
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 1.0, (10, 5))
    y_tr, y_te = rng.integers(0, 10, 240), rng.integers(0, 10, 400)

    def feats(y):
        return np.concatenate([centres[y] + rng.normal(0, 1, (len(y), 5)), rng.normal(0, 1, (len(y), 200))], 1)

    f_tr, f_te = feats(y_tr), feats(y_te)
    auto = LinearProbe(f_tr, y_tr)
    weak = LinearProbe(f_tr, y_tr, l2=L2_GRID[0])
    assert auto.l2 > L2_GRID[0]
    assert set(auto.validation) == set(L2_GRID)
    assert auto.accuracy(f_te, y_te) > weak.accuracy(f_te, y_te)


def test_probe_is_deterministic_and_uses_one_split():
    rng = np.random.default_rng(2)
    x, y = _clusters(rng, 300)
    a, b = LinearProbe(x, y), LinearProbe(x.copy(), y.copy())
    assert a.l2 == b.l2 and np.array_equal(a.predict(x), b.predict(x))


def test_collapse_check_tells_a_point_from_a_spread():
    rng = np.random.default_rng(3)
    spread = collapse_check(rng.normal(0, 0.88, (500, 100)))
    assert not spread["collapsed"] and spread["ratio"] == pytest.approx(1.0, abs=0.05)
    assert spread["dead_dims"] == 0 and spread["distinct"] == 1.0
    point = collapse_check(np.ones((500, 100)) + rng.normal(0, 1e-5, (500, 100)))
    assert point["collapsed"] and point["dead_dims"] == 100 and point["distinct"] == 0.0
    half = np.concatenate([rng.normal(0, 0.88, (500, 50)), np.zeros((500, 50))], axis=1)
    assert collapse_check(half)["dead_dims"] == 50


def test_generator_check_tells_black_images_from_digits():
    rng = np.random.default_rng(5)
    real = (rng.uniform(0, 1, (200, 32, 32, 1)) > 0.8).astype(np.float32)     # sparse strokes
    varied = generator_check(rng.permutation(real), real)
    assert not varied["collapsed"] and varied["ratio"] == pytest.approx(1.0, abs=0.05)
    black = generator_check(np.full_like(real, 1e-4) + rng.uniform(0, 1e-3, real.shape), real)
    assert black["collapsed"] and black["mean"] < 1e-3 and black["real_mean"] == pytest.approx(0.2, abs=0.02)
    one_digit = generator_check(np.repeat(real[:1], 200, axis=0), real)     # one image for every z, y
    assert one_digit["collapsed"] and one_digit["spread"] == 0.0
    faint = generator_check(0.2 * real, real)                                # dimmer but varied: not collapse
    assert not faint["collapsed"] and faint["ratio"] == pytest.approx(0.2, abs=1e-6)


def test_inversion_corr_is_one_for_an_inverse_and_zero_for_noise():
    rng = np.random.default_rng(4)
    z = rng.normal(0, 1, (2000, 20))
    assert inversion_corr(z, 3 * z + 1) == pytest.approx(1.0)
    assert abs(inversion_corr(z, rng.normal(0, 1, z.shape))) < 0.05
    assert inversion_corr(z, z + rng.normal(0, 1, z.shape)) == pytest.approx(2 ** -0.5, abs=0.03)


def test_describe_names_every_figure():
    s = {"probe": {"E": 0.91, "random_E": 0.8, "pixels": 0.93, "E_pooled": 0.95, "random_E_pooled": 0.9},
         "n_train": 6000, "n_test": 1000, "n_generated": 1000, "label_consistency": 0.5,
         "classifier_test_accuracy": 0.93, "reconstruction_mse": 0.05, "reconstruction_mse_prior_z": 0.09,
         "reconstruction_label_consistency": 0.4, "inversion_corr": 0.25,
         "collapse": collapse_check(np.zeros((10, 4)))}
    text = "\n".join(describe(s))
    for piece in ("E(x) 0.910", "random E 0.800", "raw pixels 0.930", "0.500", "0.0500", "0.250", "COLLAPSED"):
        assert piece in text
    assert "generator" not in text                     # an evaluation.json from before the check
    ones = np.ones((20, 4, 4, 1))
    s["generator"] = generator_check(np.zeros_like(ones), ones * np.arange(20)[:, None, None, None] % 2)
    assert "generator spread 0.000 (real digits 0.500), mean pixel 0.000 (real 0.500): COLLAPSED" in "\n".join(describe(s))
