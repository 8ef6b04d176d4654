"""Evaluation on SynthBirds' ground truth (caption consistency, domain IS / FID) and the card's
inception_score.py: labels from the drawn classes, the parts a caption names, the scores on stub
classifiers whose answers are known, the classifier trained / saved / loaded once, and the CLI
(single samples scored, an unreadable image skipped and named, a missing checkpoint said in one line)."""

import os

import numpy as np
import pytest

from common_tools.errors import UserError
from common_tools.synthetic.birds import CLASSES
from stackgan import evaluate

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("stackgan_is", os.path.join(FOLDER, "inception_score.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Stub:
    """A classifier that answers with fixed probabilities."""

    def __init__(self, probs):
        self.probs = probs

    def predict(self, images):
        return {k: v[:len(images)] for k, v in self.probs.items()}


def test_labels_are_the_drawn_attributes():
    y = evaluate.labels([1, 2, 20])
    assert list(y["class"]) == [0, 1, 19]
    assert evaluate.COLOURS[y["crown"][0]] == CLASSES[0].crown == "red"
    assert evaluate.COLOURS[y["wings"][1]] == "blue" and evaluate.LENGTHS[y["tail_length"][2]] == "long"
    with pytest.raises(UserError, match="class numbers must be 1..20"):
        evaluate.labels([0])


def test_named_parts_follow_the_caption_nouns():
    assert evaluate.named_parts("this bird has a red head, brown wings and a short beak.") == ["crown", "wings"]
    assert evaluate.named_parts("the chest is white and the tail is long") == ["belly"]


def test_caption_consistency_counts_class_and_named_colours():
    y = evaluate.labels([1, 1, 2, 2])
    onehot = lambda idx, n: np.eye(n)[idx]  # noqa: E731
    crown = y["crown"].copy()
    crown[1] = (crown[1] + 1) % 9                              # the second image's crown is wrong
    probs = {h: onehot(y[h], n) for h, n in evaluate.HEADS.items()}
    probs["class"] = onehot([0, 5, 1, 1], 20)                  # one class wrong of 4
    probs["crown"] = onehot(crown, 9)
    captions = ["a red crown", "a bird with a red head and brown wings", "blue wings", "a short beak"]
    out = evaluate.caption_consistency(Stub(probs), np.zeros((4, 8, 8, 3)), [1, 1, 2, 2], captions)
    assert out["class_accuracy"] == 0.75
    assert out["colour_accuracy"]["crown"] == 0.5 and out["colour_accuracy"]["wings"] == 1.0
    assert out["colour_mentions"] == 4 and out["colour_accuracy"]["mean"] == 0.75


def test_domain_scores_on_known_answers():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(40, evaluate.FEATURE_DIM))
    same = Stub({"features": feats, "class": np.full((40, 20), 1 / 20)})
    out = evaluate.domain_scores(same, np.zeros((40, 1)), np.zeros((40, 1)))
    assert abs(out["domain_fid"]) < 1e-6 and out["domain_is"] == pytest.approx(1.0)
    spread = Stub({"features": feats, "class": np.eye(20)[np.arange(40) % 20]})
    assert evaluate.domain_scores(spread, np.zeros((40, 1)), np.zeros((40, 1)))["domain_is"] > 1.9


@pytest.fixture(scope="module")
def classifier(synthbirds, tmp_path_factory):
    from stackgan import data

    splits = [data.load_split(synthbirds["data_dir"], s, load_size=76) for s in ("train", "test")]
    images = np.concatenate([s.images for s in splits])
    ids = np.concatenate([s.class_id for s in splits])
    assert list(evaluate.labels(ids)["class"]) == list(ids - 1)
    # built, not trained: Keras' fit costs ~10 s of tracing; the demo trains it (Classifier.train)
    clf = evaluate.Classifier(evaluate.Classifier.build(seed=0))
    folder = str(tmp_path_factory.mktemp("clf"))
    clf.save(folder)
    return clf, folder, images


def test_classifier_saves_and_loads(classifier):
    clf, folder, images = classifier
    a, b = clf.predict(images[:4, 6:70, 6:70]), evaluate.Classifier.load(folder).predict(images[:4, 6:70, 6:70])
    assert a["features"].shape == (4, evaluate.FEATURE_DIM) and a["class"].shape == (4, 20)
    assert np.allclose(a["class"], b["class"], atol=1e-6)


def test_inception_score_cli_domain_classifier_and_unreadable_image(classifier, tmp_path, capsys):
    from common_tools.grids import save_png

    _, folder, images = classifier
    samples = tmp_path / "test_single"
    for i in range(10):
        save_png(str(samples / f"s{i}.png"), images[i, :64, :64])
    (samples / "broken.png").write_bytes(b"not a png")
    assert _script().main(["--image_folder", str(samples), "--domain_classifier", folder]) == 0
    out = capsys.readouterr()
    assert "skipped unreadable image" in out.err and "broken.png" in out.err
    assert "domain IS (SynthBirds classifier, 10 images, 10 splits): mean:" in out.out


def test_inception_score_cli_says_what_is_missing(tmp_path):
    with pytest.raises(UserError, match="no --checkpoint_dir.*StackGAN-inception-model"):
        _script().main(["--image_folder", str(tmp_path)])
    with pytest.raises(UserError, match="is not a folder"):
        _script().main(["--image_folder", str(tmp_path / "none"), "--checkpoint_dir", str(tmp_path)])
