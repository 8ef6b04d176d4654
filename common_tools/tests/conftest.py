"""Shared fixtures. Offline-pipeline fixtures carry a ``pipe_`` prefix."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def pipe_tf_model(tmp_path_factory):
    """A tiny generator-like TF graph (conv -> instance norm -> + c_trg -> G/Tanh), frozen and exported.

    Gives ``pb``, ``onnx`` (paths), ``feed`` {input name: array}, ``online`` [output of the Keras model].
    """
    import keras
    import tensorflow as tf

    from common_tools import export

    keras.utils.set_random_seed(0)
    conv = keras.layers.Conv2D(4, 3, padding="same")
    norm = keras.layers.GroupNormalization(groups=-1)  # instance norm
    dense = keras.layers.Dense(4)

    @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 3], tf.float32, name="x_real"),
                                  tf.TensorSpec([1, 2], tf.float32, name="c_trg")])
    def generator(x_real, c_trg):
        y = norm(conv(x_real)) + dense(c_trg)[:, None, None, :]  # (1, 8, 8, 4)
        with tf.name_scope("G"):
            return tf.math.tanh(y, name="Tanh")

    rng = np.random.default_rng(0)
    feed = {"x_real": rng.standard_normal((1, 8, 8, 3)).astype(np.float32),
            "c_trg": rng.integers(0, 2, (1, 2)).astype(np.float32)}
    online = [generator(tf.constant(feed["x_real"]), tf.constant(feed["c_trg"])).numpy()]
    root = tmp_path_factory.mktemp("pipe_tf")
    pb = export.save_pb(export.freeze(generator.get_concrete_function()), root / "gen.pb")
    onnx_path = export.pb_to_onnx(pb, root / "gen.onnx", ["x_real:0", "c_trg:0"], ["G/Tanh:0"])
    return SimpleNamespace(pb=pb, onnx=onnx_path, feed=feed, online=online, root=root)


def _save_onnx(graph, path) -> str:
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return os.fspath(path)


@pytest.fixture(scope="session")
def pipe_onnx_two_inputs(tmp_path_factory):
    """ONNX model, inputs a [1,2,3] f32 and b [1,3] f32; outputs sum = a + b [1,2,3] f32 and
    half = fp16(a * b) [1,2,3] (an fp16 output must stay fp16 in BIN files)."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["sum"]),
         helper.make_node("Mul", ["a", "b"], ["prod"]),
         helper.make_node("Cast", ["prod"], ["half"], to=TensorProto.FLOAT16)],
        "two_inputs",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 2, 3]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("sum", TensorProto.FLOAT, [1, 2, 3]),
         helper.make_tensor_value_info("half", TensorProto.FLOAT16, [1, 2, 3])])
    return _save_onnx(graph, tmp_path_factory.mktemp("pipe_onnx") / "two.onnx")


@pytest.fixture(scope="session")
def pipe_onnx_dynamic_batch(tmp_path_factory):
    """ONNX model with a dynamic batch: x [N,4] f32 -> y = tanh(x) [N,4]."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Tanh", ["x"], ["y"])], "dyn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
    return _save_onnx(graph, tmp_path_factory.mktemp("pipe_onnx") / "dyn.onnx")
