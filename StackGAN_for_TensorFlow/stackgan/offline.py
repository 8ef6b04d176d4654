"""The offline road of StackGAN: caption embeddings -> .bin files -> msame / the runner -> PNGs.

The seed's input bins are the first caption of each test image, 64 rows per .bin (its frozen graph
takes ``Placeholder`` [64, 1024]). Here they are named-input folders of ``common_tools.offline``
(a manifest lists every bin, its rows and their source images; sample names start ``stackgan_`` so
another model's outputs are refused):

    <bin_dir>/embedding/stackgan_0000.bin   float32 [64, 1024]   deterministic variant
    <bin_dir>/noise/stackgan_0000.bin       float32 [64, z_dim + c_dim (+ c_dim)]: z, eps1 (, eps2)
    <bin_dir>/Placeholder/stackgan_0000.bin float32 [64, 1024]   card variant (noise drawn in the graph)
    <bin_dir>/manifest.json

The last bin is filled up by repeating its last row (``info.rows`` says how many rows are real); the
noise comes from a seeded numpy stream (z ~ N(0, 1), eps ~ N(0, 1) truncated at 2, as
``tf.random.truncated_normal``), so the same seed gives the same bins and, through the deterministic
graph, the same images on every path.

    spec = file2bin("out/bin", cfg, embeddings, names, variant="deterministic", seed=0)
    # python -m common_tools.runner --model out/stackgan.onnx --input out/bin/embedding,out/bin/noise --output out/runner
    pngs = bin2img("out/bin", "out/runner", "out/png")
"""

from __future__ import annotations

import os
from typing import List, Optional, Sequence

import numpy as np

from common_tools import offline
from common_tools.errors import UserError

PREFIX = "stackgan_"
CARD_BATCH = 64            # rows per .bin: the seed's Placeholder [64, 1024]
VARIANTS = ("deterministic", "card")


def noise_dim(cfg) -> int:
    """Width of the ``noise`` input: z_dim + c_dim (Stage-II: + c_dim more) (as export.noise_dim)."""
    return cfg.z_dim + cfg.c_dim * (2 if cfg.stage == 2 else 1)


def truncated_normal(rng: np.random.Generator, shape) -> np.ndarray:
    """N(0, 1) samples redrawn until |x| <= 2 (what tf.random.truncated_normal draws), float32."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return out.astype(np.float32)


def draw_noise(cfg, n: int, seed: int) -> np.ndarray:
    """The ``noise`` rows [n, noise_dim]: concat(z ~ N(0, I), eps1[, eps2] ~ truncated N(0, I));
    eps are zeros for a run trained without conditioning augmentation (c = mu)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, cfg.z_dim)).astype(np.float32)
    eps = truncated_normal(rng, (n, noise_dim(cfg) - cfg.z_dim))
    if not cfg.cond_augmentation:
        eps[:] = 0
    return np.concatenate([z, eps], axis=1)


def image_size(cfg) -> int:
    return cfg.hr_size if cfg.stage == 2 else cfg.lr_size


def file2bin(bin_dir: str, cfg, embeddings: np.ndarray, names: Optional[Sequence[str]] = None,
             variant: str = "deterministic", seed: int = 0, batch: int = CARD_BATCH,
             captions: Optional[Sequence[str]] = None) -> dict:
    """Write the caption-embedding bins of ``embeddings`` [N, D] (one row per image), ``batch``
    rows each, for ``variant``'s graph; returns the manifest. ``names``: the source image of each
    row (kept in the manifest, with ``captions`` when given)."""
    if variant not in VARIANTS:
        raise UserError(f"--variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    emb = np.asarray(embeddings, np.float32)
    if emb.ndim != 2 or emb.shape[1] != cfg.embedding_dim or not len(emb):
        raise UserError(f"embeddings of shape {list(emb.shape)}: expected [N >= 1, {cfg.embedding_dim}] "
                        "(one caption embedding per row)")
    if batch < 1:
        raise UserError(f"--batch must be >= 1, got {batch}")
    n = len(emb)
    noise = draw_noise(cfg, -(-n // batch) * batch, seed)
    size = image_size(cfg)
    if variant == "deterministic":
        inputs = {"embedding": ((batch, cfg.embedding_dim), "float32"),
                  "noise": ((batch, noise_dim(cfg)), "float32")}
    else:
        inputs = {"Placeholder": ((batch, cfg.embedding_dim), "float32")}

    def samples():
        for k, start in enumerate(range(0, n, batch)):
            rows = np.arange(start, min(n, start + batch))
            filled = np.concatenate([rows, np.full(batch - len(rows), rows[-1])])
            arrays = ({"embedding": emb[filled], "noise": noise[start:start + batch]}
                      if variant == "deterministic" else {"Placeholder": emb[filled]})
            info = {"first_row": int(start), "rows": int(len(rows))}
            if names is not None:
                info["images"] = [str(names[i]) for i in rows]
            if captions is not None:
                info["captions"] = [str(captions[i]) for i in rows]
            yield f"{PREFIX}{k:04d}", arrays, info

    meta = {"model": "stackgan", "variant": variant, "stage": cfg.stage, "image_size": size,
            "seed": int(seed), "n_rows": int(n), "batch": int(batch)}
    return offline.write_inputs(bin_dir, inputs, samples(), outputs=[((batch, size, size, 3), "float32")],
                                meta=meta)


def read_bins(bin_dir: str) -> dict:
    """{"manifest", "embedding" [K, B, D], "noise" [K, B, nd] or None}: what file2bin wrote."""
    manifest = offline.read_manifest(bin_dir)
    if manifest.get("meta", {}).get("model") != "stackgan":
        raise UserError(f"{bin_dir}/{offline.MANIFEST} was not written by StackGAN's file2bin")
    names = [e["name"] for e in manifest["inputs"]]
    first = "embedding" if "embedding" in names else "Placeholder"
    return {"manifest": manifest, "embedding": offline.read_inputs(bin_dir, first),
            "noise": offline.read_inputs(bin_dir, "noise") if "noise" in names else None}


def bin2img(bin_dir: str, output: str, save_dir: str) -> List[str]:
    """The runner's (msame's) output bins of ``bin_dir``'s inputs -> one PNG per real row,
    ``<save_dir>/<image or row>.png``; the outputs are checked against the manifest first (count,
    size, provenance). Returns the PNG paths."""
    from common_tools.grids import save_png

    manifest = offline.read_manifest(bin_dir)
    (images,), out_dir = offline.read_outputs(bin_dir, output)      # [K, B, S, S, 3] in [-1, 1]
    written = []
    for sample, batch in zip(manifest["samples"], images):
        info = sample.get("info", {})
        rows = int(info.get("rows", len(batch)))
        sources = info.get("images")
        for r in range(rows):
            stem = (sources[r].replace("/", "_") if sources else f"{sample['name']}_{r:02d}")
            written.append(save_png(os.path.join(save_dir, f"{stem}.png"), batch[r], value_range=(-1, 1)))
    return written


def online_outputs(cfg, nets, bins: dict) -> List[np.ndarray]:
    """The online generators on the bins' inputs (deterministic variant): [K, B, S, S, 3]."""
    from . import export, infer

    if bins["noise"] is None:
        raise UserError("the card variant draws its noise inside the graph: parity needs the "
                        "deterministic bins (file2bin --variant deterministic)")
    final = "stage2" if cfg.stage == 2 else "stage1"
    return [np.stack([infer.generate(nets, e, export.split_noise(cfg, z))[final]
                      for e, z in zip(bins["embedding"], bins["noise"])])]


def parity(cfg, nets, bin_dir: str, pb: Optional[str] = None, onnx: Optional[str] = None,
           runner_out: Optional[str] = None) -> dict:
    """The parity report (max / mean |difference| per pair) of online / .pb / .onnx / runner
    outputs on the deterministic bins of ``bin_dir``."""
    from common_tools.export import FrozenGraph, OnnxModel, parity_report

    from . import export

    bins = read_bins(bin_dir)
    results = {"online": online_outputs(cfg, nets, bins)}
    feeds = [{"embedding": e, "noise": z} for e, z in zip(bins["embedding"], bins["noise"])]
    if pb:
        graph = FrozenGraph(pb, outputs=[export.output_name(cfg)])
        results["pb"] = [np.stack([graph.run(f)[0] for f in feeds])]
    if onnx:
        model = OnnxModel(onnx)
        results["onnx"] = [np.stack([model.run(f)[0] for f in feeds])]
    if runner_out:
        results["runner"] = offline.read_outputs(bin_dir, runner_out)[0]
    return parity_report(results)
