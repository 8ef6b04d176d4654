"""The card's offline model: a frozen graph with inputs input1/input2/input3 and output `output`.

    input1 [1, S, S, 3]   image in [-1, 1] (S = config img_size)
    input2 [1, n_att]     scaled target attributes (b·2 − 1)·thres_int, edited one ×test_int
    input3 [1, n_att]     scaled source attributes (a·2 − 1)·thres_int
    output [1, S, S, 3]   tanh(G(input1, input2 − input3)), NHWC; input3 = input2: the reconstruction
The names are what the card's ATC ``--input_shape="input1:1,128,128,3;input2:1,13;input3:1,13"`` reads.

    cfg, G, step = load_generator("output/demo/checkpoints")      # or load_generator(None, "output/demo")
    freeze_generator(G, cfg, "output/demo/pb_model", "output/demo/onnx/STGAN.onnx")
"""

from __future__ import annotations

import os

from common_tools import checkpoint, export, runs
from common_tools.errors import UserError

from .config import STGANConfig

INPUTS = ("input1", "input2", "input3")
OUTPUT = "output"


def serving_function(G, cfg, batch: int = 1):
    """Concrete tf.function of the offline model (inference mode, batch norm moving statistics)."""
    import tensorflow as tf  # here, not at the top: bin2img.py reads INPUTS without TensorFlow

    spec = [tf.TensorSpec([batch, cfg.img_size, cfg.img_size, 3], tf.float32, name="input1"),
            tf.TensorSpec([batch, cfg.n_att], tf.float32, name="input2"),
            tf.TensorSpec([batch, cfg.n_att], tf.float32, name="input3")]

    @tf.function(input_signature=spec)
    def stgan(input1, input2, input3):
        diff = tf.subtract(input2, input3, name="diff")
        return tf.math.tanh(G.logits(input1, diff, training=False), name=OUTPUT)

    return stgan.get_concrete_function()


def load_generator(checkpoint_path=None, output_dir=None):
    """Rebuild G from the experiment's config.json and restore it: returns (cfg, G, step).

    ``checkpoint_path``: a prefix (``.../checkpoints/Epoch_(5)_(20of20).ckpt``), a name inside
    ``<output_dir>/checkpoints``, a checkpoints folder (its newest) or an experiment folder (the one
    with config.json and checkpoints/); None: the newest of ``output_dir``.
    """
    from .networks import build_generator

    if checkpoint_path and os.path.isfile(os.path.join(checkpoint_path, runs.CONFIG_NAME)):
        checkpoint_path, output_dir = None, checkpoint_path
    base = os.path.join(output_dir, "checkpoints") if output_dir else None
    if checkpoint_path is None and base is None:
        raise UserError("give a checkpoint or an experiment folder to say which STGAN to load")
    prefix = checkpoint.find_checkpoint(checkpoint_path or base, base_dir=base)
    cfg = runs.load_config(STGANConfig, output_dir or os.path.dirname(os.path.dirname(os.path.abspath(prefix))))
    G = build_generator(cfg)
    return cfg, G, checkpoint.restore_for_inference(prefix, G=G)


def pb_file(pb_path) -> str:
    """The card's ``--pb_path``: a .pb path as it is, a folder -> <folder>/STGAN.pb."""
    return pb_path if str(pb_path).endswith(".pb") else os.path.join(pb_path, "STGAN.pb")


def freeze_generator(G, cfg, pb_path, onnx_path=None) -> dict:
    """Write the frozen .pb (at :func:`pb_file`) and the .onnx when asked, both paths checked before
    anything is written; returns {"pb": path, "onnx": path}."""
    return export.export_graph(serving_function(G, cfg), pb_file(pb_path), INPUTS, [OUTPUT],
                               onnx_path=onnx_path, pb_what="--pb_path", onnx_what="--onnx")
