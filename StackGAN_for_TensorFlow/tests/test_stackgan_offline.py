"""The card's offline flow as a user runs it, in process on the tiny Stage-I run: file2bin.py (64-row
bins by default; 2 here) -> freeze -> the msame-compatible runner on the .onnx -> bin2img.py (PNGs +
parity report), and the bad inputs of that road (a .bin of the wrong size, outputs of other inputs)."""

import json
import os

import numpy as np
import pytest

from common_tools import offline as bins
from common_tools.errors import UserError
from common_tools.runner import run as run_model

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _script(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"stackgan_{name}", os.path.join(FOLDER, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def flow(synthbirds, stage1_run, tmp_path_factory):
    from stackgan import export, infer

    root = tmp_path_factory.mktemp("offline")
    bin_dir = str(root / "bin")
    assert _script("file2bin").main(["--model_path", stage1_run, "--data_dir", synthbirds["data_dir"],
                                     "--bin_dir", bin_dir, "--batch", "2"]) == 0
    cfg, nets, _ = infer.load_generators(stage1_run)
    paths = export.freeze(cfg, nets, str(root / "g.pb"), str(root / "g.onnx"), batch=2)
    run_model(paths["onnx"], bins.input_folders(bin_dir), output=str(root / "runner"), log=lambda line: None)
    return {"root": root, "bin_dir": bin_dir, "run": stage1_run, **paths}


def test_file2bin_writes_the_test_captions_in_full_bins(flow, synthbirds):
    manifest = bins.read_manifest(flow["bin_dir"])
    assert [e["name"] for e in manifest["inputs"]] == ["embedding", "noise"]
    assert manifest["inputs"][0]["shape"] == [2, 1024] and manifest["inputs"][1]["shape"] == [2, 8 + 4]
    assert [s["name"] for s in manifest["samples"]] == ["stackgan_0000", "stackgan_0001"]
    assert [s["info"]["rows"] for s in manifest["samples"]] == [2, 1]        # 3 test images
    assert all(len(c) > 10 for s in manifest["samples"] for c in s["info"]["captions"])
    from stackgan import data

    test = data.load_split(synthbirds["data_dir"], "test", images=False)
    emb = bins.read_inputs(flow["bin_dir"], "embedding")
    assert np.array_equal(emb[0], test.embeddings[:2, 0])                   # the first caption each
    assert np.array_equal(emb[1], test.embeddings[[2, 2], 0])               # filled with the last row


def test_bin2img_writes_one_png_per_caption_and_parity(flow, capsys):
    save, report = flow["root"] / "png", flow["root"] / "parity.json"
    assert _script("bin2img").main(["--bin_dir", flow["bin_dir"], "--output", str(flow["root"] / "runner"),
                                    "--save_dir", str(save), "--model_path", flow["run"], "--pb", flow["pb"],
                                    "--onnx", flow["onnx"], "--parity", str(report)]) == 0
    assert len(os.listdir(save)) == 3 and all(n.endswith(".png") for n in os.listdir(save))
    parity = json.loads(report.read_text())
    assert "online vs runner" in parity and "pb vs onnx" in parity
    assert max(max(v["max_abs"]) for v in parity.values()) < 1e-4
    assert "online vs runner" in capsys.readouterr().out


def test_a_bin_of_the_wrong_size_is_one_line(flow, tmp_path):
    import shutil

    bad = tmp_path / "bin"
    shutil.copytree(flow["bin_dir"], bad)
    target = bad / "noise" / "stackgan_0001.bin"
    target.write_bytes(target.read_bytes()[:-4])
    with pytest.raises(UserError, match="stackgan_0001.bin"):
        run_model(flow["onnx"], bins.input_folders(bad), output=str(tmp_path / "out"), log=lambda line: None)
    # an output of the wrong size (truncated copy) is refused before any PNG is written
    out = tmp_path / "runner"
    shutil.copytree(bins.resolve_output_dir(flow["root"] / "runner"), out)
    victim = out / "stackgan_0000_output_0.bin"
    victim.write_bytes(victim.read_bytes()[:100])
    with pytest.raises(UserError, match="stackgan_0000_output_0.bin is 100 bytes"):
        _script("bin2img").main(["--bin_dir", flow["bin_dir"], "--output", str(out),
                                 "--save_dir", str(tmp_path / "png")])
    assert not (tmp_path / "png").exists()


def test_file2bin_bad_inputs(flow, synthbirds, tmp_path):
    f2b = _script("file2bin").main
    with pytest.raises(UserError, match="one of --data_dir"):
        f2b(["--model_path", flow["run"], "--bin_dir", str(tmp_path / "b")])
    with pytest.raises(UserError, match="--sentence 10"):
        f2b(["--model_path", flow["run"], "--data_dir", synthbirds["data_dir"], "--sentence", "10",
             "--bin_dir", str(tmp_path / "b")])
    with pytest.raises(UserError, match="checkpoint not found"):
        f2b(["--model_path", str(tmp_path / "nothing"), "--data_dir", synthbirds["data_dir"],
             "--bin_dir", str(tmp_path / "b")])
