"""The card's offline flow around the .om/.onnx model: img2bin and bin2img.

img2bin writes, per test image idx (its file stem) and edit i (0 = reconstruction, 1..n = flips):
    <save_dir>/input1/{idx}_{i}.bin   image [1, S, S, 3] float32 in [-1, 1]
    <save_dir>/input2/{idx}_{i}.bin   scaled target [1, n_att] (edited attribute x test_int)
    <save_dir>/input3/{idx}_{i}.bin   scaled source [1, n_att]
msame (or ``python -m common_tools.runner``) in folder mode turns them into
{idx}_{i}_output_0.bin; bin2img puts input | gap | the n_att + 1 outputs side by side.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict

import numpy as np

from common_tools import binio, celeba
from common_tools.errors import UserError
from common_tools.grids import save_png
from common_tools.msame import latest_output_dir

from . import data as data_lib
from .test import strip

INPUT_NAMES = ("input1", "input2", "input3")
OUTPUT_RE = re.compile(r"^(?P<idx>.+)_(?P<i>\d+)_output_0\.bin$")


def img2bin(image_dir, files, labels, atts, save_dir, img_size=128, thres_int=0.5, test_int=2.0) -> int:
    """Write the three input folders; returns the number of (image, edit) samples."""
    for name in INPUT_NAMES:
        os.makedirs(os.path.join(save_dir, name), exist_ok=True)
    count = 0
    for start in range(0, len(files), 64):
        names, a = files[start:start + 64], labels[start:start + 64]
        xa = celeba.load_images(image_dir, names, data_lib.preprocess(img_size), image_size=img_size)
        source = data_lib.scale(a, thres_int)
        targets = data_lib.single_edits(a, atts, thres_int, test_int)
        for j, name in enumerate(names):
            idx = os.path.splitext(os.path.basename(name))[0]
            for i, target in enumerate(targets):
                stem = f"{idx}_{i}.bin"
                binio.write_bin(os.path.join(save_dir, "input1", stem), xa[j:j + 1])
                binio.write_bin(os.path.join(save_dir, "input2", stem), target[j:j + 1])
                binio.write_bin(os.path.join(save_dir, "input3", stem), source[j:j + 1])
                count += 1
    return count


def resolve_bin_dir(bin_dir: str) -> str:
    """The folder holding *_output_0.bin: ``bin_dir`` itself, or the newest msame subfolder of it."""
    if not os.path.isdir(bin_dir):
        raise UserError(f"--bin_dir not found: {bin_dir} (expected msame's --output folder or one of "
                        "its timestamped subfolders)")
    if any(OUTPUT_RE.match(n) for n in os.listdir(bin_dir)):
        return bin_dir
    try:
        newest = latest_output_dir(bin_dir)
    except UserError:
        raise UserError(f"{bin_dir} holds no {{idx}}_{{i}}_output_0.bin files and no msame output "
                        "subfolder: run msame (or python -m common_tools.runner) with --output "
                        f"{bin_dir} first, or pass the timestamped folder it printed") from None
    if not any(OUTPUT_RE.match(n) for n in os.listdir(newest)):
        raise UserError(f"the newest output subfolder {newest} holds no {{idx}}_{{i}}_output_0.bin files")
    return newest


def read_outputs(bin_dir: str, img_size: int) -> dict:
    """{idx: [n_edits arrays [S, S, 3]]} read from ``bin_dir`` (sizes checked by binio)."""
    found = defaultdict(dict)
    for name in os.listdir(bin_dir):
        m = OUTPUT_RE.match(name)
        if m:
            found[m.group("idx")][int(m.group("i"))] = os.path.join(bin_dir, name)
    outputs = {}
    for idx, by_i in sorted(found.items()):
        n = max(by_i) + 1
        missing = [f"{idx}_{i}_output_0.bin" for i in range(n) if i not in by_i]
        if missing:
            raise UserError(f"{bin_dir}: missing {', '.join(missing[:5])} (image {idx} has "
                            f"{len(by_i)} of {n} outputs)")
        outputs[idx] = [binio.read_bin(by_i[i], [1, img_size, img_size, 3])[0] for i in range(n)]
    return outputs


def bin2img(image_dir, files, bin_dir, save_dir, img_size=128) -> list:
    """One strip PNG per image with outputs: input | gap | outputs; returns the written paths."""
    bin_dir = resolve_bin_dir(bin_dir)
    outputs = read_outputs(bin_dir, img_size)
    by_stem = {os.path.splitext(os.path.basename(f))[0]: f for f in files}
    unknown = [idx for idx in outputs if idx not in by_stem]
    if unknown:
        raise UserError(f"{bin_dir}: outputs for image(s) {', '.join(unknown[:5])} not found among the "
                        f"images of --data_dir (expected file stems such as {next(iter(by_stem), '182638')})")
    os.makedirs(save_dir, exist_ok=True)
    idxs = list(outputs)
    written = []
    for start in range(0, len(idxs), 64):
        chunk = idxs[start:start + 64]
        xs = celeba.load_images(image_dir, [by_stem[i] for i in chunk], data_lib.preprocess(img_size),
                                image_size=img_size)
        for idx, x in zip(chunk, xs):
            written.append(save_png(os.path.join(save_dir, f"{idx}.png"), strip(x, np.stack(outputs[idx]))))
    return written
