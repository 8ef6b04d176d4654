"""The card's offline model: G frozen with inputs x1 (noise) and x2 (labels), output ``G/Sigmoid``.

    x1         float32 [256, latent_dim]     z (truncated normal in training; pic2bin draws the same)
    x2         int32   [256]                 class labels 0..9
    G/Sigmoid  float32 [256, 32, 32, C]      sigmoid(G(x1, x2)) in [0, 1], NHWC, inference mode

The card's ATC command ``--input_shape="x1:256,100;x2:256"`` reads these names unchanged; the ONNX
export (``bigbigan.onnx``, same names) runs through ``python -m common_tools.runner`` with the card's
msame line and writes ``bigbigan_output_0.bin``. Inference mode reads the batch-norm moving
statistics and the stored spectral-norm vectors, so the frozen graph holds no assign.

    cfg, G, step = load_generator("runs/bigbigan")             # from config.json + checkpoints/
    paths = export(G, cfg, "out/pb", onnx_path="out/pb/bigbigan.onnx")   # {"pb": .., "onnx": ..}
    images = generate(G, z, y)                                 # the online model, [256, 32, 32, C]
"""

from __future__ import annotations

import os

import numpy as np

from common_tools import export as ct_export
from common_tools import runs

from .config import BigBiGANConfig
from .offline import BATCH

INPUTS = ("x1", "x2")
OUTPUT = "G/Sigmoid"
PB_NAME = "bigbigan.pb"
ONNX_NAME = "bigbigan.onnx"


def serving_function(G, cfg, batch: int = BATCH):
    """Concrete tf.function of the offline model (inference mode)."""
    import tensorflow as tf

    spec = [tf.TensorSpec([batch, cfg.latent_dim], tf.float32, name="x1"),
            tf.TensorSpec([batch], tf.int32, name="x2")]

    @tf.function(input_signature=spec)
    def bigbigan(x1, x2):
        logits = G.logits(x1, x2 if cfg.conditional else None, training=False)
        with tf.name_scope("G"):                         # the node ATC and msame see: G/Sigmoid
            return tf.math.sigmoid(tf.cast(logits, tf.float32), name="Sigmoid")

    return bigbigan.get_concrete_function()


def resolve_pb_path(path) -> str:
    """A folder (the card's ``--output_pb_path``) -> <folder>/bigbigan.pb; a .pb path as it is."""
    path = os.fspath(path)
    return path if path.endswith(".pb") else os.path.join(path, PB_NAME)


def export(G, cfg, pb_path, onnx_path=None, batch: int = BATCH, pb_what: str = "--output_pb_path",
           onnx_what: str = "--onnx") -> dict:
    """Freeze G to ``pb_path`` (a folder gets bigbigan.pb) and, when given, convert it to ONNX."""
    return ct_export.export_graph(serving_function(G, cfg, batch), resolve_pb_path(pb_path),
                                  inputs=list(INPUTS), outputs=[OUTPUT], onnx_path=onnx_path,
                                  pb_what=pb_what, onnx_what=onnx_what)


def build_generator(cfg):
    """G of ``cfg`` with its weights created, in float32 whatever the global Keras policy is."""
    import keras

    from .networks import Generator

    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        G = Generator(cfg.channels, cfg.ch, cfg.latent_dim, cfg.num_classes, cfg.embed_dim,
                      cfg.conditional, cfg.init)
        G(np.zeros((1, cfg.latent_dim), np.float32),
          np.zeros((1,), np.int32) if cfg.conditional else None)
    finally:
        keras.mixed_precision.set_global_policy(policy)
    return G


def load_generator(run_dir, checkpoint=None):
    """(cfg, G, step) from a run folder: G rebuilt from config.json (float32, whatever the training
    precision was) and its weights from the latest checkpoint (or ``checkpoint``)."""
    from common_tools.checkpoint import restore_for_inference

    cfg = runs.load_config(BigBiGANConfig, run_dir)
    G = build_generator(cfg)
    step = restore_for_inference(checkpoint or os.path.join(run_dir, "checkpoints"), G=G)
    return cfg, G, step


def generate(G, z, y, batch: int = BATCH) -> np.ndarray:
    """The online model's images of (z, y), float32 [N, 32, 32, C] in [0, 1] (inference mode)."""
    import tensorflow as tf

    fn = tf.function(lambda a, b: G(a, b, training=False))
    out = [fn(tf.constant(z[i:i + batch], tf.float32), tf.constant(y[i:i + batch], tf.int32)).numpy()
           for i in range(0, len(z), batch)]
    return np.concatenate(out).astype(np.float32)
