"""The card's offline flow around the .om/.onnx model, over common_tools.offline: img2bin and bin2img.

img2bin writes one sample ``stgan_{idx}_{i}`` per test image idx (its file stem) and edit i
(0 = reconstruction, 1..n_att = one flipped attribute): input1/ (image [1,S,S,3] in [-1, 1]),
input2/ (scaled target [1,n_att]), input3/ (scaled source [1,n_att]) and manifest.json. msame or
``python -m common_tools.runner`` in folder mode write ``stgan_{idx}_{i}_output_0.bin``; bin2img checks
them against the manifest (count, size, no other model's files) before it draws one strip per image.

    img2bin(image_dir, files, labels, cfg.atts, "bin", img_size=64)
    bin2img("bin", "msame_out", "om_testing")          # om_testing/<idx>.png
"""

from __future__ import annotations

import os

from common_tools import celeba, offline
from common_tools.errors import UserError, check_output_dir
from common_tools.grids import save_png

from . import data as data_lib
from .export import INPUTS
from .strips import strip

PREFIX = "stgan_"  # sample names: another model's outputs never match


def img2bin(image_dir, files, labels, atts, save_dir, img_size=128, thres_int=0.5, test_int=2.0) -> int:
    """Write the three input folders and the manifest; returns the number of (image, edit) samples."""
    S, k = int(img_size), len(atts)

    def samples():
        for start in range(0, len(files), 64):
            names, a = files[start:start + 64], labels[start:start + 64]
            xa = celeba.load_images(image_dir, names, data_lib.preprocess(S), image_size=S)
            source, targets = data_lib.scale(a, thres_int), data_lib.single_edits(a, atts, thres_int, test_int)
            for j, name in enumerate(names):
                for i, b_ in enumerate(targets):
                    arrays = dict(zip(INPUTS, (xa[j:j + 1], b_[j:j + 1], source[j:j + 1])))
                    yield f"{PREFIX}{os.path.splitext(name)[0]}_{i}", arrays, {"image": name, "edit": i}

    spec = dict(zip(INPUTS, (((1, S, S, 3), "float32"), ((1, k), "float32"), ((1, k), "float32"))))
    meta = {"img_size": S, "atts": list(atts), "thres_int": thres_int, "test_int": test_int}
    return len(offline.write_inputs(save_dir, spec, samples(), [((1, S, S, 3), "float32")], meta)["samples"])


def bin2img(bin_dir, output, save_dir) -> list:
    """One strip per image (input | gap | its outputs in edit order); returns the paths written.
    ``output``: msame's / the runner's --output folder (its newest subfolder is read) or that subfolder."""
    save_dir = check_output_dir(save_dir, "--save_dir")
    samples = offline.read_manifest(bin_dir)["samples"]
    foreign = [s["name"] for s in samples if not s["name"].startswith(PREFIX)]
    if foreign:
        raise UserError(f"{bin_dir} holds another model's inputs (sample {foreign[0]!r}): expected the "
                        f"{PREFIX}<idx>_<edit> samples of STGAN's img2bin.py")
    (outputs,), _ = offline.read_outputs(bin_dir, output)      # checked against the manifest first
    inputs, by_image = offline.read_inputs(bin_dir, "input1"), {}
    for n, s in enumerate(samples):
        by_image.setdefault(s["info"]["image"], []).append((s["info"]["edit"], n))
    return [save_png(os.path.join(save_dir, os.path.splitext(name)[0] + ".png"),
                     strip(inputs[min(edits)[1], 0], outputs[[n for _, n in sorted(edits)], 0]))
            for name, edits in by_image.items()]
