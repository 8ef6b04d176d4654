"""The card's offline flow through its scripts (in this process): ckpt2pb -> img2bin -> runner ->
bin2img -> psnr_ssim on the tiny experiment; online / .pb / .onnx / runner parity; what it refuses."""

import json
import os
import shutil

import numpy as np
import pytest

from common_tools import binio, offline, testing
from common_tools.errors import UserError
from common_tools.runner import run_folder


@pytest.fixture(scope="module")
def flow(trained, faces_dir, script, tmp_path_factory):
    """The card's commands on the trained experiment; returns its paths."""
    exp = trained[0]
    root, name = os.path.dirname(exp), os.path.basename(exp)
    common = ["--experiment_name", name, "--output_root", root]
    script("test.py").main([*common, "--data_dir", faces_dir, "--n_images", "2"])
    script("ckpt2pb.py").main(["--ckpt_path", os.path.join(exp, "checkpoints"), "--pb_path",
                               os.path.join(exp, "pb_model"), "--onnx", os.path.join(exp, "onnx", "STGAN.onnx")])
    script("img2bin.py").main(["--data_dir", faces_dir, "--save_dir", os.path.join(exp, "bin"), "--n_images", "2",
                               *common])
    out_dir = run_folder(os.path.join(exp, "onnx", "STGAN.onnx"), offline.input_folders(os.path.join(exp, "bin")),
                         output=os.path.join(exp, "msame_out"), log=lambda line: None)
    script("bin2img.py").main(["--bin_dir", os.path.join(exp, "msame_out"), "--save_dir",
                               os.path.join(exp, "om_testing"), *common])
    script("psnr_ssim.py").main([*common, "--json", os.path.join(exp, "psnr.json")])
    return {"exp": exp, "bin": os.path.join(exp, "bin"), "out": out_dir,
            "pb": os.path.join(exp, "pb_model", "STGAN.pb"), "onnx": os.path.join(exp, "onnx", "STGAN.onnx")}


class TestParity(testing.ParityContract):
    """The same 28 samples (2 images x 14 edits) through online G, the .pb, the .onnx and the runner."""

    @pytest.fixture(autouse=True)
    def _flow(self, flow):
        self.flow = flow

    def outputs(self, tmp_path):
        from common_tools.export import FrozenGraph, OnnxModel
        from stgan.export import INPUTS, load_generator

        _, G, _ = load_generator(self.flow["exp"])
        x1, x2, x3 = (offline.read_inputs(self.flow["bin"], k)[:, 0] for k in INPUTS)
        feeds = [dict(zip(INPUTS, (x1[i:i + 1], x2[i:i + 1], x3[i:i + 1]))) for i in range(len(x1))]
        pb, onnx = FrozenGraph(self.flow["pb"], outputs=["output:0"]), OnnxModel(self.flow["onnx"])
        return {"online": [G(x1, x2 - x3, training=False).numpy()],
                "pb": [np.concatenate([pb.run(f)[0] for f in feeds])],
                "onnx": [np.concatenate([onnx.run(f)[0] for f in feeds])],
                "runner": [offline.read_outputs(self.flow["bin"], self.flow["out"])[0][0][:, 0]]}


def test_frozen_graph_names_match_the_card(flow):
    from common_tools.atc import build_atc_command
    from common_tools.export import load_graph_def, placeholders

    graph = load_graph_def(flow["pb"])
    assert placeholders(graph) == [("input1", (1, 32, 32, 3), np.dtype("float32")),   # in the card's order
                                   ("input2", (1, 13), np.dtype("float32")), ("input3", (1, 13), np.dtype("float32"))]
    nodes = {n.name: n for n in graph.node}
    assert nodes["output"].op == "Tanh"
    assert not any("output" in [i.split(":")[0] for i in n.input] for n in graph.node)  # output is the sink
    assert nodes["diff"].op == "Sub" and list(nodes["diff"].input) == ["input2", "input3"]
    cmd = build_atc_command(flow["pb"], "om_model/STGAN", "Ascend910")
    assert "--input_shape=input1:1,32,32,3;input2:1,13;input3:1,13" in cmd and "--framework=3" in cmd
    parity = json.loads(open(os.path.join(os.path.dirname(flow["pb"]), "parity.json")).read())
    assert max(v["max_abs"][0] for v in parity.values()) < 1e-5


def test_card_flow_writes_matching_strips(flow):
    from stgan.strips import read_strips

    manifest = offline.read_manifest(flow["bin"])
    assert len(manifest["samples"]) == 2 * 14 and all(s["name"].startswith("stgan_") for s in manifest["samples"])
    assert manifest["meta"]["test_int"] == 2.0 and len(manifest["meta"]["atts"]) == 13
    online_dir, offline_dir = os.path.join(flow["exp"], "sample_testing"), os.path.join(flow["exp"], "om_testing")
    assert sorted(os.listdir(offline_dir)) == sorted(os.listdir(online_dir)) and len(os.listdir(online_dir)) == 2
    _, x_on, r_on = read_strips(online_dir, 32, n_results=14)
    _, x_off, r_off = read_strips(offline_dir, 32, n_results=14)
    np.testing.assert_array_equal(x_on, x_off)                  # the same input crop
    # the reconstructions (test_int does not touch them) agree between online and offline strips
    assert np.abs(r_on[:, 0].astype(int) - r_off[:, 0]).max() <= 1
    result = json.loads(open(os.path.join(flow["exp"], "psnr.json")).read())
    assert result["n"] == 2 and result["img_dir"].endswith("om_testing") and 0 < result["ssim"] <= 1


def test_bin2img_refuses_another_models_outputs(flow, tmp_path, script):
    # before: StarGAN's runner outputs in --bin_dir gave exit 0 and 5-panel strips, then 9.77 dB
    foreign = tmp_path / "msame_out" / "20211104_165416"
    foreign.mkdir(parents=True)
    images = sorted({s["info"]["image"] for s in offline.read_manifest(flow["bin"])["samples"]})
    for name in images:  # another model's runner: 5 targets per test image, images of the same size
        for c in range(5):
            stem = os.path.splitext(name)[0]
            binio.write_bin(str(foreign / f"{stem}_{c}_output_0.bin"), np.zeros([1, 32, 32, 3], np.float32))
    first = os.path.splitext(images[0])[0]
    with pytest.raises(UserError, match=rf"not from the inputs in .*: {first}_0_output_0.bin belongs to no sample"):
        script("bin2img.py").main(["--input_dir", flow["bin"], "--bin_dir", str(tmp_path / "msame_out"),
                                   "--save_dir", str(tmp_path / "png")])
    assert not os.listdir(tmp_path / "png")
    # and another model's img2bin folder (its own manifest) as --input_dir
    other = tmp_path / "other_bin"
    offline.write_inputs(str(other), {"x_real": ((1, 8, 8, 3), "float32")},
                         [("stargan_0000", {"x_real": np.zeros((1, 8, 8, 3), np.float32)})],
                         outputs=[((1, 8, 8, 3), "float32")])
    with pytest.raises(UserError, match="holds another model's inputs"):
        script("bin2img.py").main(["--input_dir", str(other), "--bin_dir", flow["out"], "--save_dir", str(tmp_path / "p2")])


def test_bin2img_refuses_missing_outputs(flow, tmp_path, script):
    partial = tmp_path / "out"
    shutil.copytree(flow["out"], partial)
    victim = sorted(os.listdir(partial))[5]
    os.remove(partial / victim)
    with pytest.raises(UserError, match=f"{victim} not found \\(1 of 28 output files missing\\)"):
        script("bin2img.py").main(["--input_dir", flow["bin"], "--bin_dir", str(partial), "--save_dir", str(tmp_path / "png")])


def test_ckpt2pb_checks_the_onnx_path_before_writing_the_pb(trained, tmp_path, script):
    # before: ckpt2pb wrote the .pb, then crashed on a bad --onnx path
    (tmp_path / "a_file").write_text("not a folder")
    pb = tmp_path / "pb_model" / "STGAN.pb"
    with pytest.raises(UserError, match=r"--onnx .*a_file is a file, not a folder"):
        script("ckpt2pb.py").main(["--ckpt_path", trained[0], "--pb_path", str(pb.parent),
                                   "--onnx", str(tmp_path / "a_file" / "STGAN.onnx")])
    assert not pb.exists()
    from stgan.export import freeze_generator, load_generator

    cfg, G, step = load_generator(None, trained[0])
    assert step == 4
    with pytest.raises(UserError, match="--onnx"):          # freeze_generator checks both paths first too
        freeze_generator(G, cfg, str(pb.parent), str(tmp_path / "a_file" / "x.onnx"))
    assert not pb.exists()


def test_a_garbage_bodied_jpeg_is_named(faces_dir, tmp_path, script):
    from stgan.config import PAPER_ATTS
    from stgan.data import load_split

    data = tmp_path / "faces"
    shutil.copytree(faces_dir, data)
    victim = load_split(str(data), PAPER_ATTS, "test").files[0]
    path = data / "img_align_celeba" / victim
    raw = path.read_bytes()
    path.write_bytes(raw[:20] + bytes(range(256)) * ((len(raw) - 40) // 256) + raw[-20:])  # header, end kept
    with pytest.raises(UserError, match=rf"cannot load image .*{victim}: corrupt image data"):
        script("img2bin.py").main(["--data_dir", str(data), "--save_dir", str(tmp_path / "bin"), "--img_size", "32"])
