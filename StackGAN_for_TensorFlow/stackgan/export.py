"""Frozen graphs of a trained generator (Stage-I: G1; Stage-II: G1 then G2), for ATC and ONNX.

Two serving functions, both through ``common_tools.export.export_graph``:

- ``deterministic`` (the default): inputs ``embedding`` [B, 1024] and ``noise`` [B, z_dim + c_dim
  (+ c_dim)] = concat(z, Stage-I eps[, Stage-II eps]), output ``G1/Tanh:0`` [B, 64, 64, 3] or
  ``G2/Tanh:0`` [B, 256, 256, 3]: a pure function of its inputs, so the .pb, the .onnx and the runner
  can be checked against the online model (:func:`split_noise` undoes the concat).
- ``card``: the seed's graph, one input ``Placeholder`` [64, 1024] (``atc ... --input_shape=
  'Placeholder:64,1024'``), z and eps drawn inside the graph: outputs differ run to run.

    cfg, nets, step = infer.load_generators("ckt_logs/birds/stageII")
    paths = freeze(cfg, nets, "out/stackgan_stage2.pb", onnx_path="out/stackgan_stage2.onnx")
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from common_tools import export

VARIANTS = ("deterministic", "card")
INPUTS = {"deterministic": ("embedding", "noise"), "card": ("Placeholder",)}
CARD_BATCH = 64


def output_name(cfg) -> str:
    return "G2/Tanh:0" if cfg.stage == 2 else "G1/Tanh:0"


def noise_dim(cfg) -> int:
    """Width of the ``noise`` input: z_dim + c_dim (Stage-II: + c_dim more)."""
    return cfg.z_dim + cfg.c_dim * (2 if cfg.stage == 2 else 1)


def split_noise(cfg, noise):
    """``noise`` [B, noise_dim] -> {"z", "eps1"[, "eps2"]} as :func:`infer.generate` takes them."""
    z, eps1 = noise[:, :cfg.z_dim], noise[:, cfg.z_dim:cfg.z_dim + cfg.c_dim]
    out = {"z": z, "eps1": eps1}
    if cfg.stage == 2:
        out["eps2"] = noise[:, cfg.z_dim + cfg.c_dim:]
    return out


def join_noise(noise: dict) -> np.ndarray:
    """{"z", "eps1"[, "eps2"]} -> the ``noise`` input [B, noise_dim]."""
    keys = [k for k in ("z", "eps1", "eps2") if k in noise]
    return np.concatenate([np.asarray(noise[k], np.float32) for k in keys], axis=1)


def _generator_logits(cfg, nets, embedding, noise: dict):
    """The final stage's pre-tanh image (generators in inference mode)."""
    if cfg.stage == 1:
        return tf.cast(nets["G1"].logits(embedding, noise["z"], noise["eps1"])[0], tf.float32)
    low = nets["G1"](embedding, noise["z"], noise["eps1"], training=False)[0]
    return tf.cast(nets["G2"].logits(low, embedding, noise["eps2"])[0], tf.float32)


def serving_function(cfg, nets, variant: str = "deterministic", batch: int = 1):
    """The concrete tf.function of ``variant`` (the final tanh named G1/Tanh or G2/Tanh)."""
    scope = output_name(cfg).split("/")[0]
    if variant == "deterministic":
        @tf.function(input_signature=[
            tf.TensorSpec([batch, cfg.embedding_dim], tf.float32, name="embedding"),
            tf.TensorSpec([batch, noise_dim(cfg)], tf.float32, name="noise")])
        def serve(embedding, noise):
            logits = _generator_logits(cfg, nets, embedding, split_noise(cfg, noise))
            with tf.name_scope(scope):
                return tf.math.tanh(logits, name="Tanh")
    elif variant == "card":
        @tf.function(input_signature=[
            tf.TensorSpec([CARD_BATCH, cfg.embedding_dim], tf.float32, name="Placeholder")])
        def serve(embedding):
            n = CARD_BATCH
            noise = {"z": tf.random.normal([n, cfg.z_dim]),
                     "eps1": tf.random.truncated_normal([n, cfg.c_dim]),
                     "eps2": tf.random.truncated_normal([n, cfg.c_dim])}
            logits = _generator_logits(cfg, nets, embedding, noise)
            with tf.name_scope(scope):
                return tf.math.tanh(logits, name="Tanh")
    else:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    return serve.get_concrete_function()


def freeze(cfg, nets, pb_path, onnx_path=None, variant: str = "deterministic", batch: int = 1,
           pb_what: str = "--pb_path", onnx_what: str = "--onnx") -> dict:
    """Write the frozen .pb (and .onnx when asked; both paths checked first); returns the paths."""
    return export.export_graph(serving_function(cfg, nets, variant, batch), pb_path,
                               list(INPUTS[variant]), [output_name(cfg)], onnx_path,
                               pb_what=pb_what, onnx_what=onnx_what)
