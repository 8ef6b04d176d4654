"""What BigBiGAN is for, measured: linear probes of E(x), label consistency, reconstruction, collapse.

- Linear probe (the paper's headline): a linear classifier fitted on E(x) of the train split,
  scored on the test split, beside the same probe on raw pixels and on a randomly initialised E
  (same architecture, untrained), so the number means something. The classifier is ridge
  regression onto one-hot labels over standardised features, its strength chosen on a held-out
  sixth of the train split (closed form, deterministic).
- Label consistency: the share of conditional samples G(z, y) that a classifier trained on real
  images (the pixel probe) assigns to y; its accuracy on real test images is reported beside it.
- Reconstruction x -> E(x) -> G(E(x), y): mean squared error in [0, 1] pixels.
  Beside it the same error for G(z, y) with z from the prior: reconstruction means E(x) does better.
- Encoder collapse (the failure the reference's README names): the spread of E(x) over the test set,
  mean per-dimension standard deviation, against that of z ~ truncated normal (0.88)
  (:func:`collapse_check`).
- Generator collapse (what a run looks like when D has won: G's samples all alike, e.g. black):
  the spread of G(z, y) over the samples, mean per-pixel standard deviation, against that of the
  real test digits (:func:`generator_check`).
- Inversion: mean per-dimension correlation of z and E(G(z, y)) (BiGAN's optimum has E = G⁻¹).
- The same probes on E's pooled RevNet features (before the MLP head; the paper's "avepool").

    report = evaluate(G, E, cfg, (x_train, y_train), (x_test, y_test))   # floats in [0, 1] images
"""

from __future__ import annotations

import weakref

import numpy as np

TRUNCATED_NORMAL_SD = 0.8796        # sd of N(0, 1) cut at ±2


_INFERENCE = weakref.WeakKeyDictionary()     # model -> its traced inference function
_POOLED = weakref.WeakKeyDictionary()        # encoder -> its traced pooled-features function


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


L2_GRID = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)   # ridge strengths tried (× n, standardised features)


class LinearProbe:
    """Ridge regression onto one-hot labels over standardised features:

        W = (XᵀX + λ·n·I)⁻¹ Xᵀ (Y − Ȳ),  X standardised on the fitting features, bias = Ȳ

    With ``l2=None`` λ is chosen from :data:`L2_GRID` on a held-out sixth of the fitting features
    (a fixed permutation, so every probe of a report sees the same split), then refitted on all of
    them; the chosen λ is ``self.l2``. Closed form through one SVD: deterministic, no iterations.
    """

    def __init__(self, features, labels, num_classes: int = 10, l2=None, holdout: float = 1 / 6):
        x = np.asarray(features, np.float64).reshape(len(features), -1)
        y = np.eye(num_classes)[np.asarray(labels, np.int64)]
        if l2 is None:
            order = np.random.default_rng(0).permutation(len(x))
            cut = max(1, int(round(len(x) * holdout)))
            val, fit = order[:cut], order[cut:]
            solve = self._solver(x[fit], y[fit])
            scores = [np.mean(np.argmax(self._apply(solve(lam), x[val]), 1) == np.argmax(y[val], 1))
                      for lam in L2_GRID]
            l2 = L2_GRID[int(np.argmax(scores))]               # the first (weakest) of the best
            self.validation = dict(zip(L2_GRID, map(float, scores)))
        self.l2 = float(l2)
        self.w, self.b, self.mean, self.scale = self._solver(x, y)(self.l2)

    @staticmethod
    def _solver(x, y):
        """λ -> (W, b, mean, scale) for the features x [n, d] and one-hot y [n, k]."""
        mean, scale = x.mean(0), x.std(0) + 1e-6
        xs = (x - mean) / scale
        y_mean = y.mean(0)
        u, s, vt = np.linalg.svd(xs, full_matrices=False)
        uty = u.T @ (y - y_mean)
        n = len(x)
        return lambda lam: (vt.T @ ((s / (s ** 2 + lam * n))[:, None] * uty), y_mean, mean, scale)

    @staticmethod
    def _apply(params, x):
        w, b, mean, scale = params
        return ((x - mean) / scale) @ w + b

    def predict(self, features) -> np.ndarray:
        x = np.asarray(features, np.float64).reshape(len(features), -1)
        return np.argmax(self._apply((self.w, self.b, self.mean, self.scale), x), axis=1)

    def accuracy(self, features, labels) -> float:
        return float(np.mean(self.predict(features) == np.asarray(labels)))


def probe(train_features, train_labels, test_features, test_labels) -> float:
    """Test accuracy of a :class:`LinearProbe` fitted on the train features (λ validated)."""
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


def pooled_features(E, x, batch: int = 256) -> np.ndarray:
    """E's RevNet features before its MLP head (the paper's "avepool"), inference mode: [N, 4·en_ch]."""
    import tensorflow as tf

    if E not in _POOLED:
        _POOLED[E] = tf.function(lambda a: E.pooled(a, training=False))
    fn = _POOLED[E]
    return _batched(lambda a: fn(tf.constant(a, tf.float32)).numpy(), [np.asarray(x, np.float32)], batch)


def collapse_check(features, latent_spread: float = TRUNCATED_NORMAL_SD) -> dict:
    """Encoder collapse: how far apart E(x) of different test images are.

    ``spread`` = mean per-dimension sd of E(x); ``ratio`` = spread / sd of the prior; ``dead_dims``
    = dimensions whose sd is below 1 % of the prior's; ``distinct`` = share of test images whose
    E(x) differs (L2 > 1e-3 · prior sd · √d) from that of the next test image; ``collapsed`` when the
    spread is under 5 % of the prior's (the reference README's failure: many images, one latent).
    """
    f = np.asarray(features, np.float64)
    sd = f.std(0)
    spread = float(sd.mean())
    gap = np.linalg.norm(f[1:] - f[:-1], axis=1)
    return {"spread": spread, "ratio": spread / latent_spread,
            "dead_dims": int(np.sum(sd < 0.01 * latent_spread)), "dims": int(f.shape[1]),
            "distinct": float(np.mean(gap > 1e-3 * latent_spread * np.sqrt(f.shape[1]))),
            "collapsed": bool(spread < 0.05 * latent_spread), "latent_spread": latent_spread}


def generator_check(generated, real) -> dict:
    """Generator collapse: how different G's samples are from each other, against real images.

    ``spread`` = mean per-pixel sd of G(z, y) over the samples, ``real_spread`` the same of the real
    images; ``ratio`` = their quotient; ``mean`` / ``real_mean`` the mean pixel values (black images:
    both spread and mean near 0); ``collapsed`` when the spread is under 10 % of the real images'
    (the samples barely depend on z or y).
    """
    g, r = np.asarray(generated, np.float64), np.asarray(real, np.float64)
    spread, real_spread = float(g.std(0).mean()), float(r.std(0).mean())
    ratio = spread / max(real_spread, 1e-12)
    return {"spread": spread, "real_spread": real_spread, "ratio": ratio, "mean": float(g.mean()),
            "real_mean": float(r.mean()), "collapsed": bool(ratio < 0.1)}


def inversion_corr(z, z_hat) -> float:
    """Mean over latent dimensions of corr(z_i, E(G(z))_i): 1 when E inverts G (what BiGAN's joint
    discriminator asks of it at the optimum), about 0 when E ignores G's latent."""
    z, z_hat = np.asarray(z, np.float64), np.asarray(z_hat, np.float64)
    zc, hc = z - z.mean(0), z_hat - z_hat.mean(0)
    denom = np.sqrt((zc ** 2).sum(0) * (hc ** 2).sum(0)) + 1e-12
    return float(np.mean((zc * hc).sum(0) / denom))


def evaluate(G, E, cfg, train, test, samples_per_class: int = 100, seed: int = 0) -> dict:
    """The figures of the module docstring; ``train``/``test`` = (x float [N, 32, 32, C] in [0, 1], y).

    Every probe fits a :class:`LinearProbe` (λ validated on the same held-out sixth of the train
    split) and scores it on the test split. Returns floats plus the arrays ``reconstructions``
    (G(E(x_test), y_test)) and ``generated`` (G(z, y), ``samples_per_class`` per class, in class order).
    """
    from .offline import truncated_normal

    (x_tr, y_tr), (x_te, y_te) = train, test
    f_tr, f_te = encode(E, x_tr), encode(E, x_te)
    E0 = random_encoder(cfg)
    probes = {"E": LinearProbe(f_tr, y_tr), "E_pooled": LinearProbe(pooled_features(E, x_tr), y_tr),
              "random_E": LinearProbe(encode(E0, x_tr), y_tr),
              "random_E_pooled": LinearProbe(pooled_features(E0, x_tr), y_tr),
              "pixels": LinearProbe(x_tr, y_tr)}        # pixels: also the label-consistency classifier
    test_features = {"E": f_te, "E_pooled": pooled_features(E, x_te), "random_E": encode(E0, x_te),
                     "random_E_pooled": pooled_features(E0, x_te), "pixels": x_te}
    rng = np.random.default_rng(seed)
    y_gen = np.repeat(np.arange(cfg.num_classes), samples_per_class).astype(np.int32)
    z_gen = truncated_normal(rng, (len(y_gen), cfg.latent_dim))
    x_gen = decode(G, z_gen, y_gen)
    x_rec = decode(G, f_te, y_te)
    x_prior = decode(G, truncated_normal(rng, (len(y_te), cfg.latent_dim)), y_te)
    pixels = probes["pixels"]
    per_class = [float(np.mean(pixels.predict(x_gen[y_gen == k]) == k)) for k in range(cfg.num_classes)]
    return {
        "probe": {name: p.accuracy(test_features[name], y_te) for name, p in probes.items()},
        "probe_l2": {name: p.l2 for name, p in probes.items()},
        "label_consistency": pixels.accuracy(x_gen, y_gen),
        "label_consistency_per_class": per_class,
        "classifier_test_accuracy": pixels.accuracy(x_te, y_te),
        "reconstruction_mse": float(np.mean((x_rec - x_te) ** 2)),
        "reconstruction_mse_prior_z": float(np.mean((x_prior - x_te) ** 2)),
        "reconstruction_label_consistency": pixels.accuracy(x_rec, y_te),
        "collapse": collapse_check(f_te),
        "generator": generator_check(x_gen, x_te),
        "inversion_corr": inversion_corr(z_gen, encode(E, x_gen)),
        "n_train": int(len(x_tr)), "n_test": int(len(x_te)), "n_generated": int(len(y_gen)),
        "reconstructions": x_rec, "generated": x_gen,
    }


EVALUATION_FILE = "evaluation.json"


def summary(report: dict) -> dict:
    """The JSON-able part of an :func:`evaluate` report (the arrays left out)."""
    return {k: v for k, v in report.items() if not isinstance(v, np.ndarray)}


def run_evaluation(run_dir, dataset_path, out_dir, checkpoint=None, num_train=None, num_test=None,
                   samples_per_class: int = 100) -> dict:
    """Evaluate the run ``run_dir`` (config.json + checkpoints/) on ``dataset_path``; writes

        <out_dir>/evaluation.json          the summary (probes, consistency, reconstruction, collapse)
        <out_dir>/reconstructions.png      test digits (top row), G(E(x), y) (bottom row)
        <out_dir>/samples_per_class.png    G(z, y), one row per class 0..9

    and returns the summary (plus ``checkpoint_step``). The split sizes default to the whole splits.
    """
    import json
    import os

    from common_tools.grids import save_grid

    from . import data
    from .export import load_generator

    cfg, G, step = load_generator(run_dir, checkpoint)
    E = load_encoder(run_dir, cfg, checkpoint)
    train = data.eval_images(*data.load(cfg, dataset_path, "train"), limit=num_train)
    test = data.eval_images(*data.load(cfg, dataset_path, "test"), limit=num_test)
    report = evaluate(G, E, cfg, train, test, samples_per_class=samples_per_class)
    os.makedirs(out_dir, exist_ok=True)
    k = min(10, len(test[0]))
    rows = np.concatenate([test[0][:k], report["reconstructions"][:k]])
    save_grid(os.path.join(out_dir, "reconstructions.png"), rows, nrow=k, value_range=(0, 1))
    per = min(10, samples_per_class)
    grid = report["generated"].reshape(cfg.num_classes, samples_per_class, *report["generated"].shape[1:])
    save_grid(os.path.join(out_dir, "samples_per_class.png"), grid[:, :per].reshape(-1, *grid.shape[2:]),
              nrow=per, value_range=(0, 1))
    out = dict(summary(report), checkpoint_step=int(step), run_dir=os.path.abspath(run_dir),
               dataset_path=os.path.abspath(dataset_path))
    with open(os.path.join(out_dir, EVALUATION_FILE), "w") as f:
        json.dump(out, f, indent=1)
    return out


def describe(s: dict) -> list:
    """Human lines of a summary (what evaluate.py prints)."""
    p = s["probe"]
    c = s["collapse"]
    lines = [f"linear probe (test accuracy, {s['n_train']} train / {s['n_test']} test): E(x) {p['E']:.3f}, "
             f"random E {p['random_E']:.3f}, raw pixels {p['pixels']:.3f}; E pooled {p['E_pooled']:.3f}, "
             f"random E pooled {p['random_E_pooled']:.3f}",
             f"label consistency of G(z, y): {s['label_consistency']:.3f} over {s['n_generated']} samples "
             f"(classifier: the pixel probe, {s['classifier_test_accuracy']:.3f} on real test digits)",
             f"reconstruction MSE of G(E(x), y): {s['reconstruction_mse']:.4f} (G(z ~ prior, y): "
             f"{s['reconstruction_mse_prior_z']:.4f}); class kept: {s['reconstruction_label_consistency']:.3f}",
             f"E inverts G? mean corr(z, E(G(z, y))) per dimension {s['inversion_corr']:.3f} (1: inverse, 0: none)",
             f"encoder spread {c['spread']:.3f} (prior {c['latent_spread']:.2f}), {c['dead_dims']}/{c['dims']} dead "
             f"dimensions, distinct {c['distinct']:.3f}: " + ("COLLAPSED" if c["collapsed"] else "no collapse")]
    g = s.get("generator")                       # evaluation.json of runs before the check: absent
    if g:
        lines.append(f"generator spread {g['spread']:.3f} (real digits {g['real_spread']:.3f}), mean pixel "
                     f"{g['mean']:.3f} (real {g['real_mean']:.3f}): " + (
                         "COLLAPSED (the samples are all alike)" if g["collapsed"]
                         else "no collapse"))
    return lines
