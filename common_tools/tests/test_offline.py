"""offline: named-input .bin folders + manifest, and msame/runner outputs read back (checked first)."""

import json
import os

import numpy as np
import pytest

from common_tools import offline, runner
from common_tools.binio import write_bin
from common_tools.errors import UserError

NOISE_LABELS = {"x1": ((4, 3), "float32"), "x2": ((4,), "int32")}   # noise [B, z] + labels [B]
IMAGE_OUT = [((4, 3), "float32")]


def _quiet(line):
    pass


def _samples(n, rng, info=True):
    for i in range(n):
        arrays = {"x1": rng.standard_normal((4, 3)).astype(np.float32),
                  "x2": rng.integers(0, 10, (4,)).astype(np.int32)}
        yield (f"s{i:02d}", arrays, {"seed": i, "labels": arrays["x2"]}) if info else (f"s{i:02d}", arrays)


def _fake_outputs(bin_dir, out_dir, fn):
    """What msame would write for ``bin_dir``: ``fn(x1, x2)`` per sample."""
    os.makedirs(out_dir, exist_ok=True)
    x1, x2 = offline.read_inputs(bin_dir, "x1"), offline.read_inputs(bin_dir, "x2")
    names = [s["name"] for s in offline.read_manifest(bin_dir)["samples"]]
    for name, a, b in zip(names, x1, x2):
        write_bin(os.path.join(out_dir, f"{name}_output_0.bin"), np.asarray(fn(a, b), np.float32))


def test_round_trip_layout_manifest_and_order(tmp_path):
    rng = np.random.default_rng(0)
    samples = list(_samples(3, rng))
    manifest = offline.write_inputs(tmp_path / "bin", NOISE_LABELS, iter(samples), IMAGE_OUT,
                                    meta={"model": "toy", "z_dim": np.int64(3)})
    assert sorted(os.listdir(tmp_path / "bin")) == ["manifest.json", "x1", "x2"]
    assert sorted(os.listdir(tmp_path / "bin" / "x2")) == ["s00.bin", "s01.bin", "s02.bin"]
    assert os.path.getsize(tmp_path / "bin" / "x1" / "s01.bin") == 4 * 3 * 4
    on_disk = json.loads((tmp_path / "bin" / "manifest.json").read_text())
    assert on_disk == manifest == offline.read_manifest(tmp_path / "bin")
    assert [(e["name"], e["shape"], e["dtype"]) for e in manifest["inputs"]] == [
        ("x1", [4, 3], "float32"), ("x2", [4], "int32")]
    assert manifest["outputs"] == [{"index": 0, "shape": [4, 3], "dtype": "float32"}]
    assert manifest["samples"][1] == {"name": "s01", "info": {"seed": 1, "labels": samples[1][1]["x2"].tolist()}}
    assert manifest["meta"] == {"model": "toy", "z_dim": 3}
    assert offline.input_folders(tmp_path / "bin") == [str(tmp_path / "bin" / "x1"), str(tmp_path / "bin" / "x2")]
    x2 = offline.read_inputs(tmp_path / "bin", "x2")
    assert x2.dtype == np.int32 and x2.shape == (3, 4)
    np.testing.assert_array_equal(x2, np.stack([s[1]["x2"] for s in samples]))

    out = tmp_path / "out" / "20240101_000000"
    _fake_outputs(tmp_path / "bin", out, lambda a, b: a * b[:, None].astype(np.float32))
    (arrays,), out_dir = offline.read_outputs(tmp_path / "bin", tmp_path / "out")   # the root: newest subfolder
    assert out_dir == str(out)
    expected = np.stack([s[1]["x1"] * s[1]["x2"][:, None].astype(np.float32) for s in samples])
    np.testing.assert_array_equal(arrays, expected)
    (again,), same = offline.read_outputs(tmp_path / "bin", out)                     # the subfolder itself
    assert same == str(out) and np.array_equal(again, expected)


def test_rewriting_a_folder_removes_stale_inputs(tmp_path):
    rng = np.random.default_rng(1)
    offline.write_inputs(tmp_path / "bin", NOISE_LABELS, _samples(4, rng), IMAGE_OUT)
    offline.write_inputs(tmp_path / "bin", NOISE_LABELS, _samples(2, rng, info=False), IMAGE_OUT)
    assert sorted(os.listdir(tmp_path / "bin" / "x1")) == ["s00.bin", "s01.bin"]  # msame reads every file
    (tmp_path / "bin" / "x1" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match=r"notes.txt is not a .bin file"):
        offline.write_inputs(tmp_path / "bin", NOISE_LABELS, _samples(1, rng), IMAGE_OUT)


def test_arrays_are_checked_against_the_spec(tmp_path):
    good = {"x1": np.zeros((4, 3), np.float32), "x2": np.zeros((4,), np.int32)}
    cases = [
        ({**good, "x1": np.zeros((4, 3), np.float64)}, r"sample 'a', input 'x1': got shape \[4, 3\] float64, "
                                                       r"expected \[4, 3\] float32"),
        ({**good, "x2": np.zeros((5,), np.int32)}, r"sample 'a', input 'x2': got shape \[5\] int32"),
        ({"x1": good["x1"]}, r"sample 'a': no array for input 'x2'"),
        ({**good, "x3": good["x2"]}, r"sample 'a': unknown input\(s\) \['x3'\]"),
    ]
    for arrays, message in cases:
        with pytest.raises(UserError, match=message):
            offline.write_inputs(tmp_path / "bin", NOISE_LABELS, [("a", arrays)], IMAGE_OUT)
    with pytest.raises(UserError, match="given twice"):
        offline.write_inputs(tmp_path / "bin", NOISE_LABELS, [("a", good), ("a", good)], IMAGE_OUT)
    with pytest.raises(UserError, match="cannot be a file name"):
        offline.write_inputs(tmp_path / "bin", NOISE_LABELS, [("../a", good)], IMAGE_OUT)
    with pytest.raises(UserError, match=r"input name 'x,1'"):
        offline.write_inputs(tmp_path / "bin", {"x,1": ((1,), "float32")}, [], IMAGE_OUT)
    with pytest.raises(UserError, match="no samples"):
        offline.write_inputs(tmp_path / "bin", NOISE_LABELS, [], IMAGE_OUT)
    assert not (tmp_path / "bin" / "manifest.json").exists()  # nothing half-written reads as complete
    (tmp_path / "file").write_text("")
    with pytest.raises(UserError, match=r"bin folder .*file is an existing file"):
        offline.write_inputs(tmp_path / "file", NOISE_LABELS, [("a", good)], IMAGE_OUT)


def test_manifest_errors_name_the_file(tmp_path):
    with pytest.raises(UserError, match=r"nowhere/manifest.json not found"):
        offline.read_manifest(tmp_path / "nowhere")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "manifest.json").write_text(json.dumps({"image_size": 128, "images": []}))
    with pytest.raises(UserError, match=r"old/manifest.json: not a common_tools.offline manifest"):
        offline.read_outputs(tmp_path / "old", tmp_path)
    (tmp_path / "old" / "manifest.json").write_text("{")
    with pytest.raises(UserError, match="not a readable JSON manifest"):
        offline.input_folders(tmp_path / "old")
    offline.write_inputs(tmp_path / "bin", NOISE_LABELS, _samples(1, np.random.default_rng(0)), IMAGE_OUT)
    with pytest.raises(UserError, match=r"has no input 'c_trg': its inputs are \['x1', 'x2'\]"):
        offline.read_inputs(tmp_path / "bin", "c_trg")


def test_missing_and_wrong_count_of_outputs(tmp_path):
    offline.write_inputs(tmp_path / "bin", NOISE_LABELS, _samples(3, np.random.default_rng(2)), IMAGE_OUT)
    with pytest.raises(UserError, match=r"output folder .*nowhere not found"):
        offline.read_outputs(tmp_path / "bin", tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"empty holds no <sample>_output_<k>.bin files and no output subfolder"):
        offline.read_outputs(tmp_path / "bin", tmp_path / "empty")
    out = tmp_path / "out" / "t1"
    _fake_outputs(tmp_path / "bin", out, lambda a, b: a)
    os.remove(out / "s01_output_0.bin")
    with pytest.raises(UserError, match=r"incomplete for the inputs in .*bin: s01_output_0.bin not found "
                                        r"\(1 of 3 output files missing\)"):
        offline.read_outputs(tmp_path / "bin", tmp_path / "out")
    write_bin(out / "s01_output_0.bin", np.zeros((4, 3), np.float32))
    write_bin(out / "s01_output_1.bin", np.zeros((4, 3), np.float32))  # a model with two outputs
    with pytest.raises(UserError, match=r"not from the inputs in .*s01_output_1.bin: its manifest lists 1 "
                                        r"output\(s\)"):
        offline.read_outputs(tmp_path / "bin", out)


def test_foreign_outputs_are_refused(tmp_path):
    rng = np.random.default_rng(3)
    offline.write_inputs(tmp_path / "a", NOISE_LABELS, _samples(2, rng), IMAGE_OUT)
    other = [(f"img{i}_{k}", {"x1": np.ones((4, 3), np.float32), "x2": np.ones((4,), np.int32)})
             for i in range(2) for k in range(2)]
    offline.write_inputs(tmp_path / "b", NOISE_LABELS, other, IMAGE_OUT)
    _fake_outputs(tmp_path / "b", tmp_path / "out_b" / "t", lambda a, b: a)
    with pytest.raises(UserError, match=r"outputs in .*out_b/t are not from the inputs in .*/a: "
                                        r"img0_0_output_0.bin belongs to no sample"):
        offline.read_outputs(tmp_path / "a", tmp_path / "out_b")
    # same sample names, another model's output shape: refused on size before anything is read
    _fake_outputs(tmp_path / "a", tmp_path / "out_c" / "t", lambda a, b: np.zeros((4, 3, 2), np.float32))
    with pytest.raises(UserError, match=r"not from the inputs in .*: s00_output_0.bin is 96 bytes, "
                                        r"expected 48 for output 0 of shape \[4, 3\] float32"):
        offline.read_outputs(tmp_path / "a", tmp_path / "out_c")
    # the same folder written as TXT is not read as BIN
    os.makedirs(tmp_path / "out_d" / "t")
    for s in ("s00", "s01"):
        (tmp_path / "out_d" / "t" / f"{s}_output_0.txt").write_text("0 \n")
    with pytest.raises(UserError, match="--outfmt BIN"):
        offline.read_outputs(tmp_path / "a", tmp_path / "out_d")


@pytest.fixture(scope="module")
def noise_label_onnx(tmp_path_factory):
    """x1 [4,3] f32, x2 [4] i32 -> y = x1 * x2[:, None] [4,3] f32 (a noise + label generator's shape)."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Cast", ["x2"], ["x2f"], to=TensorProto.FLOAT),
         helper.make_node("Unsqueeze", ["x2f", "axes"], ["col"]),
         helper.make_node("Mul", ["x1", "col"], ["y"])],
        "noise_label",
        [helper.make_tensor_value_info("x1", TensorProto.FLOAT, [4, 3]),
         helper.make_tensor_value_info("x2", TensorProto.INT32, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 3])],
        initializer=[helper.make_tensor("axes", TensorProto.INT64, [1], [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = tmp_path_factory.mktemp("offline_onnx") / "gen.onnx"
    onnx.save(model, path)
    return str(path)


def test_runner_outputs_read_back_in_manifest_order(noise_label_onnx, tmp_path):
    rng = np.random.default_rng(4)
    # names out of msame's sorted order: the manifest order wins
    samples = [(name, {"x1": rng.standard_normal((4, 3)).astype(np.float32),
                       "x2": rng.integers(-3, 4, (4,)).astype(np.int32)}) for name in ("b", "a", "c.v2")]
    offline.write_inputs(tmp_path / "bin", NOISE_LABELS, samples, IMAGE_OUT)
    result = runner.run(noise_label_onnx, offline.input_folders(tmp_path / "bin"), str(tmp_path / "out"),
                        log=_quiet)
    assert result.mode == "folder"
    (images,), out_dir = offline.read_outputs(tmp_path / "bin", tmp_path / "out")
    assert out_dir == result.output_dir
    expected = np.stack([s[1]["x1"] * s[1]["x2"][:, None].astype(np.float32) for s in samples])
    np.testing.assert_array_equal(images, expected)
    # a second run: the root now resolves to the newer folder (same content)
    second = runner.run_folder(noise_label_onnx, ",".join(offline.input_folders(tmp_path / "bin")),
                               str(tmp_path / "out"), log=_quiet)
    assert second != result.output_dir
    assert offline.read_outputs(tmp_path / "bin", tmp_path / "out")[1] == second
    # file mode names its outputs after the model: refused, with the folder-mode --input to use
    files = [os.path.join(f, "a.bin") for f in offline.input_folders(tmp_path / "bin")]
    file_mode = runner.run_folder(noise_label_onnx, files, str(tmp_path / "file_out"), log=_quiet)
    assert os.listdir(file_mode) == ["gen_output_0.bin"]
    with pytest.raises(UserError, match=r"gen_output_0.bin belongs to no sample .*folder mode with --input "
                                        r".*bin/x1,.*bin/x2"):
        offline.read_outputs(tmp_path / "bin", tmp_path / "file_out")
