"""Save -> load identical outputs; freeze -> .pb -> ONNX -> the msame-compatible runner agree."""

import os

import numpy as np
import pytest

from common_tools import binio, checkpoint, export, runs
from common_tools.errors import UserError
from common_tools.runner import run_folder
from stargan import offline
from stargan.config import StarGANConfig
from stargan.export import OUTPUT, freeze_generator, load_generator, serving_function
from stargan.networks import build_discriminator, build_generator
from stargan.step import TrainStep


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A tiny run folder: config.json and checkpoint/model-1 after one real training iteration."""
    run_dir = str(tmp_path_factory.mktemp("run"))
    cfg = StarGANConfig.tiny()
    G, D = build_generator(cfg), build_discriminator(cfg)
    step = TrainStep(cfg, G, D)
    rng = np.random.RandomState(0)
    step(rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32"), np.eye(5, dtype="float32")[:2], 1)
    runs.save_config(cfg, run_dir)
    keeper = checkpoint.CheckpointKeeper(os.path.join(run_dir, "checkpoint"), **step.variables())
    keeper.save(1)
    return run_dir, cfg, G


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.RandomState(3)
    x = rng.uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    c = np.array([[0, 1, 0, 1, 1]], "float32")
    return x, c


def test_save_load_gives_identical_outputs(trained_run, inputs):
    run_dir, cfg, G = trained_run
    cfg2, G2, step = load_generator(os.path.join(run_dir, "checkpoint", "model-1"))
    assert cfg2 == cfg and step == 1
    np.testing.assert_array_equal(np.asarray(G(*inputs)), np.asarray(G2(*inputs)))
    # the bare name the seed's test_1p.sh passes, resolved against <output_dir>/checkpoint
    _, G3, _ = load_generator("model-1", output_dir=run_dir)
    np.testing.assert_array_equal(np.asarray(G(*inputs)), np.asarray(G3(*inputs)))


def test_missing_checkpoint_is_one_clear_error(trained_run):
    run_dir, _, _ = trained_run
    with pytest.raises(UserError, match="checkpoint not found: model-7"):
        load_generator("model-7", output_dir=run_dir)


def test_mismatched_checkpoint_is_one_clear_error(trained_run, tmp_path):
    """A checkpoint whose config.json says another width cannot be loaded: a UserError, not a trace."""
    run_dir, cfg, _ = trained_run
    other = tmp_path / "other"
    os.makedirs(other / "checkpoint")
    for name in os.listdir(os.path.join(run_dir, "checkpoint")):
        with open(os.path.join(run_dir, "checkpoint", name), "rb") as f:
            (other / "checkpoint" / name).write_bytes(f.read())
    runs.save_config(cfg.replace(g_conv_dim=12), str(other))
    with pytest.raises(UserError):
        load_generator(str(other / "checkpoint" / "model-1"))


def test_freeze_names_and_parity_through_onnx_and_runner(trained_run, inputs, tmp_path):
    run_dir, cfg, G = trained_run
    paths = freeze_generator(G, cfg, str(tmp_path / "stargan.pb"), str(tmp_path / "stargan.onnx"))
    graph_def = export.load_graph_def(paths["pb"])
    assert [(n, s) for n, s, _ in export.placeholders(graph_def)] == [("x_real", (1, 32, 32, 3)),
                                                                      ("c_trg", (1, 5))]
    assert "G/Tanh" in {n.name for n in graph_def.node}

    x, c = inputs
    online = np.asarray(G(x, c))
    pb = export.FrozenGraph(paths["pb"], outputs=[OUTPUT]).run({"x_real": x, "c_trg": c})[0]
    onnx = export.OnnxModel(paths["onnx"]).run({"x_real": x, "c_trg": c})[0]
    # the runner in msame folder mode, on the files img2bin writes
    bin_dir = str(tmp_path / "bin")
    offline.write_bins(cfg, [(x, c)], ["000042.jpg"], bin_dir)
    run_folder(paths["onnx"], inputs=[f"{bin_dir}/x_real", f"{bin_dir}/c_trg"],
               output=str(tmp_path / "out"), log=lambda line: None)
    rows, _ = offline.read_outputs(bin_dir, str(tmp_path / "out"))
    target1 = binio.read_bin(os.path.join(bin_dir, "c_trg", "000042_1.bin"), (1, 5))
    np.testing.assert_array_equal(target1, [[0, 1, 0, 1, 1]])          # Blond: the other hair off
    runner = rows[0, 2:3]                                               # translation to target 1
    expected = np.asarray(G(x, target1))
    report = export.parity_report({"online": [online], "pb": [pb], "onnx": [onnx]})
    for pair, r in report.items():
        assert r["max_abs"][0] < 1e-5, pair
    assert np.abs(runner - expected).max() < 1e-5
    assert np.abs(online).max() > 0                                     # not an all-zero graph


def test_serving_function_is_tanh_of_g(trained_run, inputs):
    _, cfg, G = trained_run
    fn = serving_function(G, cfg)
    np.testing.assert_allclose(fn(*inputs).numpy(), np.asarray(G(*inputs)), atol=1e-6)
