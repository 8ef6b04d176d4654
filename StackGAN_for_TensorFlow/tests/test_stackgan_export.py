"""Freezing: the deterministic graph (embedding, noise -> G2/Tanh) equals the online Stage-II G
through .pb and .onnx, with perturbed BN statistics so that parity cannot pass by accident; the
card's graph has its one Placeholder [64, 1024] and draws its noise inside."""

import numpy as np
import pytest

from common_tools import testing
from common_tools.checkpoint import restore_for_inference
from common_tools.export import FrozenGraph, OnnxModel, load_graph_def, placeholders
from stackgan import export, infer, paths
from stackgan.config import StackGANConfig
from stackgan.networks import stage_networks


@pytest.fixture(scope="module")
def stage2(stage1_run):
    cfg = StackGANConfig.tiny().for_stage(2)
    nets = stage_networks(cfg, discriminator=False)
    restore_for_inference(paths.resolve_checkpoint(stage1_run), G1=nets["G1"])
    rng = np.random.default_rng(0)
    for net in nets.values():                       # BN statistics far from their initial 0 / 1
        for v in net.non_trainable_weights:
            scale = rng.uniform(0.5, 2.0, v.shape) if "variance" in v.path else rng.normal(0, 0.3, v.shape)
            v.assign(scale.astype(np.float32))
    return cfg, nets


class TestStageIIParity(testing.ParityContract):
    @pytest.fixture(autouse=True)
    def _nets(self, stage2):
        self.cfg, self.nets = stage2

    def outputs(self, tmp_path):
        """The deterministic Stage-II graph on the bins file2bin writes (2 rows per bin, 3 rows:
        the last bin filled up): online, .pb, .onnx, and the msame-compatible runner on the .onnx."""
        from common_tools import offline as bins
        from common_tools.runner import run as run_model
        from stackgan import offline

        cfg, nets = self.cfg, self.nets
        emb = np.random.default_rng(1).normal(size=(3, cfg.embedding_dim)).astype(np.float32)
        manifest = offline.file2bin(str(tmp_path / "bin"), cfg, emb, batch=2, seed=3)
        assert [s["info"]["rows"] for s in manifest["samples"]] == [2, 1]
        paths = export.freeze(cfg, nets, str(tmp_path / "g.pb"), str(tmp_path / "g.onnx"), batch=2)
        run_model(paths["onnx"], bins.input_folders(tmp_path / "bin"), output=str(tmp_path / "runner"),
                  log=lambda line: None)
        report = offline.parity(cfg, nets, str(tmp_path / "bin"), paths["pb"], paths["onnx"],
                                str(tmp_path / "runner"))
        assert set(report) == {"online vs pb", "online vs onnx", "online vs runner", "pb vs onnx",
                               "pb vs runner", "onnx vs runner"}
        loaded = offline.read_bins(str(tmp_path / "bin"))
        online = offline.online_outputs(cfg, nets, loaded)[0]
        assert online.shape == (2, 2, 64, 64, 3)
        feeds = [{"embedding": e, "noise": z} for e, z in zip(loaded["embedding"], loaded["noise"])]
        pb = FrozenGraph(paths["pb"], outputs=[export.output_name(cfg)])
        onnx = OnnxModel(paths["onnx"])
        return {"online": [online], "pb": [np.stack([pb.run(f)[0] for f in feeds])],
                "onnx": [np.stack([onnx.run(f)[0] for f in feeds])],
                "runner": bins.read_outputs(tmp_path / "bin", tmp_path / "runner")[0]}


def test_noise_bins_follow_the_tf_distributions():
    from stackgan import offline

    cfg = StackGANConfig.tiny().for_stage(2).replace(z_dim=400, c_dim=300)
    noise = offline.draw_noise(cfg, 50, seed=0)
    z, eps = noise[:, :400], noise[:, 400:]
    assert noise.shape == (50, 1000) and np.abs(eps).max() <= 2 and np.abs(z).max() > 2
    assert abs(z.std() - 1) < 0.05 and abs(eps.std() - 0.88) < 0.05     # truncated N(0,1) at 2: sd 0.88
    assert np.array_equal(noise, offline.draw_noise(cfg, 50, seed=0))
    assert not np.array_equal(noise, offline.draw_noise(cfg, 50, seed=1))


def test_card_graph_has_one_placeholder_and_draws_noise(stage2, tmp_path):
    cfg, nets = stage2
    paths = export.freeze(cfg, nets, str(tmp_path / "model.pb"), variant="card")
    (name, shape, _), = placeholders(load_graph_def(paths["pb"]))
    assert (name, tuple(shape)) == ("Placeholder", (64, cfg.embedding_dim))
    graph = FrozenGraph(paths["pb"], outputs=["G2/Tanh:0"])
    emb = np.random.default_rng(2).normal(size=(64, cfg.embedding_dim)).astype(np.float32)
    a, b = graph.run({"Placeholder": emb})[0], graph.run({"Placeholder": emb})[0]
    assert a.shape == (64, 64, 64, 3) and np.abs(a - b).max() > 0
