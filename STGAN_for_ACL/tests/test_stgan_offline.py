"""The card's offline model: ckpt -> .pb -> ONNX -> msame-compatible runner equals the online G."""

import os

import numpy as np
import pytest
import tensorflow as tf

from common_tools import binio
from common_tools.errors import UserError
from common_tools.export import FrozenGraph, load_graph_def, placeholders
from common_tools.runner import run_folder
from stgan import export, offline
from stgan import data as data_lib
from stgan.config import STGANConfig
from stgan.networks import build_networks
from stgan.train import IMAGE_DIR, load_split


@pytest.fixture(scope="module")
def exported(tmp_path_factory, faces_dir):
    cfg = STGANConfig.tiny()
    tf.random.set_seed(1)
    G, _ = build_networks(cfg)
    # give the BN moving statistics values far from their init, so inference mode is really checked
    for layer in G.Genc.norms + G.Gdec.norms:
        layer.moving_mean.assign(tf.random.uniform(layer.moving_mean.shape, -0.2, 0.2))
        layer.moving_variance.assign(tf.random.uniform(layer.moving_variance.shape, 0.5, 2.0))
    root = tmp_path_factory.mktemp("offline")
    pb = export.export_pb(G, cfg, str(root / "pb_model"))
    onnx = export.export_onnx(pb, str(root / "onnx" / "STGAN.onnx"))
    return cfg, G, root, pb, onnx


def test_frozen_graph_names_match_the_card(exported):
    cfg, _, _, pb, _ = exported
    assert pb.endswith(os.path.join("pb_model", "STGAN.pb"))
    graph = load_graph_def(pb)
    assert sorted(placeholders(graph)) == sorted([("input1", (1, 32, 32, 3), np.dtype("float32")),
                                                  ("input2", (1, 13), np.dtype("float32")),
                                                  ("input3", (1, 13), np.dtype("float32"))])
    nodes = {n.name: n for n in graph.node}
    assert nodes["output"].op == "Tanh"
    assert not any("output" in [i.split(":")[0] for i in n.input] for n in graph.node)  # output is the sink
    assert nodes["diff"].op == "Sub" and list(nodes["diff"].input) == ["input2", "input3"]
    # the card's ATC command comes out of the .pb unchanged (input order included)
    from common_tools.atc import build_atc_command
    cmd = build_atc_command(pb, "om_model/STGAN", "Ascend910")
    assert "--input_shape=input1:1,32,32,3;input2:1,13;input3:1,13" in cmd and "--framework=3" in cmd


def test_img2bin_runner_bin2img_equal_online(exported, faces_dir):
    cfg, G, root, pb, onnx = exported
    part = load_split(faces_dir, cfg.atts, "test", 2)
    n = offline.img2bin(part.image_dir, part.files, part.labels, cfg.atts, str(root / "bin"),
                        cfg.img_size, cfg.thres_int, test_int=2.0)
    assert n == 2 * 14
    stem = os.path.splitext(part.files[0])[0]
    assert sorted(os.listdir(root / "bin"))[:3] == ["input1", "input2", "input3"]
    assert os.path.getsize(root / "bin" / "input1" / f"{stem}_0.bin") == 32 * 32 * 3 * 4
    inputs = ",".join(str(root / "bin" / k) for k in ("input1", "input2", "input3"))
    out_dir = run_folder(onnx, inputs, output=str(root / "msame_out"))
    assert os.path.dirname(out_dir) == str(root / "msame_out")
    # online: the same edits through the Keras generator
    from common_tools.celeba import load_images
    xa = load_images(part.image_dir, part.files, data_lib.preprocess(cfg.img_size), image_size=cfg.img_size)
    targets = data_lib.single_edits(part.labels, cfg.atts, cfg.thres_int, 2.0)
    a_ = data_lib.scale(part.labels, cfg.thres_int)
    frozen = FrozenGraph(pb, outputs=["output:0"])
    worst = 0.0
    for i, b_ in enumerate(targets):
        online = G(xa, b_ - a_, training=False).numpy()
        for j in range(2):
            stem = os.path.splitext(part.files[j])[0]
            ort = binio.read_bin(os.path.join(out_dir, f"{stem}_{i}_output_0.bin"), [1, 32, 32, 3])
            feed = {k: binio.read_bin(str(root / "bin" / k / f"{stem}_{i}.bin"), s) for k, s in
                    (("input1", [1, 32, 32, 3]), ("input2", [1, 13]), ("input3", [1, 13]))}
            pb_out = frozen.run(feed)[0]
            worst = max(worst, np.abs(ort - online[j:j + 1]).max(), np.abs(pb_out - online[j:j + 1]).max())
    assert worst < 1e-5
    # bin2img from the msame root: newest subfolder, one strip per image
    written = offline.bin2img(part.image_dir, part.files, str(root / "msame_out"), str(root / "om_testing"), 32)
    assert len(written) == 2
    from PIL import Image
    assert Image.open(written[0]).size == (32 + 12 + 14 * 32, 32)


def test_bin2img_faults(exported, faces_dir, tmp_path):
    cfg = exported[0]
    image_dir = os.path.join(faces_dir, IMAGE_DIR)
    files = sorted(os.listdir(image_dir))
    empty = tmp_path / "msame_out"
    empty.mkdir()
    with pytest.raises(UserError, match="no msame output subfolder"):
        offline.bin2img(image_dir, files, str(empty), str(tmp_path / "png"), 32)
    bad = empty / "20211104_165416"
    bad.mkdir()
    stem = os.path.splitext(files[0])[0]
    binio.write_bin(str(bad / f"{stem}_0_output_0.bin"), np.zeros([1, 16, 16, 3], np.float32))
    with pytest.raises(UserError, match=rf"{stem}_0_output_0.bin: expected 12288 bytes .* got 3072 bytes"):
        offline.bin2img(image_dir, files, str(empty), str(tmp_path / "png"), 32)
