"""Test-phase translation: for each input, one target label vector per selected attribute.

A hair colour target sets that colour to 1 and the other selected hair colours to 0; any other
attribute is flipped. Each output row is the input followed by its c_dim translations, in [0, 1].
"""

from __future__ import annotations

import os

import numpy as np

from common_tools import celeba, grids


def target_labels(c_org, selected_attrs) -> list:
    """c_org [N, c_dim] in {0,1} -> a list of c_dim arrays [N, c_dim], one target per attribute."""
    c_org = np.asarray(c_org, np.float32)
    targets = []
    for i, name in enumerate(selected_attrs):
        c = c_org.copy()
        c[:, i] = 1.0 if name in celeba.HAIR_COLOURS else 1.0 - c[:, i]  # a hair colour is set, others flip
        # CelebA's hair-colour rule only (the reference's): the other selected colours go to 0
        targets.append(celeba.resolve_conflicts(c, name, selected_attrs, celeba.HAIR_COLOUR_CONFLICTS))
    return targets


def translate(G, x_real, c_org, selected_attrs) -> np.ndarray:
    """[N, S, S, 3] in [-1, 1] -> [N, 1 + c_dim, S, S, 3] in [-1, 1]: the input then each translation."""
    x_real = np.asarray(x_real, np.float32)
    outs = [x_real] + [np.asarray(G(x_real, c), np.float32) for c in target_labels(c_org, selected_attrs)]
    return np.stack(outs, axis=1)


def to_unit(x) -> np.ndarray:
    """[-1, 1] -> [0, 1] (the reference's denorm)."""
    return np.clip((np.asarray(x, np.float32) + 1.0) / 2.0, 0.0, 1.0)


def save_translation_grid(path: str, rows: np.ndarray) -> str:
    """rows [N, 1 + c_dim, S, S, 3] in [-1, 1] -> one PNG, a row per input."""
    n, k = rows.shape[:2]
    grids.save_grid(path, to_unit(rows.reshape((n * k,) + rows.shape[2:])), nrow=k, value_range=(0, 1))
    return path


def run_test(G, batches, selected_attrs, result_dir: str, limit: int | None = None) -> list:
    """Write ``<result_dir>/<i>-images.png`` for each (x_real, c_org) batch; returns the paths."""
    os.makedirs(result_dir, exist_ok=True)
    paths = []
    for i, (x_real, c_org) in enumerate(batches):
        if limit is not None and i >= limit:
            break
        rows = translate(G, x_real, c_org, selected_attrs)
        paths.append(save_translation_grid(os.path.join(result_dir, f"{i + 1}-images.png"), rows))
    return paths
