"""export: finalize_graph (return Identity dropped, placeholders ordered, names checked) and
export_graph (one call for .pb + .onnx, both paths checked before any work)."""

import numpy as np
import pytest

from common_tools import export
from common_tools.errors import UserError


@pytest.fixture(scope="module")
def concrete():
    """x2 [1,2] is declared before x1 [1,3]; out = tanh(x1 @ W + x2 @ V), the op named "out"."""
    import tensorflow as tf

    w = tf.Variable(np.arange(12, dtype=np.float32).reshape(3, 4) / 10.0)
    v = tf.Variable(np.ones((2, 4), np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, 2], tf.float32, name="x2"),
                                  tf.TensorSpec([1, 3], tf.float32, name="x1")])
    def fn(x2, x1):
        return tf.math.tanh(tf.matmul(x1, w) + tf.matmul(x2, v), name="out")

    feed = {"x1": np.array([[0.1, -0.2, 0.3]], np.float32), "x2": np.array([[0.5, -1.0]], np.float32)}
    online = fn(tf.constant(feed["x2"]), tf.constant(feed["x1"])).numpy()
    concrete_fn = fn.get_concrete_function()
    concrete_fn.keep_alive = (w, v)  # a concrete function holds its variables only weakly
    return concrete_fn, feed, online


def test_finalize_drops_the_return_identity_and_orders_placeholders(concrete):
    fn, _, _ = concrete
    frozen = export.freeze(fn)
    ops = [(n.name, n.op) for n in frozen.node]
    returns = [n for n in frozen.node if n.op == "Identity" and [i for i in n.input if i[0] != "^"] == ["out"]]
    assert returns, ops  # what convert_variables_to_constants_v2 appends today: the test means something
    assert [n for n, _, _ in export.placeholders(frozen)] == ["x2", "x1"]
    done = export.finalize_graph(frozen, inputs=["x1", "x2:0"], outputs=["out"])
    assert [n.name for n in done.node[:2]] == ["x1", "x2"]
    assert all(n.name != r.name for n in done.node for r in returns)
    assert not any(n.op == "NoOp" for n in done.node)
    assert export._sink_outputs(done) == ["out:0"]
    assert len(frozen.node) == len(ops)  # the input graph is left alone
    kept = export.finalize_graph(frozen, ["x1", "x2"], ["out:0"], drop_return_identity=False)
    assert len(kept.node) == len(frozen.node)


def test_finalize_names_missing_nodes(concrete):
    frozen = export.freeze(concrete[0])
    with pytest.raises(UserError, match=r"lacks node\(s\) \['input3', 'G/Tanh'\] \(its placeholders are "
                                        r"\['x2', 'x1'\]\)"):
        export.finalize_graph(frozen, ["x1", "input3"], ["G/Tanh:0"])
    with pytest.raises(UserError, match=r"input node\(s\) \['out'\] .* are not Placeholders"):
        export.finalize_graph(frozen, ["out"], ["out"])


def test_export_graph_writes_pb_and_onnx_that_agree(concrete, tmp_path):
    fn, feed, online = concrete
    paths = export.export_graph(fn, tmp_path / "pb" / "m.pb", ["x1", "x2"], ["out:0"],
                                onnx_path=tmp_path / "onnx" / "m.onnx")
    assert paths == {"pb": str(tmp_path / "pb" / "m.pb"), "onnx": str(tmp_path / "onnx" / "m.onnx")}
    graph = export.FrozenGraph(paths["pb"])
    assert [n for n, _, _ in graph.inputs] == ["x1", "x2"] and graph.outputs == ["out:0"]
    onnx_model = export.OnnxModel(paths["onnx"])
    assert [n for n, _, _ in onnx_model.inputs] == ["x1", "x2"]
    np.testing.assert_allclose(graph.run(feed)[0], online, atol=1e-6)
    np.testing.assert_allclose(onnx_model.run(feed)[0], online, atol=1e-6)
    assert np.ptp(online) > 0.01  # the four outputs differ: the weights are really in the graph


def test_export_graph_checks_both_paths_before_any_work(concrete, tmp_path):
    fn = concrete[0]
    (tmp_path / "f").write_text("x")
    pb = tmp_path / "out" / "m.pb"
    with pytest.raises(UserError, match=r"^--onnx .*/f/m.onnx: .*/f is a file, not a folder$"):
        export.export_graph(fn, pb, ["x1", "x2"], ["out"], onnx_path=tmp_path / "f" / "m.onnx",
                            pb_what="--pb_path", onnx_what="--onnx")
    assert not pb.exists()  # today's ckpt2pb --onnx wrote the .pb, then crashed on the onnx path
    (tmp_path / "dir.pb").mkdir()
    with pytest.raises(UserError, match=r"^--pb_path .*dir.pb is a folder"):
        export.export_graph(fn, tmp_path / "dir.pb", ["x1", "x2"], ["out"], pb_what="--pb_path")
    with pytest.raises(UserError, match="expected two different files"):
        export.export_graph(fn, pb, ["x1", "x2"], ["out"], onnx_path=pb)
    assert not pb.exists()
    with pytest.raises(UserError, match=r"^ONNX path .*/f/x.onnx: "):
        export.pb_to_onnx(tmp_path / "never.pb", tmp_path / "f" / "x.onnx", ["x1"], ["out"])
    with pytest.raises(UserError, match=r"^parity report path .*dir.pb is a folder"):
        export.write_parity({}, tmp_path / "dir.pb")


def test_finalize_a_scoped_output_then_convert(pipe_tf_model, tmp_path):
    frozen = export.load_graph_def(pipe_tf_model.pb)
    assert len(export._sink_outputs(frozen)) == 1 and export._sink_outputs(frozen) != ["G/Tanh:0"]
    done = export.finalize_graph(frozen, ["c_trg", "x_real"], ["G/Tanh:0"])
    assert export._sink_outputs(done) == ["G/Tanh:0"]
    assert [n for n, _, _ in export.placeholders(done)] == ["c_trg", "x_real"]
    graph = export.FrozenGraph(export.save_pb(done, tmp_path / "g.pb"))
    np.testing.assert_allclose(graph.run(pipe_tf_model.feed)[0], pipe_tf_model.online[0], atol=1e-5)
