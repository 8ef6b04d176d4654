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
        cfg, nets = self.cfg, self.nets
        emb = np.random.default_rng(1).normal(size=(2, cfg.embedding_dim)).astype(np.float32)
        import tensorflow as tf

        noise = infer.draw_noise_for(cfg, 2, tf.random.Generator.from_seed(3))
        online = infer.generate(nets, emb, noise)["stage2"]
        paths = export.freeze(cfg, nets, str(tmp_path / "g.pb"), str(tmp_path / "g.onnx"), batch=2)
        feed = {"embedding": emb, "noise": export.join_noise(noise)}
        pb = FrozenGraph(paths["pb"], outputs=[export.output_name(cfg)]).run(feed)[0]
        onnx = OnnxModel(paths["onnx"]).run(feed)[0]
        assert online.shape == (2, 64, 64, 3)
        return {"online": [online], "pb": [pb], "onnx": [onnx]}


def test_card_graph_has_one_placeholder_and_draws_noise(stage2, tmp_path):
    cfg, nets = stage2
    paths = export.freeze(cfg, nets, str(tmp_path / "model.pb"), variant="card")
    (name, shape, _), = placeholders(load_graph_def(paths["pb"]))
    assert (name, tuple(shape)) == ("Placeholder", (64, cfg.embedding_dim))
    graph = FrozenGraph(paths["pb"], outputs=["G2/Tanh:0"])
    emb = np.random.default_rng(2).normal(size=(64, cfg.embedding_dim)).astype(np.float32)
    a, b = graph.run({"Placeholder": emb})[0], graph.run({"Placeholder": emb})[0]
    assert a.shape == (64, 64, 64, 3) and np.abs(a - b).max() > 0
