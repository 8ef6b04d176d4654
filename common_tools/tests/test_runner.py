import os
import subprocess
import sys

import numpy as np
import pytest

from common_tools import runner
from common_tools.binio import write_bin
from common_tools.errors import UserError


def _quiet(line):
    pass


def _reference(model_path, feed):
    """onnxruntime's own answer, with a fresh session."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    return session.run(None, feed)


def _inputs(rng):
    return {"a": rng.standard_normal((1, 2, 3)).astype(np.float32),
            "b": rng.standard_normal((1, 3)).astype(np.float32)}


def test_file_mode_names_bytes_and_loop(pipe_onnx_two_inputs, tmp_path):
    feed = _inputs(np.random.default_rng(1))
    write_bin(tmp_path / "a.bin", feed["a"])
    write_bin(tmp_path / "b.bin", feed["b"])
    lines = []
    result = runner.run(pipe_onnx_two_inputs, f"{tmp_path}/a.bin,{tmp_path}/b.bin", str(tmp_path / "out"),
                        loop=3, log=lines.append)
    assert result.mode == "file" and len(result.times_ms) == 3
    assert sorted(os.listdir(result.output_dir)) == ["two_output_0.bin", "two_output_1.bin"]
    expected = _reference(pipe_onnx_two_inputs, feed)
    assert expected[1].dtype == np.float16
    for i, value in enumerate(expected):
        raw = open(os.path.join(result.output_dir, f"two_output_{i}.bin"), "rb").read()
        assert raw == value.tobytes()  # bit for bit, fp16 stays fp16 (12 bytes)
    assert sum(line.startswith("Inference time: ") and line.endswith("ms") for line in lines) == 3
    assert any(line.startswith("Inference average time: ") for line in lines)
    assert result.output_dir in lines
    assert os.path.dirname(result.output_dir) == str(tmp_path / "out")


def test_folder_mode_sorted_names_hidden_skipped_loop_ignored(pipe_onnx_two_inputs, tmp_path):
    rng = np.random.default_rng(2)
    names = ["b.bin", "a.bin", "c.x.bin", "10.bin"]
    feeds = {}
    for name in names:
        feeds[name] = _inputs(rng)
        write_bin(tmp_path / "A" / name, feeds[name]["a"])
        write_bin(tmp_path / "B" / name, feeds[name]["b"])
    (tmp_path / "A" / ".hidden.bin").write_bytes(b"junk")
    lines = []
    result = runner.run(pipe_onnx_two_inputs, [str(tmp_path / "A"), str(tmp_path / "B")],
                        str(tmp_path / "out"), loop=5, log=lines.append)
    assert result.mode == "folder" and len(result.times_ms) == 4
    started = [l.rsplit("/", 1)[-1] for l in lines if l.startswith("[INFO] start to process file:") and "/A/" in l]
    assert started == ["10.bin", "a.bin", "b.bin", "c.x.bin"]
    assert sorted(os.listdir(result.output_dir)) == sorted(
        f"{stem}_output_{i}.bin" for stem in ["10", "a", "b", "c.x"] for i in (0, 1))
    for name, feed in feeds.items():
        stem = name[: name.rfind(".")]
        for i, value in enumerate(_reference(pipe_onnx_two_inputs, feed)):
            raw = open(os.path.join(result.output_dir, f"{stem}_output_{i}.bin"), "rb").read()
            assert raw == value.tobytes()
    assert any(line.startswith("Inference average time : ") for line in lines)


def test_no_input_means_zeros(pipe_onnx_two_inputs, tmp_path):
    result = runner.run(pipe_onnx_two_inputs, None, str(tmp_path / "out"), log=_quiet)
    zeros = {"a": np.zeros((1, 2, 3), np.float32), "b": np.zeros((1, 3), np.float32)}
    expected = _reference(pipe_onnx_two_inputs, zeros)
    raw = open(os.path.join(result.output_dir, "two_output_0.bin"), "rb").read()
    assert raw == expected[0].tobytes() and len(raw) == 24


def test_txt_layout():
    text = runner.format_txt(np.array([[[1.0, 2.5, -3.0], [4.0, 1e-7, 123456789.0]]], np.float32))
    assert text == "1 2.5 -3 \n4 1e-07 1.23457e+08 \n"
    assert runner.format_txt(np.array([[1, 2], [3, 4]], np.int32)) == "1 2 \n3 4 \n"
    assert runner.format_txt(np.array([0.5], np.float16)) == "0.5 \n"


def test_txt_output_file(pipe_onnx_two_inputs, tmp_path):
    feed = {"a": np.arange(6, dtype=np.float32).reshape(1, 2, 3), "b": np.ones((1, 3), np.float32)}
    write_bin(tmp_path / "a.bin", feed["a"])
    write_bin(tmp_path / "b.bin", feed["b"])
    result = runner.run(pipe_onnx_two_inputs, [str(tmp_path / "a.bin"), str(tmp_path / "b.bin")],
                        str(tmp_path / "out"), outfmt="TXT", log=_quiet)
    assert sorted(os.listdir(result.output_dir)) == ["two_output_0.txt", "two_output_1.txt"]
    assert open(os.path.join(result.output_dir, "two_output_0.txt")).read() == "1 2 3 \n4 5 6 \n"
    lines = []
    lower = runner.run(pipe_onnx_two_inputs, [str(tmp_path / "a.bin"), str(tmp_path / "b.bin")],
                       str(tmp_path / "out"), outfmt="txt", log=lines.append)  # msame: only "TXT" is TXT
    assert sorted(os.listdir(lower.output_dir)) == ["two_output_0.bin", "two_output_1.bin"]
    assert "[WARNING] --outfmt txt is not TXT: writing BIN, as msame does" in lines


def test_dynamic_batch_comes_from_file_size(pipe_onnx_dynamic_batch, tmp_path):
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    write_bin(tmp_path / "x.bin", x)
    result = runner.run(pipe_onnx_dynamic_batch, str(tmp_path / "x.bin"), str(tmp_path / "out"), log=_quiet)
    raw = open(os.path.join(result.output_dir, "dyn_output_0.bin"), "rb").read()
    assert raw == _reference(pipe_onnx_dynamic_batch, {"x": x})[0].tobytes() and len(raw) == 48
    write_bin(tmp_path / "odd.bin", np.zeros(5, np.float32))
    with pytest.raises(UserError, match="not a whole number"):
        runner.run(pipe_onnx_dynamic_batch, str(tmp_path / "odd.bin"), str(tmp_path / "out"), log=_quiet)


def test_same_second_runs_do_not_clobber(pipe_onnx_dynamic_batch, tmp_path):
    dirs = [runner.run_folder(pipe_onnx_dynamic_batch, None, str(tmp_path / "out"),
                              timestamp_format="fixed", log=_quiet) for _ in range(3)]
    assert [os.path.basename(d) for d in dirs] == ["fixed", "fixed_1", "fixed_2"]


def test_bad_inputs_are_user_errors(pipe_onnx_two_inputs, tmp_path):
    out = str(tmp_path / "out")
    write_bin(tmp_path / "a.bin", np.zeros((1, 2, 3), np.float32))
    write_bin(tmp_path / "short.bin", np.zeros(2, np.float32))
    with pytest.raises(UserError, match=r"short.bin: expected 12 bytes .* got 8 bytes"):
        runner.run(pipe_onnx_two_inputs, [str(tmp_path / "a.bin"), str(tmp_path / "short.bin")], out, log=_quiet)
    assert not os.path.exists(out)  # refused before creating any output folder
    with pytest.raises(UserError, match="has 2 input"):
        runner.run(pipe_onnx_two_inputs, str(tmp_path / "a.bin"), out, log=_quiet)
    with pytest.raises(UserError, match="model not found"):
        runner.run(str(tmp_path / "none.onnx"), None, out, log=_quiet)
    with pytest.raises(UserError, match="expected an integer from 1 to 100"):
        runner.run(pipe_onnx_two_inputs, None, out, loop=101, log=_quiet)
    write_bin(tmp_path / "A" / "1.bin", np.zeros((1, 2, 3), np.float32))
    write_bin(tmp_path / "A" / "2.bin", np.zeros((1, 2, 3), np.float32))
    write_bin(tmp_path / "B" / "1.bin", np.zeros((1, 3), np.float32))
    with pytest.raises(UserError, match=r"B/2.bin not found"):
        runner.run(pipe_onnx_two_inputs, [str(tmp_path / "A"), str(tmp_path / "B")], out, log=_quiet)
    with pytest.raises(UserError, match="folder mode expects folders"):
        runner.run(pipe_onnx_two_inputs, [str(tmp_path / "A"), str(tmp_path / "nope")], out, log=_quiet)
    om = tmp_path / "m.om"
    om.write_bytes(b"om")
    with pytest.raises(UserError, match="msame"):
        runner.run(str(om), None, out, log=_quiet)


def test_pb_model_runs_like_frozen_graph(pipe_tf_model, tmp_path):
    from common_tools.export import FrozenGraph

    write_bin(tmp_path / "x" / "img1.bin", pipe_tf_model.feed["x_real"])
    write_bin(tmp_path / "c" / "img1.bin", pipe_tf_model.feed["c_trg"])
    out_dir = runner.run_folder(pipe_tf_model.pb, [str(tmp_path / "x"), str(tmp_path / "c")],
                                str(tmp_path / "out"), out_nodes=["G/Tanh:0"], log=_quiet)
    expected = FrozenGraph(pipe_tf_model.pb, outputs=["G/Tanh:0"]).run(pipe_tf_model.feed)[0]
    assert open(os.path.join(out_dir, "img1_output_0.bin"), "rb").read() == expected.tobytes()


def _console():
    script = os.path.join(os.path.dirname(sys.executable), "msame-onnx")
    return [script] if os.path.isfile(script) else [sys.executable, "-m", "common_tools.runner"]


def test_console_entry_prints_and_exits(pipe_onnx_dynamic_batch, tmp_path):
    write_bin(tmp_path / "in" / "x.bin", np.ones((2, 4), np.float32))
    ok = subprocess.run(_console() + ["--model", pipe_onnx_dynamic_batch, "--input", str(tmp_path / "in"),
                                      "--output", str(tmp_path / "out"), "--dymBatch", "2"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    out = ok.stdout.splitlines()
    out_dir = next(l for l in out if l.startswith(str(tmp_path / "out")))
    assert os.listdir(out_dir) == ["x_output_0.bin"]
    assert any(l.startswith("Inference time: ") for l in out)
    assert any(l.startswith("Inference average time : ") and l.endswith(" ms") for l in out)
    assert "[WARNING] --dymBatch is accepted for msame compatibility and ignored" in out
    write_bin(tmp_path / "bad.bin", np.ones(3, np.float32))
    bad = subprocess.run(_console() + ["--model", pipe_onnx_dynamic_batch, "--input", str(tmp_path / "bad.bin"),
                                       "--output", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert any(l.startswith("[ERROR] ") and "bad.bin" in l for l in bad.stdout.splitlines())
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
