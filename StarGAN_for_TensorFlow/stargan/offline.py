"""Offline inference files over common_tools.offline: test images and their target labels to msame
folder-mode inputs, and msame's (or the runner's) outputs back to translation grids.

    <bin_dir>/x_real/stargan_<image>_<k>.bin   float32 [1, S, S, 3] in [-1, 1]
    <bin_dir>/c_trg/stargan_<image>_<k>.bin    float32 [1, c_dim]  (target k, as in the test phase)
    <bin_dir>/manifest.json                    inputs, output shape, the samples in order, meta

msame / the runner write ``<output_root>/<timestamp>/stargan_<image>_<k>_output_0.bin``, checked
against the manifest before anything is drawn (the prefix makes another model's outputs foreign).

    write_bins(cfg, batches, files, "runs/x/bin", limit=8)
    rows, folder = read_rows("runs/x/bin", "runs/x/infer_out")    # [N, 1 + c_dim, S, S, 3]
"""

from __future__ import annotations

import os

import numpy as np

from common_tools import offline
from common_tools.errors import UserError

from .test import save_translation_grid, target_labels

PREFIX = "stargan_"


def write_bins(cfg, batches, files, bin_dir: str, limit: int | None = None) -> dict:
    """(x, c_org) batches of the test split (in ``files`` order) -> the .bin folders + manifest."""
    def samples():
        i = 0
        for x, c in batches:
            x, c = np.asarray(x, np.float32), np.asarray(c, np.float32)
            targets = target_labels(c, cfg.selected_attrs)
            for j in range(len(x)):
                if limit is not None and i >= limit:
                    return
                stem = os.path.splitext(os.path.basename(files[i]))[0]
                for k, t in enumerate(targets):
                    yield (f"{PREFIX}{stem}_{k}", {"x_real": x[j:j + 1], "c_trg": t[j:j + 1]},
                           {"file": files[i], "target": cfg.selected_attrs[k]})
                i += 1

    s = cfg.image_size
    return offline.write_inputs(bin_dir, {"x_real": ((1, s, s, 3), "float32"),
                                          "c_trg": ((1, cfg.c_dim), "float32")},
                                samples(), outputs=[((1, s, s, 3), "float32")],
                                meta={"model": "stargan", "selected_attrs": list(cfg.selected_attrs)})


def read_rows(bin_dir: str, output: str):
    """-> rows [N, 1 + c_dim, S, S, 3] in [-1, 1] (the input, then each translation) and the
    output folder read (``output``: msame's --output root, its newest subfolder read, or one)."""
    meta = offline.read_manifest(bin_dir)["meta"]
    if meta.get("model") != "stargan":
        raise UserError(f"{bin_dir} holds the inputs of {meta.get('model') or 'another model'}, "
                        "not StarGAN's: write them with StarGAN's img2bin.py")
    k = len(meta["selected_attrs"])
    (y,), out_dir = offline.read_outputs(bin_dir, output)
    x = offline.read_inputs(bin_dir, "x_real")                  # [N * k, 1, S, S, 3]
    return np.concatenate([x[::k], y.reshape((len(y) // k, k) + y.shape[2:])], axis=1), out_dir


def save_grids(rows: np.ndarray, out_dir: str, rows_per_grid: int = 8) -> list:
    """Translation grids of ``rows_per_grid`` inputs each: ``<out_dir>/grid_000.png`` ..."""
    return [save_translation_grid(os.path.join(out_dir, f"grid_{g:03d}.png"), rows[i:i + rows_per_grid])
            for g, i in enumerate(range(0, len(rows), rows_per_grid))]
