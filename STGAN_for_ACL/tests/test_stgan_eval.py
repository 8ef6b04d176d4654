"""Metrics on strips: PSNR/SSIM reconstruction pairs and the attribute-editing accuracy protocol."""

import os

import numpy as np
import pytest

from common_tools.celeba import load_images
from common_tools.errors import UserError
from common_tools.grids import save_png, to_uint8
from stgan import data as data_lib
from stgan.config import PAPER_ATTS
from stgan.evaluate import editing_accuracy_of_strips, read_strips
from stgan.test import split_strip, strip
from stgan.train import load_split


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


def test_editing_accuracy_of_identity_strips(tmp_path, faces_dir):
    from common_tools.metrics.attr_classifier import AttributeClassifier, editing_accuracy, train_classifier

    atts = list(PAPER_ATTS)
    clf = AttributeClassifier.load(train_classifier(faces_dir, atts, str(tmp_path / "clf"), image_size=32,
                                                    steps=2, batch_size=4, verbose=0))
    part = load_split(faces_dir, atts, "test", 3)
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
    # unchanged images never satisfy a flipped target the classifier already disagreed with
    pred = clf.predict(inputs.astype(np.float32) / 127.5 - 1) > 0.5
    hand = np.mean([[pred[n, i] != (part.labels[n, i] > 0) for n in range(3)] for i in range(13)], axis=1)
    assert result["mean"] == pytest.approx(hand.mean())
