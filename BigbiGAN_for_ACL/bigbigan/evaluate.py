"""What BigBiGAN is for, measured: linear probes of E(x), label consistency, reconstruction, collapse.

- Linear probe (the paper's headline): a linear classifier fitted on E(x) of the train split,
  scored on the test split, beside the same probe on raw pixels and on a randomly initialised E
  (same architecture and seed stream, untrained), so the number means something. The classifier is
  ridge regression onto one-hot labels over standardised features (closed form, deterministic).
- Label consistency: the share of conditional samples G(z, y) that a classifier trained on real
  images (the pixel probe) assigns to y; its accuracy on real test images is reported beside it.
- Reconstruction x -> E(x) -> G(E(x), y): mean squared error in [0, 1] pixels.
- Encoder collapse (the failure the reference's README names): the spread of E(x) over the test set,
  mean per-dimension standard deviation, against that of z ~ truncated normal (0.88).

    report = evaluate(G, E, cfg, (x_train, y_train), (x_test, y_test))   # floats in [0, 1] images
"""

from __future__ import annotations

import weakref

import numpy as np

TRUNCATED_NORMAL_SD = 0.8796        # sd of N(0, 1) cut at ±2


_INFERENCE = weakref.WeakKeyDictionary()     # model -> its traced inference function


def _inference(model, *dtypes):
    """One tf.function per model, traced once for a fixed batch."""
    import tensorflow as tf

    if model not in _INFERENCE:
        _INFERENCE[model] = tf.function(lambda *a: model(*a, training=False))
    fn = _INFERENCE[model]
    return lambda *arrays: fn(*(tf.constant(a, d) for a, d in zip(arrays, dtypes))).numpy()


def _batched(fn, arrays, batch: int = 256) -> np.ndarray:
    """fn over fixed-size batches (the last one padded, so there is a single trace)."""
    n = len(arrays[0])
    out = []
    for i in range(0, n, batch):
        part = [a[i:i + batch] for a in arrays]
        k = len(part[0])
        if k < batch:
            part = [np.concatenate([p, np.repeat(p[-1:], batch - k, axis=0)]) for p in part]
        out.append(np.asarray(fn(*part))[:k])
    return np.concatenate(out)


def encode(E, x, batch: int = 256) -> np.ndarray:
    """E(x) in inference mode: float32 [N, latent]."""
    return _batched(_inference(E, "float32"), [np.asarray(x, np.float32)], batch)


def decode(G, z, y, batch: int = 256) -> np.ndarray:
    """G(z, y) in inference mode: float32 [N, 32, 32, C] in [0, 1]."""
    return _batched(_inference(G, "float32", "int32"), [np.asarray(z, np.float32), np.asarray(y, np.int32)],
                    batch)


class LinearProbe:
    """Ridge regression onto one-hot labels: W = (XᵀX + λ·n·I)⁻¹ Xᵀ Y over standardised features."""

    def __init__(self, features, labels, num_classes: int = 10, l2: float = 1e-3):
        x = np.asarray(features, np.float64).reshape(len(features), -1)
        self.mean, self.scale = x.mean(0), x.std(0) + 1e-6
        xs = self._design(x)
        y = np.eye(num_classes)[np.asarray(labels, np.int64)]
        reg = l2 * len(x) * np.eye(xs.shape[1])
        reg[-1, -1] = 0.0                                   # the bias is not penalised
        self.w = np.linalg.solve(xs.T @ xs + reg, xs.T @ y)

    def _design(self, x):
        xs = (x - self.mean) / self.scale
        return np.concatenate([xs, np.ones((len(xs), 1))], axis=1)

    def predict(self, features) -> np.ndarray:
        x = np.asarray(features, np.float64).reshape(len(features), -1)
        return np.argmax(self._design(x) @ self.w, axis=1)

    def accuracy(self, features, labels) -> float:
        return float(np.mean(self.predict(features) == np.asarray(labels)))


def probe(train_features, train_labels, test_features, test_labels) -> float:
    """Test accuracy of a :class:`LinearProbe` fitted on the train features."""
    return LinearProbe(train_features, train_labels).accuracy(test_features, test_labels)


def random_encoder(cfg, seed: int = 12345):
    """An untrained E of the config's architecture (the probe's baseline)."""
    import keras

    from .networks import Encoder

    keras.utils.set_random_seed(seed)
    E = Encoder(cfg.en_ch, cfg.latent_dim, cfg.en_units, cfg.dropout, cfg.init)
    E(np.zeros((1, cfg.image_size, cfg.image_size, cfg.channels), np.float32))
    return E


def load_encoder(run_dir, cfg, checkpoint=None):
    """E of a run folder, from its latest checkpoint (or ``checkpoint``)."""
    import os

    from common_tools.checkpoint import restore_for_inference

    E = random_encoder(cfg)
    restore_for_inference(checkpoint or os.path.join(run_dir, "checkpoints"), E=E)
    return E


def evaluate(G, E, cfg, train, test, samples_per_class: int = 100, seed: int = 0) -> dict:
    """The figures of the module docstring; ``train``/``test`` = (x float [N, 32, 32, C] in [0, 1], y)."""
    from .offline import truncated_normal

    (x_tr, y_tr), (x_te, y_te) = train, test
    f_tr, f_te = encode(E, x_tr), encode(E, x_te)
    E0 = random_encoder(cfg)
    pixels = LinearProbe(x_tr, y_tr)                         # also the label-consistency classifier
    rng = np.random.default_rng(seed)
    y_gen = np.repeat(np.arange(cfg.num_classes), samples_per_class).astype(np.int32)
    x_gen = decode(G, truncated_normal(rng, (len(y_gen), cfg.latent_dim)), y_gen)
    x_rec = decode(G, f_te, y_te)
    return {
        "probe_E": probe(f_tr, y_tr, f_te, y_te),
        "probe_pixels": pixels.accuracy(x_te, y_te),
        "probe_random_E": probe(encode(E0, x_tr), y_tr, encode(E0, x_te), y_te),
        "label_consistency": pixels.accuracy(x_gen, y_gen),
        "reconstruction_mse": float(np.mean((x_rec - x_te) ** 2)),
        "encoder_spread": float(f_te.std(0).mean()),
        "latent_spread": TRUNCATED_NORMAL_SD,
        "n_train": int(len(x_tr)), "n_test": int(len(x_te)), "n_generated": int(len(y_gen)),
        "reconstructions": x_rec, "generated": x_gen,
    }
