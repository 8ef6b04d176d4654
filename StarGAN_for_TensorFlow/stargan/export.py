"""The serving graph of the seed: inputs ``x_real`` [1, S, S, 3] and ``c_trg`` [1, c_dim], output
``G/Tanh:0``, so the card's ATC command works unchanged; plus loading a trained G from its run.

    cfg, G, step = load_generator("runs/x/checkpoint/model-1500")
    pb = freeze_generator(G, cfg, "runs/x/stargan.pb", onnx_path="runs/x/stargan.onnx")
"""

from __future__ import annotations

import os

import tensorflow as tf

from common_tools import checkpoint, export, runs
from common_tools.errors import UserError

from .config import StarGANConfig
from .networks import build_generator
from .step import named_weights

INPUTS = ("x_real", "c_trg")
OUTPUT = "G/Tanh:0"


def serving_function(G, cfg, batch: int = 1):
    """A concrete tf.function x_real, c_trg -> G/Tanh (the tanh named with a name scope)."""

    @tf.function(input_signature=[
        tf.TensorSpec([batch, cfg.image_size, cfg.image_size, 3], tf.float32, name="x_real"),
        tf.TensorSpec([batch, cfg.c_dim], tf.float32, name="c_trg")])
    def serve(x_real, c_trg):
        logits = tf.cast(G.logits(x_real, c_trg), tf.float32)
        with tf.name_scope("G"):
            return tf.math.tanh(logits, name="Tanh")

    return serve.get_concrete_function()


def run_dir_of(prefix: str) -> str:
    """``<output_dir>/checkpoint/model-N`` -> ``<output_dir>`` (where config.json lives)."""
    ckpt_dir = os.path.dirname(os.path.abspath(prefix))
    for cand in (os.path.dirname(ckpt_dir), ckpt_dir):
        if os.path.isfile(os.path.join(cand, runs.CONFIG_NAME)):
            return cand
    raise UserError(f"no {runs.CONFIG_NAME} found for checkpoint {prefix}: expected it in "
                    f"{os.path.dirname(ckpt_dir)} (the output_dir that training wrote)")


def load_generator(checkpoint_path, output_dir: str | None = None):
    """Rebuild G from the run's saved config and restore its weights: returns (cfg, G, step).

    ``checkpoint_path``: a prefix (``.../checkpoint/model-1500``), a bare name relative to
    ``<output_dir>/checkpoint``, or a folder (its latest checkpoint).
    """
    base = os.path.join(output_dir, "checkpoint") if output_dir else None
    if checkpoint_path is None:
        if output_dir is None:
            raise UserError("give --checkpoint or --output_dir to say which model to load")
        checkpoint_path = base
    prefix = checkpoint.find_checkpoint(checkpoint_path, base_dir=base)
    cfg = runs.load_config(StarGANConfig, output_dir if output_dir and os.path.isfile(
        os.path.join(output_dir, runs.CONFIG_NAME)) else run_dir_of(prefix))
    G = build_generator(cfg)
    step = checkpoint.restore_for_inference(prefix, G=named_weights(G))
    return cfg, G, step


def freeze_generator(G, cfg, pb_path, onnx_path=None) -> dict:
    """Write the frozen .pb (and the .onnx beside it when asked); returns their paths."""
    graph_def = export.freeze(serving_function(G, cfg))
    out = {"pb": export.save_pb(graph_def, pb_path)}
    if onnx_path:
        out["onnx"] = export.pb_to_onnx(pb_path, onnx_path, inputs=list(INPUTS), outputs=[OUTPUT])
    return out
