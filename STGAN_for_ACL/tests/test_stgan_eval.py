"""Strips and the metrics read from them: one conversion for input and outputs, PSNR/SSIM of
reconstruction pairs, the attribute-editing accuracy protocol, and strips that are refused by name."""

import os

import numpy as np
import pytest

from common_tools.celeba import load_images
from common_tools.errors import UserError
from common_tools.grids import save_png, to_uint8
from common_tools.metrics.psnr_ssim import psnr_ssim_batch
from common_tools.runs import save_config
from stgan import data as data_lib
from stgan.config import PAPER_ATTS, STGANConfig
from stgan.evaluate import editing_accuracy_of_strips
from stgan.strips import read_strips, split_strip, strip


def test_strip_round_trip_and_bad_size():
    x = np.random.default_rng(0).uniform(-1, 1, (32, 32, 3)).astype(np.float32)
    results = [np.full((32, 32, 3), v, np.float32) for v in np.linspace(-1, 1, 14)]
    s = strip(x, results)
    assert s.shape == (32, 32 + 12 + 14 * 32, 3)
    x2, r2 = split_strip(s, 32)
    np.testing.assert_array_equal(x2, to_uint8(x, value_range=(-1, 1)))
    np.testing.assert_array_equal(r2[5], to_uint8(results[5], value_range=(-1, 1)))
    with pytest.raises(UserError, match="does not fit 64-px images"):
        split_strip(s, 64)
    with pytest.raises(UserError, match="holds 14 results, expected 4"):
        split_strip(s, 32, n_results=4)


def test_identical_bright_reconstruction_reads_back_as_inf_db_and_ssim_1(tmp_path):
    # a bright crop (no negative pixel) once went through a guessed [0, 1] range while its darker
    # outputs went through [-1, 1]: PSNR of an unchanged image came out finite
    x = np.random.default_rng(1).uniform(0.2, 1.0, (32, 32, 3)).astype(np.float32)
    others = [np.full((32, 32, 3), -0.5, np.float32)] * 13
    save_png(str(tmp_path / "000001.png"), strip(x, [x, *others]))
    _, inputs, results = read_strips(str(tmp_path), 32, n_results=14)
    result = psnr_ssim_batch(list(inputs), list(results[:, 0]))
    assert result["psnr"] == float("inf") and result["ssim"] == pytest.approx(1.0)


def test_strips_of_another_model_or_a_broken_file_are_refused_by_name(tmp_path, script):
    exp = tmp_path / "t"
    save_config(STGANConfig.tiny(), str(exp))
    strips = exp / "om_testing"
    x = np.zeros((32, 32, 3), np.float32)
    save_png(str(strips / "000001.png"), strip(x, [x] * 5))  # a 5-panel strip (another model's layout)
    with pytest.raises(UserError, match=r"strip .*000001.png holds 5 results, expected 14"):
        script("psnr_ssim.py").main(["--experiment_name", "t", "--output_root", str(tmp_path)])
    (strips / "000001.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))  # a garbage-bodied PNG
    with pytest.raises(UserError, match=r"cannot read strip .*000001.png"):
        script("psnr_ssim.py").main(["--experiment_name", "t", "--output_root", str(tmp_path)])


class Brightness:
    """A stand-in attribute classifier (the trained one is tested in common_tools): attribute j is
    "present" when the image's mean of channel j % 3 is above a per-attribute threshold."""

    attrs = list(PAPER_ATTS)

    def predict(self, images):
        means = np.asarray(images).mean(axis=(1, 2))                    # [N, 3] in [-1, 1]
        return (means[:, np.arange(13) % 3] > np.linspace(-0.6, 0.6, 13)).astype(np.float32)


def test_editing_accuracy_of_identity_strips(tmp_path, faces_dir):
    from common_tools.metrics.attr_classifier import editing_accuracy

    atts, clf = list(PAPER_ATTS), Brightness()
    part = data_lib.load_split(faces_dir, atts, "test", 3)
    xa = load_images(part.image_dir, part.files, data_lib.preprocess(32), image_size=32)
    for name, x in zip(part.files, xa):  # a generator that changes nothing
        save_png(str(tmp_path / "strips" / (os.path.splitext(name)[0] + ".png")), strip(x, [x] * 14))
    result = editing_accuracy_of_strips(str(tmp_path / "strips"), faces_dir, atts, clf)
    assert result["n"] == 3 * 13 and set(result["per_attribute"]) == set(atts)
    # the same protocol by hand on the images read back from the strips
    _, inputs, _ = read_strips(str(tmp_path / "strips"), 32)
    edited = np.repeat(inputs.astype(np.float32) / 127.5 - 1, 13, axis=0)
    targets = np.stack(data_lib.single_edits(part.labels, atts)[1:], axis=1).reshape(-1, 13)
    expected = editing_accuracy(clf, edited, targets, np.repeat(part.labels, 13, axis=0),
                                np.tile(np.arange(13), 3), attrs=atts)
    assert result["mean"] == pytest.approx(expected["mean"])
    # unchanged images satisfy a flip exactly when the classifier already disagreed with the source
    pred = clf.predict(inputs.astype(np.float32) / 127.5 - 1) > 0.5
    hand = np.mean([[pred[n, i] != (part.labels[n, i] > 0) for n in range(3)] for i in range(13)], axis=1)
    assert 0 < hand.mean() < 1 and result["mean"] == pytest.approx(hand.mean())
    with pytest.raises(UserError, match="holds 14 results, expected 4"):   # strips of other attributes
        editing_accuracy_of_strips(str(tmp_path / "strips"), faces_dir, atts[:3], clf)
