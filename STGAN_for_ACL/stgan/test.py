"""Test modes of the reference (single, multi, slide) on a trained experiment.

Each input image gives one PNG strip: the input, a 12-px gap, then the results side by side.
    single  reconstruction + one flip per attribute (conflicts resolved), flipped value x test_int
            -> <exp>/sample_testing/<image stem>.png
    multi   several attributes flipped at once, each with its intensity
            -> <exp>/sample_testing_multi_<A>_<B>/<image stem>.png
    slide   one attribute swept over n_slide intensities from test_int_min to test_int_max
            -> <exp>/sample_testing_slide_<A>/<image stem>.png
"""

from __future__ import annotations

import os

import numpy as np

from common_tools import celeba
from common_tools.checkpoint import find_checkpoint, restore_for_inference
from common_tools.errors import UserError
from common_tools.grids import hstack_with_gap, save_png
from common_tools.runs import load_config

from . import data as data_lib
from .config import STGANConfig
from .networks import Generator

GAP = 12  # px between the input and the results


def locate(path: str) -> tuple[str, str]:
    """(experiment folder, checkpoint prefix) for an experiment folder, its checkpoints/ folder,
    or a checkpoint prefix such as .../checkpoints/Epoch_(5)_(100of100).ckpt."""
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "config.json")):
        return path, find_checkpoint(os.path.join(path, "checkpoints"))
    prefix = find_checkpoint(path)
    exp_dir = os.path.dirname(os.path.dirname(os.path.abspath(prefix)))
    if not os.path.isfile(os.path.join(exp_dir, "config.json")):
        raise UserError(f"no config.json for checkpoint {prefix}: expected it in {exp_dir} "
                        "(the experiment folder that holds checkpoints/)")
    return exp_dir, prefix


def load_generator(path: str):
    """Rebuild G from the experiment's saved config and restore it; returns (cfg, G, prefix)."""
    import tensorflow as tf

    exp_dir, prefix = locate(path)
    cfg = load_config(STGANConfig, exp_dir)
    G = Generator(cfg)
    G(tf.zeros([1, cfg.img_size, cfg.img_size, 3]), tf.zeros([1, cfg.n_att]))
    restore_for_inference(prefix, G=G)
    return cfg, G, prefix


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


def strip(x, results) -> np.ndarray:
    """uint8 [S, S·(1+k) + GAP, 3]: the input, a gap, then the k results."""
    return hstack_with_gap([x, np.concatenate(list(results), axis=1)], gap=GAP, value_range=(-1, 1))


def split_strip(image: np.ndarray, size: int):
    """Inverse of :func:`strip`: (input [S,S,3], results [k,S,S,3]) of a uint8 strip."""
    h, w = image.shape[:2]
    k, rem = divmod(w - size - GAP, size)
    if h != size or rem or k < 1:
        raise UserError(f"a strip of {w}x{h} px does not fit {size}-px images: expected height "
                        f"{size} and width {size} + {GAP} + k·{size}")
    results = image[:, size + GAP:].reshape(size, k, size, 3).transpose(1, 0, 2, 3)
    return image[:, :size], results


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


def run(path: str, data_dir: str, mode: str = "single", n_images: int = 0, split: str = "test",
        save_dir: str | None = None, **mode_args) -> dict:
    """Write one strip per test image; returns {"save_dir", "images", "files"}."""
    from .train import load_split

    cfg, G, prefix = load_generator(path)
    exp_dir, _ = locate(path)
    if mode == "multi":
        data_lib.check_names(mode_args.get("test_atts", ()), cfg.atts)
    if mode == "slide" and mode_args.get("test_att"):
        data_lib.check_names([mode_args["test_att"]], cfg.atts)
    part = load_split(data_dir, cfg.atts, split, n_images)
    keep, check = celeba.check_images(part.image_dir, part.files)
    files = [part.files[i] for i in keep]
    labels = part.labels[keep]
    if check.skipped:
        print(f"skipped {len(check.skipped)} unreadable image(s): {', '.join(check.skipped[:10])}")
    if not files:
        raise UserError(f"no readable {split} images in {part.image_dir}")
    save_dir = save_dir or out_folder(exp_dir, mode, mode_args.get("test_atts", ()), mode_args.get("test_att"))
    os.makedirs(save_dir, exist_ok=True)
    chunk = 32
    for start in range(0, len(files), chunk):
        names, a = files[start:start + chunk], labels[start:start + chunk]
        xa = celeba.load_images(part.image_dir, names, data_lib.preprocess(cfg.img_size), image_size=cfg.img_size)
        outs = generate(G, cfg, xa, a, edits(mode, cfg, a, **mode_args))
        for j, name in enumerate(names):
            stem = os.path.splitext(os.path.basename(name))[0]
            save_png(os.path.join(save_dir, f"{stem}.png"), strip(xa[j], [o[j] for o in outs]))
    print(f"{mode}: wrote {len(files)} strip(s) to {save_dir} (checkpoint {prefix})")
    return {"save_dir": save_dir, "images": len(files), "files": files, "checkpoint": prefix}
