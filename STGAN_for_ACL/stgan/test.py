"""Test modes of the reference (single, multi, slide) on a trained experiment.

Each input image gives one PNG strip (stgan.strips): the input, a 12-px gap, then the results.
    single  reconstruction + one flip per attribute (conflicts resolved), flipped value x test_int
            -> <exp>/sample_testing/<image stem>.png
    multi   several attributes flipped at once, each with its intensity
            -> <exp>/sample_testing_multi_<A>_<B>/<image stem>.png
    slide   one attribute swept over n_slide intensities from test_int_min to test_int_max
            -> <exp>/sample_testing_slide_<A>/<image stem>.png

    run("output/demo", "runs/data/synthfaces", "slide", n_images=4, test_att="Male", n_slide=7)
"""

from __future__ import annotations

import os

import numpy as np

from common_tools import celeba
from common_tools.errors import UserError, check_output_dir
from common_tools.grids import save_png

from . import data as data_lib
from .export import load_generator
from .strips import strip


def generate(G, cfg, xa, a, targets, batch_size: int = 16) -> list:
    """For each scaled target [N, n_att]: G(xa, target − scaled a) [N, S, S, 3] (inference mode)."""
    import tensorflow as tf

    a_ = data_lib.scale(a, cfg.thres_int)
    outs = []
    for b_ in targets:
        parts = [G(tf.constant(xa[i:i + batch_size]), tf.constant((b_ - a_)[i:i + batch_size]),
                   training=False).numpy() for i in range(0, len(xa), batch_size)]
        outs.append(np.concatenate(parts))
    return outs


def edits(mode: str, cfg, a, test_int=1.0, test_atts=(), test_ints=(), test_att=None,
          int_min=-1.0, int_max=1.0, n_slide=10) -> list:
    """Scaled targets of one mode for labels a [N, n_att]."""
    if mode == "single":
        return data_lib.single_edits(a, cfg.atts, cfg.thres_int, test_int)
    if mode == "multi":
        if not test_atts:
            raise UserError("multi mode needs --test_atts (e.g. --test_atts Bangs Male --test_ints 0.5 0.5)")
        return [data_lib.multi_edit(a, cfg.atts, test_atts, test_ints or [1.0], cfg.thres_int)]
    if mode == "slide":
        if not test_att:
            raise UserError("slide mode needs --test_att (e.g. --test_att Male --n_slide 10)")
        return data_lib.slide_edits(a, cfg.atts, test_att, int_min, int_max, n_slide, cfg.thres_int)
    raise UserError(f"unknown mode {mode!r}: expected single, multi or slide")


def out_folder(exp_dir: str, mode: str, test_atts=(), test_att=None) -> str:
    if mode == "multi":
        return os.path.join(exp_dir, "sample_testing_multi_" + "_".join(test_atts))
    if mode == "slide":
        return os.path.join(exp_dir, f"sample_testing_slide_{test_att}")
    return os.path.join(exp_dir, "sample_testing")


def experiment_dir(path: str) -> str:
    """The experiment folder of an experiment folder, its checkpoints/ folder or a checkpoint prefix."""
    path = os.path.abspath(path)
    if os.path.isfile(os.path.join(path, "config.json")):
        return path
    return os.path.dirname(path) if os.path.isdir(path) else os.path.dirname(os.path.dirname(path))


def run(path: str, data_dir: str, mode: str = "single", n_images: int = 0, split: str = "test",
        save_dir: str | None = None, **mode_args) -> dict:
    """Write one strip per test image of ``path`` (an experiment folder, its checkpoints/ folder or
    a checkpoint prefix); returns {"save_dir", "images", "files", "step"}."""
    save_dir = save_dir or out_folder(experiment_dir(path), mode, mode_args.get("test_atts", ()),
                                      mode_args.get("test_att"))
    save_dir = check_output_dir(save_dir, "--save_dir")
    cfg, G, step = load_generator(path)
    if mode == "multi":
        data_lib.check_names(mode_args.get("test_atts", ()), cfg.atts)
    if mode == "slide" and mode_args.get("test_att"):
        data_lib.check_names([mode_args["test_att"]], cfg.atts)
    part = data_lib.load_split(data_dir, cfg.atts, split, n_images).readable()
    if not part.files:
        raise UserError(f"no readable {split} images in {part.image_dir}")
    for start in range(0, len(part.files), 32):
        names, a = part.files[start:start + 32], part.labels[start:start + 32]
        xa = celeba.load_images(part.image_dir, names, data_lib.preprocess(cfg.img_size), image_size=cfg.img_size)
        outs = generate(G, cfg, xa, a, edits(mode, cfg, a, **mode_args))
        for j, name in enumerate(names):
            stem = os.path.splitext(os.path.basename(name))[0]
            save_png(os.path.join(save_dir, f"{stem}.png"), strip(xa[j], [o[j] for o in outs]))
    print(f"{mode}: wrote {len(part.files)} strip(s) to {save_dir} (checkpoint of step {step})")
    return {"save_dir": save_dir, "images": len(part.files), "files": part.files, "step": step}
