"""Networks: the paper's parameter counts (built, not trained), shapes, the AttGAN mode, and the
checkpoint keys of layers kept in Python lists."""

import numpy as np
import pytest
import tensorflow as tf

from stgan.config import STGANConfig
from stgan.networks import build_generator, build_networks, count_params


def _trainable(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


@pytest.fixture(scope="module")
def paper_nets():
    return build_networks(STGANConfig.paper())


def test_paper_generator_counts(paper_nets):
    G, _ = paper_nets
    assert _trainable(G.Genc) == 11_148_160
    assert _trainable(G.STU) == 30_145_280
    assert _trainable(G.Gdec) == 33_705_331
    assert _trainable(G) == 74_998_771
    assert count_params(G) - _trainable(G) == 7_808  # BN moving mean/variance (count_params: all weights)


def test_paper_discriminator_counts(paper_nets):
    _, D = paper_nets
    assert _trainable(D.convs) == 11_148_160
    assert _trainable(D.Dadv) == 16_779_265
    assert _trainable(D.Datt) == 16_791_565
    assert _trainable(D) == 44_718_990


def test_attgan_mode_count():
    G = build_generator(STGANConfig.attgan())
    assert G.STU is None
    assert _trainable(G) == 43_459_203


def test_tiny_shapes_and_stu_skips():
    cfg = STGANConfig.tiny()
    G, D = build_networks(cfg)
    x = tf.random.uniform([2, 32, 32, 3], -1, 1)
    diff = tf.constant(np.random.default_rng(0).choice([-1.0, 0.0, 1.0], (2, 13)), tf.float32)
    feats = G.Genc(x)
    assert [f.shape[1:] for f in feats] == [(16, 16, 8), (8, 8, 16), (4, 4, 32)]
    skips = G.STU(feats, diff)
    assert {k: v.shape[1:] for k, v in skips.items()} == {1: (8, 8, 16), 0: (16, 16, 8)}
    y = G(x, diff)
    assert y.shape == (2, 32, 32, 3)
    assert float(tf.reduce_max(tf.abs(y))) <= 1.0
    adv, att = D(x)
    assert adv.shape == (2, 1) and att.shape == (2, 13)
    # the attribute difference reaches the output: a different diff changes the image
    assert float(tf.reduce_max(tf.abs(G(x, diff) - G(x, -diff)))) > 0


def test_instance_norm_and_batch_norm_settings():
    cfg = STGANConfig.tiny()
    G, D = build_networks(cfg)
    bn = G.Genc.norms[0]
    assert bn.epsilon == pytest.approx(1e-3) and bn.scale and bn.momentum == pytest.approx(cfg.bn_momentum)
    assert STGANConfig.paper().bn_momentum == pytest.approx(0.999)
    inorm = D.convs.norms[0]
    h = D.convs.convs[0](tf.random.uniform([2, 32, 32, 3]))
    assert inorm.groups == h.shape[-1]  # groups=-1 resolved to one group per channel
    assert inorm.epsilon == pytest.approx(1e-6)
    assert not G.Genc.convs[0].use_bias and G.Gdec.to_rgb.use_bias
    # instance norm: each (sample, channel) normalised on its own
    n = inorm(h).numpy()
    assert np.allclose(n.mean(axis=(1, 2)), 0, atol=1e-4)


def test_layers_in_lists_have_unique_checkpoint_keys():
    # the keeper maps a Keras model to its variables by path; layers in lists (Genc.convs, STU.cells,
    # D_convs.norms) must each have a unique, stable name or model_variables refuses the model
    from common_tools.checkpoint import model_variables

    G, D = build_networks(STGANConfig.tiny())
    g_keys, d_keys = model_variables(G), model_variables(D)
    assert len(g_keys) == len(G.weights) and len(d_keys) == len(D.weights)
    assert {"Genc.conv3.kernel", "STU.stu1.candidate.kernel", "Gdec.bn2.moving_mean"} <= set(g_keys)
    assert {"D_convs.in3.gamma", "Dadv.fc2.kernel", "Datt.fc1.bias"} <= set(d_keys)
