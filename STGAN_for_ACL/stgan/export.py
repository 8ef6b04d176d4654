"""The offline model of the card: a frozen graph with inputs input1/input2/input3 and output `output`.

    input1 [1, S, S, 3]   image in [-1, 1] (S = config img_size)
    input2 [1, n_att]     scaled target attributes (b·2 − 1)·thres_int, edited one ×test_int
    input3 [1, n_att]     scaled source attributes (a·2 − 1)·thres_int
    output [1, S, S, 3]   tanh(G(input1, input2 − input3)), NHWC
input3 = input2 gives the reconstruction. The card's ATC command
``--input_shape="input1:1,128,128,3;input2:1,13;input3:1,13"`` reads these names unchanged.
"""

from __future__ import annotations

import os

import tensorflow as tf

from common_tools import export as ct_export

INPUTS = ("input1", "input2", "input3")
OUTPUT = "output"
PB_NAME = "STGAN.pb"


def serving_function(G, cfg, batch: int = 1):
    """Concrete tf.function of the offline model (inference mode, batch norm moving statistics)."""
    spec = [tf.TensorSpec([batch, cfg.img_size, cfg.img_size, 3], tf.float32, name="input1"),
            tf.TensorSpec([batch, cfg.n_att], tf.float32, name="input2"),
            tf.TensorSpec([batch, cfg.n_att], tf.float32, name="input3")]

    @tf.function(input_signature=spec)
    def stgan(input1, input2, input3):
        diff = tf.subtract(input2, input3, name="diff")
        return tf.math.tanh(G.logits(input1, diff, training=False), name=OUTPUT)

    return stgan.get_concrete_function()


def _drop_return_identity(graph_def):
    """convert_variables_to_constants_v2 appends ``Identity(output, ^NoOp)`` after the returned
    tensor; drop it (and the NoOp) so ``output`` is the graph's sink, as in the seed's .pb."""
    def data_inputs(node):
        return [i for i in node.input if not i.startswith("^")]

    drop = {n.name for n in graph_def.node if n.op == "Identity" and data_inputs(n) == [OUTPUT]}
    keep = [n for n in graph_def.node if n.name not in drop]
    consumed = {i.lstrip("^").split(":")[0] for n in keep for i in n.input}
    keep = [n for n in keep if not (n.op == "NoOp" and n.name not in consumed)]
    del graph_def.node[:]
    graph_def.node.extend(keep)
    return graph_def


def freeze_generator(G, cfg):
    """Frozen GraphDef of the offline model."""
    graph_def = _drop_return_identity(ct_export.freeze(serving_function(G, cfg)))
    # placeholders first, in the card's order, so tools that list inputs (ATC's --input_shape built
    # by common_tools.atc) read input1;input2;input3
    order = {name: i for i, name in enumerate(INPUTS)}
    nodes = sorted(graph_def.node, key=lambda n: order.get(n.name, len(INPUTS)))
    del graph_def.node[:]
    graph_def.node.extend(nodes)
    names = {n.name for n in graph_def.node}
    missing = [n for n in (*INPUTS, OUTPUT) if n not in names]
    if missing:  # a TF/Keras change renamed a node the card's ATC command relies on
        raise RuntimeError(f"frozen STGAN graph lacks node(s) {missing}")
    return graph_def


def resolve_pb_path(pb_path: str) -> str:
    """A folder (the card's ``--pb_path output/<exp>/pb_model``) -> <folder>/STGAN.pb; a .pb path as is."""
    return pb_path if pb_path.endswith(".pb") else os.path.join(pb_path, PB_NAME)


def export_pb(G, cfg, pb_path: str) -> str:
    return ct_export.save_pb(freeze_generator(G, cfg), resolve_pb_path(pb_path))


def export_onnx(pb_path: str, onnx_path: str) -> str:
    return ct_export.pb_to_onnx(pb_path, onnx_path, inputs=list(INPUTS), outputs=[OUTPUT])
