"""The serving graph of the seed: inputs ``x_real`` [1, S, S, 3] and ``c_trg`` [1, c_dim], output
``G/Tanh:0``, so the card's ATC command works unchanged; and G loaded from a run alone (no
training code: common_tools.checkpoint.restore_for_inference).

    cfg, G, step = load_generator("runs/x/checkpoints/model-1500")
    paths = freeze_generator(G, cfg, "runs/x/stargan.pb", onnx_path="runs/x/stargan.onnx")
"""

from __future__ import annotations

import os

import tensorflow as tf

from common_tools import checkpoint, export, runs, training
from common_tools.errors import UserError

from .config import StarGANConfig
from .networks import build_generator

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


def load_generator(checkpoint_path=None, output_dir: str | None = None):
    """Rebuild G from the run's config.json and restore its weights: returns (cfg, G, step).

    ``checkpoint_path``: a prefix (``.../checkpoints/model-1500``), a bare name relative to
    ``<output_dir>/checkpoints``, a folder (its latest checkpoint), or None (``output_dir``'s latest).
    """
    base = os.path.join(output_dir, training.CHECKPOINT_DIR) if output_dir else None
    if checkpoint_path is None and base is None:
        raise UserError("give --checkpoint or --output_dir to say which model to load")
    prefix = checkpoint.find_checkpoint(checkpoint_path or base, base_dir=base)
    run_dir = output_dir if output_dir and os.path.isfile(os.path.join(output_dir, runs.CONFIG_NAME)) \
        else os.path.dirname(os.path.dirname(os.path.abspath(prefix)))   # <run>/checkpoints/model-N
    cfg = runs.load_config(StarGANConfig, run_dir)
    G = build_generator(cfg)
    return cfg, G, checkpoint.restore_for_inference(prefix, G=G)


def freeze_generator(G, cfg, pb_path, onnx_path=None, pb_what="--out_pb_path", onnx_what="--onnx") -> dict:
    """Write the frozen .pb (and the .onnx when asked), both paths checked first; returns them."""
    return export.export_graph(serving_function(G, cfg), pb_path, list(INPUTS), [OUTPUT], onnx_path,
                               pb_what=pb_what, onnx_what=onnx_what)
