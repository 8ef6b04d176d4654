"""Generating images from a trained run: load G from a checkpoint, previews, the test-set grids.

Inference never imports training code: the networks are rebuilt from the run's ``config.json`` and
loaded with ``common_tools.checkpoint.restore_for_inference`` (a Stage-II checkpoint holds the frozen
Stage-I G too, so it alone serves both stages). Generators run in inference mode (moving BN
statistics); the noise (z, Stage-I eps, Stage-II eps) comes from a seeded ``tf.random.Generator``,
so the same seed gives the same images.

    cfg, nets, step = load_generators("ckt_logs/birds/stageII")
    out = generate(nets, embeddings, draw_noise_for(cfg, len(embeddings), rng))  # {"stage1": ..., "stage2": ...}
    paths = evaluate(cfg, nets, test_split, "ckt_logs/birds/stageII/eval")     # the card's inference grids
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional

import numpy as np
import tensorflow as tf

from common_tools.checkpoint import restore_for_inference
from common_tools.errors import UserError
from common_tools.grids import make_grid, save_png

from . import paths
from .config import StackGANConfig
from .networks import stage_networks


def load_generators(checkpoint: str, key: str = "TRAIN.PRETRAINED_MODEL"):
    """(cfg, {"G1"[, "G2"]}, step) from a checkpoint and its run's config.json."""
    prefix = paths.resolve_checkpoint(checkpoint, key)
    cfg = paths.saved_config(prefix, StackGANConfig)
    if cfg is None:
        raise UserError(f"{key} {checkpoint}: no config.json in {paths.run_dir_of(prefix)}: expected "
                        "the run folder training wrote (its config.json rebuilds the networks)")
    nets = stage_networks(cfg, discriminator=False)
    step = restore_for_inference(prefix, **nets)
    return cfg, nets, step


def draw_noise_for(cfg, n: int, rng: tf.random.Generator) -> Dict[str, tf.Tensor]:
    """{"z", "eps1"[, "eps2"]}: the noise of one generation of ``n`` images (zeros for eps without
    conditioning augmentation: c = mu)."""
    noise = {"z": rng.normal([n, cfg.z_dim]), "eps1": rng.truncated_normal([n, cfg.c_dim])}
    if cfg.stage == 2:
        noise["eps2"] = rng.truncated_normal([n, cfg.c_dim])
    if not cfg.cond_augmentation:
        noise = {k: (v if k == "z" else tf.zeros_like(v)) for k, v in noise.items()}
    return noise


def generate(nets: dict, embeddings, noise: dict) -> Dict[str, np.ndarray]:
    """{"stage1": [n, 64, 64, 3], "stage2": [n, 256, 256, 3] (Stage-II runs)} in [-1, 1]."""
    embeddings = tf.convert_to_tensor(embeddings, tf.float32)
    low, _, _ = nets["G1"](embeddings, noise["z"], noise["eps1"], training=False)
    out = {"stage1": np.asarray(low, np.float32)}
    if "G2" in nets:
        high, _, _ = nets["G2"](low, embeddings, noise["eps2"], training=False)
        out["stage2"] = np.asarray(high, np.float32)
    return out


def center_crop(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 [N, L, L, 3] -> float32 [N, size, size, 3] in [-1, 1], the centre crop."""
    off = (images.shape[1] - size) // 2
    crop = images[:, off:off + size, off:off + size].astype(np.float32)
    return crop * np.float32(2.0 / 255.0) - np.float32(1.0)


def _upsample(images: np.ndarray, size: int) -> np.ndarray:
    factor = size // images.shape[1]
    return images.repeat(factor, axis=1).repeat(factor, axis=2) if factor > 1 else images


def caption_grid(samples: List[Dict[str, np.ndarray]], row: int, real: Optional[np.ndarray] = None):
    """The grid of caption ``row``: [real] + every copy's image; a Stage-II run gives two lines,
    the Stage-I samples (enlarged) above their Stage-II refinements (the reference's layout).
    Returns (images [M, S, S, 3] in [-1, 1], images per line)."""
    lines = [[s["stage1"][row] for s in samples]]
    if "stage2" in samples[0]:
        size = samples[0]["stage2"].shape[1]
        lines = [[_upsample(s["stage1"][row:row + 1], size)[0] for s in samples],
                 [s["stage2"][row] for s in samples]]
    if real is not None:
        lines = [[real] + line for line in lines]
    return np.stack([img for line in lines for img in line]), len(lines[0])


def preview(cfg, nets, embeddings: np.ndarray, path: str, copies: Optional[int] = None,
            seed: int = 0, real: Optional[np.ndarray] = None) -> str:
    """One PNG: a block per caption embedding ([m, D]) of ``copies`` samples from fixed noise
    (the same every call, so previews of one run compare), with its real image first if given."""
    copies = copies or cfg.num_copy
    rng = tf.random.Generator.from_seed(seed)
    samples = [generate(nets, embeddings, draw_noise_for(cfg, len(embeddings), rng))
               for _ in range(copies)]
    size = samples[0].get("stage2", samples[0]["stage1"]).shape[1]
    if real is not None and real.shape[1] != size:
        real = _upsample(real, size)
    blocks, per_line = [], None
    for i in range(len(embeddings)):
        images, per_line = caption_grid(samples, i, None if real is None else real[i])
        blocks.append(images)
    return save_png(path, make_grid(np.concatenate(blocks), nrow=per_line, value_range=(-1, 1)))


def evaluate(cfg, nets, split, out_dir: str, sentences: int = 1, copies: Optional[int] = None,
             max_images: Optional[int] = None, batch_size: int = 64, seed: int = 0,
             captions=None, say=print) -> List[str]:
    """The reference's ``evaluate``: for each test image and each of its first ``sentences``
    captions, ``copies`` (cfg.num_copy, at most 16) samples. Writes
    ``<out_dir>/test/<filename>_sentence<i>.png`` (the real image, then the samples; Stage-II: a
    Stage-I line above the Stage-II line) and each final-stage sample on its own as
    ``<out_dir>/test_single/<filename>_sentence<i>_<k>.png`` (what an Inception Score is computed
    on: never on the grids). ``captions(filename, class_id) -> list`` fills ``captions.txt``.
    Returns the grid paths."""
    copies = min(16, copies or cfg.num_copy)
    n = len(split) if max_images is None else min(len(split), max_images)
    sentences = min(sentences, split.embeddings.shape[1])
    rng = tf.random.Generator.from_seed(seed)
    final = "stage2" if cfg.stage == 2 else "stage1"
    size = cfg.hr_size if cfg.stage == 2 else cfg.lr_size
    real_all = None
    if split.images is not None:
        real_all = center_crop(split.images[:n], min(size, split.images.shape[1]))
        if real_all.shape[1] != size:
            real_all = _upsample(real_all, size)
    written, lines = [], []
    for start in range(0, n, batch_size):
        ids = np.arange(start, min(n, start + batch_size))
        for s in range(sentences):
            emb = split.embeddings[ids, s]
            samples = [generate(nets, emb, draw_noise_for(cfg, len(ids), rng)) for _ in range(copies)]
            for row, i in enumerate(ids):
                stem = f"{split.filenames[i]}_sentence{s}"
                images, per_line = caption_grid(samples, row, None if real_all is None else real_all[i])
                grid = os.path.join(out_dir, "test", stem + ".png")
                save_png(grid, make_grid(images, nrow=per_line, value_range=(-1, 1)))
                written.append(grid)
                for k, sample in enumerate(samples):
                    save_png(os.path.join(out_dir, "test_single", f"{stem}_{k}.png"),
                             sample[final][row], value_range=(-1, 1))
                if captions is not None:
                    text = captions(split.filenames[i], split.class_id[i])
                    lines.append(f"{stem}.png\t{text[s] if s < len(text) else ''}")
        say(f"generated {min(n, start + batch_size)} of {n} test images")
    if lines:
        with open(os.path.join(out_dir, "captions.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    return written
