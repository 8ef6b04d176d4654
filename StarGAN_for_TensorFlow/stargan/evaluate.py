"""Evaluation of a trained G on the test split:

- translation accuracy per selected attribute, judged by the shared attribute classifier of
  ``common_tools.metrics.attr_classifier`` (13 face attributes, 64 px, trained on the data's
  training split and cached in ``default_classifier_dir``, so every demo uses the same judge);
- reconstruction error  mean |x - G(G(x, c_trg), c_org)|  over all targets;
- FID (2015 Inception pool3) between the real test images and their translations, the seed's
  protocol, when the Inception weights are installed (``make weights``); never a made-up number.
"""

from __future__ import annotations

import json
import os

import numpy as np

from common_tools import celeba
from common_tools.errors import UserError

from .data import PREPROCESS
from .test import target_labels

CLASSIFIER_ATTRS = ("Bald", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair", "Bushy_Eyebrows",
                    "Eyeglasses", "Male", "Mouth_Slightly_Open", "Mustache", "No_Beard",
                    "Pale_Skin", "Young")
CLASSIFIER_SIZE = 64


def classifier_view(images, preprocess, size: int) -> np.ndarray:
    """Our images [N, S, S, 3] in [-1, 1] as the classifier saw its training images: the part of our
    centre crop that its crop (``preprocess``, a ``celeba.Preprocess``) covers, resized to ``size``
    (e.g. its 64-px face crop, 148 px at (40, 15) of the 178x218 photo, is the box
    [20, 15, 168, 163] / 178 of our crop, rows 20..198 of the photo)."""
    import tensorflow as tf

    x = np.asarray(images, np.float32)
    if preprocess.crop == PREPROCESS.crop:
        return x
    box = celeba.crop_box(preprocess.crop, PREPROCESS.crop)  # normalised [y1, x1, y2, x2]
    boxes = np.tile(np.asarray(box, np.float32), (len(x), 1))
    out = tf.image.crop_and_resize(x, boxes, np.arange(len(x), dtype=np.int32), (size, size))
    return np.clip(out.numpy(), -1.0, 1.0)


def translate_all(G, batches, selected_attrs, limit=None):
    """-> reals [N,S,S,3], c_org [N,c], fakes [c,N,S,S,3], targets [c,N,c], reconstruction L1."""
    reals, origs, fakes, targets, rec = [], [], [], [], []
    for i, (x, c) in enumerate(batches):
        if limit is not None and i >= limit:
            break
        x, c = np.asarray(x, np.float32), np.asarray(c, np.float32)
        tg = target_labels(c, selected_attrs)
        fk = [np.asarray(G(x, t), np.float32) for t in tg]
        rec += [float(np.mean(np.abs(x - np.asarray(G(f, c), np.float32)))) * len(x) for f in fk]
        reals.append(x), origs.append(c), fakes.append(np.stack(fk)), targets.append(np.stack(tg))
    if not reals:
        raise UserError("the test split gave no images to evaluate")
    n = sum(len(r) for r in reals)
    return (np.concatenate(reals), np.concatenate(origs), np.concatenate(fakes, axis=1),
            np.concatenate(targets, axis=1), float(np.sum(rec) / (n * len(selected_attrs))))


def attribute_accuracy(classifier, fakes, targets, c_org, selected_attrs) -> dict:
    """Per-attribute translation accuracy: the classifier's verdict on attribute k of the image
    translated to target k equals the target value (common_tools.metrics.editing_accuracy)."""
    from common_tools.metrics import editing_accuracy

    k, n = fakes.shape[:2]
    images = classifier_view(fakes.reshape((k * n,) + fakes.shape[2:]), classifier.preprocess,
                             classifier.image_size)
    return editing_accuracy(classifier, images, targets.reshape(k * n, -1), np.tile(c_org, (k, 1)),
                            np.repeat(np.arange(k), n), attrs=list(selected_attrs))


def fid_or_note(reals, fakes):
    """(FID, None) when the Inception weights exist, else (None, the reason)."""
    from common_tools.metrics import weights

    if not os.path.isfile(weights.weights_path()):
        return None, "FID: weights not available, run make weights"
    from common_tools.metrics.fid import fid_between

    to255 = lambda a: np.clip((a + 1.0) * 127.5, 0, 255).astype(np.uint8)   # noqa: E731
    fid = fid_between(to255(reals), to255(fakes.reshape((-1,) + fakes.shape[2:])), progress=False)
    note = None
    if len(reals) < 2048:
        note = f"FID on {len(reals)} real / {fakes.shape[0] * fakes.shape[1]} translated images (< 2048: biased high)"
    return float(fid), note


def evaluate(G, cfg, batches, image_root: str, metadata_path: str, out_path: str | None = None,
             classifier_dir: str | None = None, fid: bool = True, limit=None,
             classifier_kw: dict | None = None) -> dict:
    """All of the above; the report is also written as JSON to ``out_path``.

    ``classifier_kw`` goes to ``ensure_classifier`` (e.g. ``steps``) when it has to train one."""
    from common_tools.metrics import default_classifier_dir, ensure_classifier

    reals, c_org, fakes, targets, rec = translate_all(G, batches, cfg.selected_attrs, limit)
    report = {"n_images": int(len(reals)), "n_translations": int(fakes.shape[0] * fakes.shape[1]),
              "reconstruction_l1": rec, "notes": []}
    judged = [a for a in cfg.selected_attrs if a in CLASSIFIER_ATTRS]
    if judged == list(cfg.selected_attrs):
        data_root = os.path.dirname(os.path.abspath(metadata_path))
        classifier_dir = classifier_dir or default_classifier_dir(CLASSIFIER_SIZE)
        clf = ensure_classifier(data_root, list(CLASSIFIER_ATTRS), classifier_dir,
                                image_size=CLASSIFIER_SIZE, **(classifier_kw or {}))
        report["accuracy"] = attribute_accuracy(clf, fakes, targets, c_org, cfg.selected_attrs)
        report["classifier"] = {"dir": classifier_dir,
                                "test_accuracy": (clf.meta.get("test_accuracy") or {}).get("mean")}
    else:
        report["notes"].append("accuracy: the classifier knows only " + " ".join(CLASSIFIER_ATTRS))
    report["fid"], note = fid_or_note(reals, fakes) if fid else (None, "FID: not asked for")
    if note:
        report["notes"].append(note)
    if out_path:
        os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
        with open(out_path, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return report


def format_report(report: dict) -> str:
    lines = [f"images: {report['n_images']} ({report['n_translations']} translations)",
             f"reconstruction L1: {report['reconstruction_l1']:.4f}"]
    acc = report.get("accuracy")
    if acc:
        per = "  ".join(f"{k} {v * 100:.1f}%" for k, v in acc["per_attribute"].items())
        lines.append(f"translation accuracy: mean {acc['mean'] * 100:.1f}%  ({per}); "
                     f"other attributes changed {acc['others_changed'] * 100:.1f}%")
    if report.get("fid") is not None:
        lines.append(f"FID: {report['fid']:.2f}")
    lines += report.get("notes", [])
    return "\n".join(lines)
