"""Offline inference files: test images and target labels to msame .bin folders, and the runner's
(or msame's) outputs back to translation grids.

img2bin writes, in msame folder mode, one file per (image, target) under the same name in each
input folder, plus a manifest that bin2img reads:

    <bin_dir>/x_real/000123_2.bin    float32 [1, S, S, 3] in [-1, 1]
    <bin_dir>/c_trg/000123_2.bin     float32 [1, c_dim]   (target 2: the third selected attribute)
    <bin_dir>/manifest.json          image size, c_dim, selected_attrs, the names in order

msame / the runner then write ``<output_root>/<timestamp>/000123_2_output_0.bin``.
"""

from __future__ import annotations

import json
import os

import numpy as np

from common_tools import binio, msame
from common_tools.errors import UserError

from .test import save_translation_grid, target_labels

MANIFEST = "manifest.json"


def write_bins(cfg, batches, files, bin_dir: str, limit: int | None = None) -> dict:
    """(x, c_org) batches of the test split (in ``files`` order) -> the .bin folders + manifest."""
    x_dir, c_dir = os.path.join(bin_dir, "x_real"), os.path.join(bin_dir, "c_trg")
    os.makedirs(x_dir, exist_ok=True)
    os.makedirs(c_dir, exist_ok=True)
    images, i = [], 0
    for x, c in batches:
        x, c = np.asarray(x, np.float32), np.asarray(c, np.float32)
        targets = target_labels(c, cfg.selected_attrs)
        for j in range(len(x)):
            if limit is not None and i >= limit:
                break
            stem = os.path.splitext(os.path.basename(files[i]))[0]
            names = []
            for k, t in enumerate(targets):
                name = f"{stem}_{k}.bin"
                binio.write_bin(os.path.join(x_dir, name), x[j:j + 1])
                binio.write_bin(os.path.join(c_dir, name), t[j:j + 1])
                names.append(name)
            images.append({"file": files[i], "stem": stem, "c_org": c[j].tolist(), "bins": names})
            i += 1
        if limit is not None and i >= limit:
            break
    manifest = {"image_size": cfg.image_size, "c_dim": cfg.c_dim,
                "selected_attrs": list(cfg.selected_attrs), "images": images}
    with open(os.path.join(bin_dir, MANIFEST), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
    return manifest


def read_manifest(bin_dir: str) -> dict:
    path = os.path.join(bin_dir, MANIFEST)
    if not os.path.isfile(path):
        raise UserError(f"{path} not found: expected the folder img2bin.py wrote (x_real/, c_trg/, "
                        f"{MANIFEST})")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_outputs(bin_dir: str, output_root: str, output_dir: str | None = None):
    """-> rows [N, 1 + c_dim, S, S, 3] in [-1, 1] (input, then each translation) and the folder read.

    ``output_dir``: a specific msame output folder; default the newest subfolder of ``output_root``.
    """
    manifest = read_manifest(bin_dir)
    s, c_dim = manifest["image_size"], manifest["c_dim"]
    out_dir = output_dir or msame.latest_output_dir(output_root)
    rows = []
    for image in manifest["images"]:
        x = binio.read_bin(os.path.join(bin_dir, "x_real", image["bins"][0]), (1, s, s, 3))
        row = [x[0]]
        for name in image["bins"]:
            path = os.path.join(out_dir, name[:-len(".bin")] + "_output_0.bin")
            if not os.path.isfile(path):
                raise UserError(f"{path} not found: expected one output per input file in {out_dir} "
                                "(run msame or `python -m common_tools.runner` in folder mode)")
            row.append(binio.read_bin(path, (1, s, s, 3))[0])
        rows.append(np.stack(row))
    if not rows:
        raise UserError(f"{bin_dir}/{MANIFEST} lists no images")
    if len(rows[0]) != 1 + c_dim:
        raise UserError(f"{bin_dir}/{MANIFEST}: expected {c_dim} targets per image")
    return np.stack(rows), out_dir


def save_grids(rows: np.ndarray, out_dir: str, rows_per_grid: int = 8) -> list:
    """Translation grids of ``rows_per_grid`` inputs each: ``<out_dir>/grid_000.png`` ..."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for g, start in enumerate(range(0, len(rows), rows_per_grid)):
        paths.append(save_translation_grid(os.path.join(out_dir, f"grid_{g:03d}.png"),
                                           rows[start:start + rows_per_grid]))
    return paths
