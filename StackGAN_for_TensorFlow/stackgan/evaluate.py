"""What SynthBirds' exact ground truth lets us measure: caption consistency, domain IS, domain FID.

A small classifier is trained on REAL SynthBirds images (the box crops preprocess_birds writes, a
random crop of image_size from load_size as the GAN sees them, resized to 64 px): one softmax head
for the class (20) and one per part (crown, wings, belly, beak, tail colours of 9; beak and tail
lengths of 2), over a shared 128-d feature. Then, for images generated from a caption:

- caption consistency: how often the classifier finds, in the generated image, the class of the
  image the caption describes, and the colour of each part the caption names (crown / wings /
  belly: every mention of those carries its colour); chance is 1/20 and 1/9, the classifier's own
  accuracy on held-out real images is the ceiling;
- domain IS: exp(E KL(p(class|x) || p(class))) over 10 splits, in the classifier's 20 classes;
- domain FID: the Frechet distance of the 128-d features of generated and real test images.

These are SynthBirds' own figures (labelled "domain"), never comparable with the Inception Score or
FID of papers; they compare runs of this project.

    clf = Classifier.train(images, class_ids, seed=0)           # real uint8 crops [N, L, L, 3]
    report = caption_consistency(clf, generated, class_ids, captions)
    scores = domain_scores(clf, real_test, generated)           # {"domain_is", "domain_fid", ...}
"""

from __future__ import annotations

import os
import re
from typing import Dict, Optional, Sequence

import numpy as np

from common_tools.errors import UserError
from common_tools.synthetic.birds import CLASSES, NOUNS, PALETTE

INPUT_SIZE = 64
COLOURS = tuple(PALETTE)                 # 9 colour names, the order of the colour heads
LENGTHS = ("short", "long")
COLOUR_PARTS = ("crown", "wings", "belly", "beak", "tail")
NAMED_COLOUR_PARTS = ("crown", "wings", "belly")     # a caption naming these always gives the colour
HEADS = {"class": len(CLASSES), **{p: len(COLOURS) for p in COLOUR_PARTS},
         "beak_length": 2, "tail_length": 2}
FEATURE_DIM = 128
WEIGHTS_NAME = "synthbirds_classifier.weights.h5"


def labels(class_ids: Sequence[int]) -> Dict[str, np.ndarray]:
    """{head: int labels [N]} of SynthBirds images with class numbers ``class_ids`` (1-based)."""
    ids = np.asarray(class_ids, np.int64) - 1
    if ids.min() < 0 or ids.max() >= len(CLASSES):
        raise UserError(f"class numbers must be 1..{len(CLASSES)} (SynthBirds), got {ids.min() + 1}..{ids.max() + 1}")
    out = {"class": ids}
    for part in COLOUR_PARTS:
        out[part] = np.array([COLOURS.index(getattr(CLASSES[c], part)) for c in ids])
    for part in ("beak_length", "tail_length"):
        out[part] = np.array([LENGTHS.index(getattr(CLASSES[c], part)) for c in ids])
    return out


def named_parts(caption: str) -> list:
    """The parts of NAMED_COLOUR_PARTS a caption names ("head" for crown, "chest" for belly, ...)."""
    words = set(re.findall(r"[a-z]+", caption.lower()))
    return [p for p in NAMED_COLOUR_PARTS if words & set(NOUNS[p])]


def to_input(images: np.ndarray) -> np.ndarray:
    """uint8 [N, S, S, 3] or float in [-1, 1] -> float32 [N, 64, 64, 3] in [-1, 1] (area resize)."""
    import tensorflow as tf

    x = np.asarray(images)
    x = x.astype(np.float32) * np.float32(2 / 255) - 1 if x.dtype == np.uint8 else x.astype(np.float32)
    if x.shape[1] != INPUT_SIZE:
        method = "area" if x.shape[1] > INPUT_SIZE else "bilinear"
        x = tf.image.resize(x, (INPUT_SIZE, INPUT_SIZE), method=method).numpy()
    return np.clip(x, -1, 1)


def random_crops(images: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``size`` crop of each uint8 image (the GAN's training crops, without flips)."""
    n, load = images.shape[0], images.shape[1]
    off = rng.integers(0, load - size + 1, (n, 2))
    return np.stack([images[i, y:y + size, x:x + size] for i, (y, x) in enumerate(off)])


class Classifier:
    """The SynthBirds classifier: ``predict(images) -> {"features": [N, 128], head: probs}``."""

    def __init__(self, model):
        self.model = model

    @staticmethod
    def build(seed: int = 0):
        """4 conv3x3 stride-2 blocks (32, 64, 128, 128) with BN + ReLU, global average pool,
        Dense 128 (the features), one softmax head per entry of HEADS."""
        import keras
        from keras import layers

        keras.utils.set_random_seed(seed)
        x = inp = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="image")
        for k, width in enumerate((32, 64, 128, 128)):                 # 32, 16, 8, 4 px
            x = layers.Conv2D(width, 3, strides=2, padding="same", use_bias=False, name=f"conv{k}")(x)
            x = layers.BatchNormalization(momentum=0.9, name=f"bn{k}")(x)   # few steps: fast moving stats
            x = layers.ReLU(name=f"relu{k}")(x)
        x = layers.GlobalAveragePooling2D(name="pool")(x)
        feats = layers.Dense(FEATURE_DIM, activation="relu", name="features")(x)
        heads = {h: layers.Dense(n, activation="softmax", name=h)(feats) for h, n in HEADS.items()}
        return keras.Model(inp, {"features": feats, **heads}, name="synthbirds_classifier")

    @classmethod
    def train(cls, images: np.ndarray, class_ids: Sequence[int], crop: Optional[int] = None,
              epochs: int = 8, batch_size: int = 64, seed: int = 0, holdout: float = 0.2) -> "Classifier":
        """Train on real uint8 images [N, L, L, 3] (random ``crop`` px crops each epoch, as the
        GAN's training images); ``holdout`` of them (seeded) are kept out: ``self.real_accuracy``."""
        import keras

        rng = np.random.default_rng(seed)
        y = labels(class_ids)
        order = rng.permutation(len(images))
        n_out = int(round(holdout * len(images)))
        test_ids, train_ids = order[:n_out], order[n_out:]
        crop = crop or images.shape[1]
        model = cls.build(seed)
        heads = keras.Model(model.inputs, [model.get_layer(h).output for h in HEADS])   # what is fitted
        heads.compile(optimizer=keras.optimizers.Adam(2e-3),
                      loss=["sparse_categorical_crossentropy"] * len(HEADS))
        for _ in range(epochs):
            x = to_input(random_crops(images[train_ids], crop, rng))
            heads.fit(x, [y[h][train_ids] for h in HEADS], batch_size=batch_size, epochs=1,
                      verbose=0, shuffle=True)
        clf = cls(model)
        clf.real_accuracy = {}
        if n_out:
            centre = (images.shape[1] - crop) // 2
            probs = clf.predict(images[test_ids, centre:centre + crop, centre:centre + crop])
            clf.real_accuracy = {h: float((probs[h].argmax(1) == y[h][test_ids]).mean()) for h in HEADS}
        return clf

    def predict(self, images, batch_size: int = 256) -> Dict[str, np.ndarray]:
        outs = [self.model(to_input(images[i:i + batch_size]), training=False)
                for i in range(0, len(images), batch_size)]
        return {k: np.concatenate([np.asarray(o[k]) for o in outs]) for k in outs[0]}

    def save(self, folder: str) -> str:
        path = os.path.join(folder, WEIGHTS_NAME)
        os.makedirs(folder, exist_ok=True)
        self.model.save_weights(path)
        return path

    @classmethod
    def load(cls, folder: str) -> "Classifier":
        path = folder if folder.endswith(".weights.h5") else os.path.join(folder, WEIGHTS_NAME)
        if not os.path.isfile(path):
            raise UserError(f"--domain_classifier {folder}: no {WEIGHTS_NAME} (the demo writes one; "
                            "or train it with stackgan.evaluate.Classifier.train)")
        model = cls.build()
        model.load_weights(path)
        return cls(model)


def caption_consistency(clf: Classifier, images, class_ids: Sequence[int],
                        captions: Sequence[str]) -> dict:
    """Class accuracy and named-part colour accuracy of images generated from ``captions`` (the
    captions of images of class ``class_ids``), with the chance levels."""
    probs = clf.predict(images)
    y = labels(class_ids)
    out = {"class_accuracy": float((probs["class"].argmax(1) == y["class"]).mean()),
           "class_chance": 1 / len(CLASSES), "colour_chance": 1 / len(COLOURS), "n": int(len(images))}
    hits = {p: [] for p in NAMED_COLOUR_PARTS}
    for i, caption in enumerate(captions):
        for part in named_parts(caption):
            hits[part].append(probs[part][i].argmax() == y[part][i])
    per_part = {p: float(np.mean(v)) for p, v in hits.items() if v}
    out["colour_accuracy"] = {**per_part, "mean": float(np.mean([x for v in hits.values() for x in v]))
                              if any(hits.values()) else None}
    out["colour_mentions"] = int(sum(len(v) for v in hits.values()))
    return out


def domain_scores(clf: Classifier, real, fake, splits: int = 10) -> dict:
    """Domain IS of ``fake`` (classifier's class head) and domain FID of fake vs real features."""
    from common_tools.metrics.fid import fid_from_features
    from common_tools.metrics.inception_score import inception_score_from_probs

    pf, pr = clf.predict(fake), clf.predict(real)
    is_mean, is_std = inception_score_from_probs(pf["class"], min(splits, len(fake)))
    real_is, _ = inception_score_from_probs(pr["class"], min(splits, len(real)))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # "FID needs thousands of samples": said in the notes
        fid = fid_from_features(pf["features"].astype(np.float64), pr["features"].astype(np.float64))
    return {"domain_is": is_mean, "domain_is_std": is_std, "domain_is_real": real_is,
            "domain_fid": float(fid), "n_fake": int(len(fake)), "n_real": int(len(real))}
