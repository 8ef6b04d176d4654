"""The attribute classifier: architecture, editing accuracy, and train -> save -> load -> ensure."""

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from common_tools import celeba
from common_tools.errors import UserError
from common_tools.metrics import attr_classifier as ac


def expected_params(k, size):
    n, cin = 0, 3
    for w in ac.WIDTHS:
        n += 9 * cin * w + 4 * w + 9 * w * w + 4 * w  # convs without bias, BN gamma/beta/mean/var
        cin = w
    flat = (size // 32) ** 2 * 256
    return n + flat * 512 + 512 + 512 * k + k


@pytest.mark.parametrize("k,size", [(13, 128), (3, 64)])
def test_architecture(k, size):
    model = ac.build_classifier(k, size)
    assert model.count_params() == expected_params(k, size)
    assert model.output_shape == (None, k)
    assert model.get_layer("features").output.shape[-1] == 512


def test_bad_image_size_is_a_user_error():
    with pytest.raises(UserError, match="multiple of 32"):
        ac.build_classifier(3, 48)


def test_editing_accuracy_counts_by_hand():
    attrs = ["A", "B", "C"]
    src = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0], [1, 1, 0]])
    idx = np.array([0, 0, 1, 2])
    tgt = src.copy()
    tgt[np.arange(4), idx] = 1 - src[np.arange(4), idx]
    pred = np.array([[1, 1, 1],   # A flipped: success; B changed
                     [0, 1, 0],   # A not flipped: failure; nothing else changed
                     [1, 1, 0],   # B flipped: success
                     [1, 1, 1]],  # C flipped: success
                    float)
    # the classifier knows the columns in another order; they are matched by name
    order = ["C", "A", "B"]
    clf = SimpleNamespace(attrs=order, predict=lambda x: pred[:, [attrs.index(a) for a in order]] * 0.8 + 0.1)
    out = ac.editing_accuracy(clf, np.zeros((4, 8, 8, 3)), tgt, src, idx, attrs)
    assert out["per_attribute"] == {"A": 0.5, "B": 1.0, "C": 1.0}
    assert out["mean"] == pytest.approx(2.5 / 3)
    assert out["overall"] == 0.75
    assert out["others_changed"] == pytest.approx(1 / 8)
    assert out["others_changed_per_attribute"]["B"] == pytest.approx(1 / 3)
    # labels given as +-1 mean the same
    out2 = ac.editing_accuracy(clf, np.zeros((4, 8, 8, 3)), tgt * 2 - 1, src * 2 - 1, idx, attrs)
    assert out2["per_attribute"] == out["per_attribute"]
    with pytest.raises(UserError, match="same count"):
        ac.editing_accuracy(clf, np.zeros((3, 8, 8, 3)), tgt, src, idx, attrs)


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    from common_tools.synthetic import faces

    return faces.generate(tmp_path_factory.mktemp("synthfaces"), num=40, seed=0)


ATTRS = ["Male", "Eyeglasses", "Bangs"]


def test_train_save_load_ensure(faces, tmp_path, monkeypatch):
    out = str(tmp_path / "clf")
    ac.train_classifier(faces, ATTRS, out, image_size=32, steps=2, batch_size=8, verbose=0)
    meta = json.load(open(os.path.join(out, ac.META_FILE)))
    assert meta["attrs"] == ATTRS and meta["image_size"] == 32 and meta["format"] == ac.META_FORMAT
    # the protocol's defaults: the 128-px face crop for other sizes, TF1 bicubic, no flip; the partition
    assert meta["preprocess"] == {"crop": {"kind": "box", "top": 26, "left": 3, "size": 170},
                                  "resize": "bicubic_tf1", "flip": False}
    assert meta["split"]["kind"] == "partition"
    assert set(meta["test_accuracy"]["per_attribute"]) == set(ATTRS) and meta["test_accuracy"]["n"] == 4

    clf = ac.AttributeClassifier.load(out)
    assert clf.preprocess == ac.default_preprocess(32) and clf.split == ac.DEFAULT_SPLIT
    x = np.random.default_rng(0).uniform(-1, 1, (3, 64, 64, 3)).astype(np.float32)  # resized to 32
    p = clf.predict(x)
    assert p.shape == (3, 3) and ((p > 0) & (p < 1)).all()
    assert clf.features(x).shape == (3, 512)
    assert clf.accuracy(x, (p > 0.5).astype(int))["mean"] == 1.0
    with pytest.raises(UserError, match=r"in \[-1, 1\]"):
        clf.predict(x * 200)

    with pytest.warns(UserWarning):
        assert abs(ac.domain_fid(clf, x, x)) < 1e-6

    # same attrs, size and data: loaded, not retrained
    def no_training(*a, **k):
        raise AssertionError("should have loaded the existing classifier")

    monkeypatch.setattr(ac, "train_classifier", no_training)
    assert ac.ensure_classifier(faces, ATTRS, out, image_size=32).attrs == ATTRS
    # other attributes: trained again
    with pytest.raises(AssertionError, match="existing"):
        ac.ensure_classifier(faces, ["Male"], out, image_size=32)


def test_ensure_takes_over_a_stale_lock_and_waits_for_a_live_one(faces, tmp_path, monkeypatch):
    out = tmp_path / "clf"
    out.mkdir()
    calls = []
    monkeypatch.setattr(ac, "train_classifier", lambda *a, **k: calls.append(k) or str(out))
    monkeypatch.setattr(ac.AttributeClassifier, "load", classmethod(lambda cls, d: "loaded"))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / ac.LOCK_FILE).write_text(str(dead.pid))  # its trainer died
    monkeypatch.setattr(ac, "_read_meta", lambda d: None if not calls else {
        "format": ac.META_FORMAT, "attrs": ["Male"], "image_size": 32, "data": ac._data_fingerprint(faces),
        "preprocess": ac.default_preprocess(32).to_dict(), "split": ac.DEFAULT_SPLIT.to_dict(),
        "jitter": ac._jitter_spec(ac.RESOLUTION_JITTER)})
    assert ac.ensure_classifier(faces, ["Male"], str(out), image_size=32) == "loaded"
    assert calls and calls[0]["steps"] == ac.DEMO_STEPS and not (out / ac.LOCK_FILE).exists()

    calls.clear()
    (out / ac.LOCK_FILE).write_text(str(os.getpid()))  # alive: someone is training right now
    with pytest.raises(UserError, match="gave up waiting"):
        ac.ensure_classifier(faces, ["Male"], str(out), image_size=32, wait_s=0)
    assert not calls


def test_missing_data_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="list_attr_celeba.txt"):
        ac.train_classifier(str(tmp_path), ATTRS, str(tmp_path / "out"))
    with pytest.raises(UserError, match="no trained attribute classifier"):
        ac.AttributeClassifier.load(str(tmp_path))


class Trained(Exception):
    """Raised by a stand-in trainer: ensure_classifier decided to train."""


def test_specs_are_recorded_and_a_different_or_old_classifier_is_retrained(faces, tmp_path, monkeypatch, capsys):
    out = str(tmp_path / "clf")
    centre = celeba.Preprocess(crop=celeba.CenterCrop(178), resize="bilinear", flip=True)
    seeded = celeba.SeededSplit(seed=5, n_test=8)
    ac.train_classifier(faces, ["Male"], out, image_size=32, steps=1, batch_size=4, verbose=0,
                        preprocess=centre, split=seeded)
    clf = ac.AttributeClassifier.load(out)
    assert clf.preprocess == centre and clf.split == seeded and clf.meta["test_accuracy"]["n"] == 8

    calls = []

    def training(*a, **k):
        calls.append(k)
        raise Trained

    monkeypatch.setattr(ac, "train_classifier", training)
    assert ac.ensure_classifier(faces, ["Male"], out, image_size=32, preprocess=centre, split=seeded).attrs == ["Male"]
    assert not calls  # the same specs: loaded
    capsys.readouterr()
    with pytest.raises(Trained):
        ac.ensure_classifier(faces, ["Male"], out, image_size=32, split=seeded)  # default preprocessing
    note = capsys.readouterr().err.strip()
    assert calls[-1]["preprocess"] == ac.default_preprocess(32) and calls[-1]["split"] == seeded
    assert note.count("\n") == 0 and "retraining" in note and "preprocessing differ" in note


def test_resolution_jitter_is_recorded_seeded_and_part_of_the_recipe(faces, tmp_path, monkeypatch, capsys):
    import tensorflow as tf

    out = str(tmp_path / "plain")
    ac.train_classifier(faces, ["Male"], out, image_size=32, steps=1, batch_size=4, verbose=0, jitter=None)
    assert ac.AttributeClassifier.load(out).meta["jitter"] is None
    calls = []

    def training(*a, **k):
        calls.append(k)
        raise Trained

    monkeypatch.setattr(ac, "train_classifier", training)
    ac.ensure_classifier(faces, ["Male"], out, image_size=32, jitter=None)  # asked for as it is: loaded
    assert not calls
    capsys.readouterr()
    with pytest.raises(Trained):  # the default recipe jitters: the plain one is retrained
        ac.ensure_classifier(faces, ["Male"], out, image_size=32)
    assert calls[-1]["jitter"] == ac.RESOLUTION_JITTER and "resolution jitter differ" in capsys.readouterr().err

    # batches: a sharp pattern, so a shrunk one differs; seeded, so two passes are equal
    x = np.tile(np.array([[-1.0, 1.0]], np.float32), (32, 16))[None, :, :, None].repeat(3, -1).repeat(8, 0)
    ds = tf.data.Dataset.from_tensors((x, np.zeros((8, 1), np.float32))).repeat(40)
    one = [b[0].numpy() for b in ac._jittered(ds, 32, {"p": 0.5, "lowest": 8}, seed=3)]
    two = [b[0].numpy() for b in ac._jittered(ds, 32, {"p": 0.5, "lowest": 8}, seed=3)]
    changed = [not np.array_equal(b, x) for b in one]
    assert all(np.array_equal(a, b) for a, b in zip(one, two))
    assert 8 <= sum(changed) <= 32 and all(b.shape == x.shape for b in one)  # about half of 40
    with pytest.raises(UserError, match="unknown resolution jitter"):
        ac._jitter_spec({"p": 0.5, "low": 8})


def test_a_classifier_from_before_the_specs_is_declared_stale(faces, tmp_path, monkeypatch, capsys):
    out = tmp_path / "old"
    ac.train_classifier(faces, ["Male"], str(out), image_size=32, steps=1, batch_size=4, verbose=0)
    meta = json.loads((out / ac.META_FILE).read_text())
    for key in ("format", "preprocess", "split"):
        meta.pop(key)
    meta.update(preset="old-name", split="old-name")  # what an older version wrote
    (out / ac.META_FILE).write_text(json.dumps(meta))
    clf = ac.AttributeClassifier.load(str(out))  # still loads and predicts
    assert clf.predict(np.zeros((1, 32, 32, 3), np.float32)).shape == (1, 1)
    with pytest.raises(UserError) as err:
        clf.preprocess
    assert "\n" not in str(err.value) and "predates" in str(err.value) and str(out) in str(err.value)
    calls = []
    monkeypatch.setattr(ac, "train_classifier", lambda *a, **k: calls.append(k) or str(out))
    monkeypatch.setattr(ac.AttributeClassifier, "load", classmethod(lambda cls, d: "loaded"))
    trained = {**meta, "format": ac.META_FORMAT, "preprocess": ac.default_preprocess(32).to_dict(),
               "split": ac.DEFAULT_SPLIT.to_dict(), "jitter": ac._jitter_spec(ac.RESOLUTION_JITTER)}
    monkeypatch.setattr(ac, "_read_meta", lambda d: trained if calls else meta)
    assert ac.ensure_classifier(faces, ["Male"], str(out), image_size=32) == "loaded" and len(calls) == 1
    note = capsys.readouterr().err.strip()
    assert note.count("\n") == 0 and "predates recorded preprocess/split specs" in note


def test_default_classifier_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("GANZOO_CLASSIFIER_DIR", raising=False)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert ac.default_classifier_dir(64) == os.path.join(repo, "runs", "demo", "classifier_64")
    monkeypatch.setenv("GANZOO_CLASSIFIER_DIR", str(tmp_path))
    assert ac.default_classifier_dir(128) == os.path.join(str(tmp_path), "classifier_128")
