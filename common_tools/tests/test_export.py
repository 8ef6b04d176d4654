import json

import numpy as np
import pytest

from common_tools import export
from common_tools.errors import UserError
from common_tools.runner import run


def test_frozen_pb_names_inputs_after_the_signature_and_keeps_g_tanh(pipe_tf_model):
    graph_def = export.load_graph_def(pipe_tf_model.pb)
    assert [(n, s) for n, s, _ in export.placeholders(graph_def)] == [
        ("x_real", (1, 8, 8, 3)), ("c_trg", (1, 2))]
    assert "G/Tanh" in {node.name for node in graph_def.node}
    assert not any(node.op in ("VarHandleOp", "ReadVariableOp") for node in graph_def.node)


def test_pb_and_onnx_agree_with_the_online_model(pipe_tf_model):
    graph = export.FrozenGraph(pipe_tf_model.pb, outputs=["G/Tanh:0"])
    assert graph.outputs == ["G/Tanh:0"]
    feed_with_suffix = {f"{k}:0": v for k, v in pipe_tf_model.feed.items()}
    pb_out = graph.run(feed_with_suffix)
    onnx_model = export.OnnxModel(pipe_tf_model.onnx)
    assert [n for n, _, _ in onnx_model.inputs] == ["x_real", "c_trg"]
    assert onnx_model.outputs == ["G/Tanh:0"]
    onnx_out = onnx_model.run(pipe_tf_model.feed)
    report = export.parity_report({"online": pipe_tf_model.online, "pb": pb_out, "onnx": onnx_out})
    assert set(report) == {"online vs pb", "online vs onnx", "pb vs onnx"}
    for stats in report.values():
        assert stats["max_abs"][0] < 1e-5
    # the model really computes something: the output is not constant
    assert np.ptp(pipe_tf_model.online[0]) > 0.1


def test_onnx_through_the_runner_matches_online(pipe_tf_model, tmp_path):
    from common_tools.binio import read_bin, write_bin

    for name, value in pipe_tf_model.feed.items():
        write_bin(tmp_path / f"{name}.bin", value)
    inputs = [str(tmp_path / "x_real.bin"), str(tmp_path / "c_trg.bin")]
    result = run(pipe_tf_model.onnx, inputs, str(tmp_path / "out"), log=lambda line: None)
    out = read_bin(f"{result.output_dir}/gen_output_0.bin", (1, 8, 8, 4))
    assert np.max(np.abs(out - pipe_tf_model.online[0])) < 1e-5


def test_default_outputs_of_a_frozen_graph_are_its_sinks(pipe_tf_model):
    graph = export.FrozenGraph(pipe_tf_model.pb)
    assert graph.outputs and all(o.endswith(":0") for o in graph.outputs)
    (out,) = graph.run(pipe_tf_model.feed)
    assert np.max(np.abs(out - pipe_tf_model.online[0])) < 1e-5


def test_bad_names_are_user_errors(pipe_tf_model, tmp_path):
    graph = export.FrozenGraph(pipe_tf_model.pb, outputs=["G/Tanh:0"])
    with pytest.raises(UserError, match="unknown input"):
        graph.run({"x_real": pipe_tf_model.feed["x_real"], "label": np.zeros((1, 2), np.float32)})
    with pytest.raises(UserError, match="no value fed"):
        graph.run({"x_real": pipe_tf_model.feed["x_real"]})
    with pytest.raises(UserError, match="no tensor named"):
        export.FrozenGraph(pipe_tf_model.pb, outputs=["D/Sigmoid:0"])
    with pytest.raises(UserError, match="no input"):
        export.pb_to_onnx(pipe_tf_model.pb, tmp_path / "x.onnx", ["input1:0"], ["G/Tanh:0"])
    junk = tmp_path / "junk.pb"
    junk.write_bytes(b"\xff\x00not a graph")
    with pytest.raises(UserError, match="junk.pb"):
        export.FrozenGraph(junk)
    with pytest.raises(UserError, match="not found"):
        export.OnnxModel(tmp_path / "missing.onnx")


def test_parity_report_numbers_json_and_table(tmp_path):
    results = {"online": [np.array([0.0, 1.0, 2.0]), np.zeros((2, 2))],
               "onnx": [np.array([0.0, 1.5, 4.0]), np.zeros((2, 2))],
               "om": [np.array([0.0, 1.0, 2.0], np.float16), np.ones((2, 2))]}
    report = export.parity_report(results)
    assert list(report) == ["online vs onnx", "online vs om", "onnx vs om"]
    assert report["online vs onnx"] == {"max_abs": [2.0, 0.0], "mean_abs": [2.5 / 3, 0.0]}
    assert report["onnx vs om"]["max_abs"] == [2.0, 1.0]
    path = export.write_parity(report, tmp_path / "parity.json")
    assert json.loads(open(path).read()) == report
    table = export.format_parity(report).splitlines()
    assert table[0].split() == ["pair", "output", "max_abs", "mean_abs"]
    assert len(table) == 1 + 3 * 2
    assert "2.000e+00" in table[1]
    with pytest.raises(UserError, match="outputs"):
        export.parity_report({"a": [np.zeros(2)], "b": []})
