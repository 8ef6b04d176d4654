"""Networks: the reference's parameter counts part by part (built, not trained), output shapes on
tiny widths, the layer settings of the reference, conditioning augmentation and its KL term."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from stackgan.networks import (ConditioningAugmentation, StageIDiscriminator, StageIGenerator,
                               StageIIDiscriminator, StageIIGenerator, built, count_params,
                               draw_noise, kl_loss, reparameterize)

# tiny widths shared by the shape tests: 16-d "embeddings", c_dim 4, z_dim 8
EMB, C, Z = 16, 4, 8


def trainable(*parts):
    return sum(count_params(p.trainable_weights) for p in parts)


def moving(*parts):
    return sum(count_params(p.non_trainable_weights) for p in parts)


def bn(*channels):
    """Trainable (gamma, beta) or moving (mean, variance) scalars of BN layers of these widths."""
    return 2 * sum(channels)


def all_layers(net):
    return list(net._flatten_layers(include_self=False, recursive=True))


# ---------------------------------------------------------------------------------------------
# paper configuration: parameter counts (spec table), part by part from the spec's layer lists
# ---------------------------------------------------------------------------------------------

# a 3x3 bottleneck residual block [1x1 C/4, 3x3 C/4, 3x3 C] at C = 512 (Stage-I G res2 and both Ds)
RES_512 = 512 * 128 + 9 * 128 * 128 + 9 * 128 * 512 + bn(128, 128, 512)           # 804,352


@pytest.fixture(scope="module")
def g1():
    return built(StageIGenerator())


@pytest.fixture(scope="module")
def d1():
    return built(StageIDiscriminator())


@pytest.fixture(scope="module")
def g2():
    return built(StageIIGenerator())


@pytest.fixture(scope="module")
def d2():
    return built(StageIIDiscriminator())


def test_stage1_generator_counts(g1):
    assert trainable(g1.ca) == 1024 * 256 + 256 == 262_400
    assert trainable(g1.fc, g1.fc_bn) == (128 + 100) * 16384 + 16384 + bn(16384)
    assert trainable(g1.res1) == 1024 * 256 + 9 * 256 * 256 + 9 * 256 * 1024 + bn(256, 256, 1024)
    assert trainable(g1.up1) == 9 * 1024 * 512 + bn(512)
    assert trainable(g1.res2) == RES_512
    assert trainable(g1.up2) == 9 * 512 * 256 + bn(256)
    assert trainable(g1.up3) == 9 * 256 * 128 + bn(128)
    assert trainable(g1.to_rgb) == 9 * 128 * 3
    assert trainable(g1) == 14_264_192
    assert moving(g1) == bn(16384, 256, 256, 1024, 512, 128, 128, 512, 256, 128) == 39_168


def test_stage1_discriminator_counts(d1):
    assert count_params(w for c in d1.convs for w in c.trainable_weights) == \
        16 * (3 * 64 + 64 * 128 + 128 * 256 + 256 * 512)
    assert trainable(*d1.norms) == bn(128, 256, 512)
    assert trainable(d1.residual) == RES_512
    assert trainable(d1.text_fc) == 1024 * 128 + 128
    assert trainable(d1.joint_conv, d1.joint_bn) == 640 * 512 + bn(512)
    assert trainable(d1.logit_conv) == 4 * 4 * 512
    assert trainable(d1) == 4_029_824
    assert moving(d1) == bn(128, 256, 512, 128, 128, 512, 512) == 4_352


def test_stage2_generator_counts(g2):
    assert trainable(g2.ca) == 262_400  # its own CA, not Stage-I's
    assert trainable(g2.enc1, g2.enc2, g2.enc2_bn, g2.enc3, g2.enc3_bn) == \
        9 * 3 * 128 + 16 * 128 * 256 + 16 * 256 * 512 + bn(256, 512)
    assert trainable(g2.joint, g2.joint_bn) == 9 * (512 + 128) * 512 + bn(512)
    assert len(g2.residuals) == 4
    assert trainable(*g2.residuals) == 4 * (2 * 9 * 512 * 512 + bn(512, 512))
    assert trainable(*g2.ups, g2.to_rgb) == \
        9 * (512 * 256 + 256 * 128 + 128 * 64 + 64 * 32 + 32 * 3) + bn(256, 128, 64, 32)
    assert trainable(g2) == 26_290_080
    assert moving(g2) == bn(256, 512, 512, *[512] * 8, 256, 128, 64, 32) == 11_712


def test_stage2_discriminator_counts(d2):
    down = [3, 64, 128, 256, 512, 1024, 2048]
    assert count_params(w for c in d2.convs for w in c.trainable_weights) == \
        16 * sum(a * b for a, b in zip(down, down[1:])) + 2048 * 1024 + 1024 * 512
    assert trainable(*d2.norms) == bn(128, 256, 512, 1024, 2048, 1024, 512)
    # the same residual block, text and joint head as Stage-I
    assert trainable(d2.residual) == RES_512
    assert trainable(d2.text_fc) == 1024 * 128 + 128
    assert trainable(d2.joint_conv, d2.joint_bn, d2.logit_conv) == 640 * 512 + bn(512) + 4 * 4 * 512
    assert trainable(d2) == 48_603_520
    assert moving(d2) == 13_568


def test_reference_initialisers(g1):
    gamma = g1.fc_bn.gamma.numpy()                          # 16384 draws of N(1, 0.02)
    assert abs(gamma.mean() - 1.0) < 1e-3 and abs(gamma.std() - 0.02) < 1e-3
    assert not g1.fc_bn.beta.numpy().any()
    k = g1.res1.conv3.kernel.numpy()                        # truncated N(0, 0.02): cut at 2 sigma
    assert np.abs(k).max() <= 0.04 + 1e-6
    assert abs(k.std() - 0.02 * 0.8796) < 5e-4             # std of N(0, 1) cut to [-2, 2] is 0.8796
    w = g1.fc.kernel.numpy()                                # N(0, 0.02), not truncated
    assert abs(w.std() - 0.02) < 5e-4 and np.abs(w).max() > 0.06
    assert not g1.fc.bias.numpy().any()


@pytest.mark.parametrize("make", [
    lambda: StageIGenerator(gf_dim=4, z_dim=Z, c_dim=C, embedding_dim=EMB),
    lambda: StageIDiscriminator(df_dim=4, text_dim=C, embedding_dim=EMB),
    lambda: StageIIGenerator(gf_dim=8, c_dim=C, embedding_dim=EMB, num_residual=2, lr_size=16),
    lambda: StageIIDiscriminator(df_dim=2, text_dim=C, embedding_dim=EMB, image_size=64),
], ids=["G1", "D1", "G2", "D2"])
def test_layer_settings_and_names(make, tmp_path):
    net = built(make())
    sub = all_layers(net)
    norms = [l for l in sub if isinstance(l, keras.layers.BatchNormalization)]
    assert norms and all(l.epsilon == pytest.approx(1e-5) and l.momentum == pytest.approx(0.9)
                         for l in norms)
    convs = [l for l in sub if isinstance(l, keras.layers.Conv2D)]
    assert convs and all(not l.use_bias and l.padding == "same" for l in convs)
    assert all(l.use_bias for l in sub if isinstance(l, keras.layers.Dense))
    # unique, stable variable paths, and every variable saved by the shared checkpoint keeper
    from common_tools.checkpoint import CheckpointKeeper

    paths = [v.path for v in net.weights]
    assert len(set(paths)) == len(paths)
    assert all(p.startswith(net.name + "/") for p in paths)
    prefix = CheckpointKeeper(str(tmp_path / "ckpt"), net=net).save(1)
    saved = [n for n, _ in tf.train.list_variables(prefix) if n.startswith("net/")]
    assert len(saved) == len(net.weights)


# ---------------------------------------------------------------------------------------------
# tiny widths: output shapes and value ranges
# ---------------------------------------------------------------------------------------------

def _embeddings(n, seed=0):
    return tf.constant(np.random.default_rng(seed).normal(size=(n, EMB)), tf.float32)


def test_stage1_shapes():
    G = built(StageIGenerator(gf_dim=4, z_dim=Z, c_dim=C, embedding_dim=EMB))
    D = built(StageIDiscriminator(df_dim=4, text_dim=C, embedding_dim=EMB))
    e = _embeddings(2)
    z, eps = draw_noise(0, 2, z_dim=Z, c_dim=C)
    for training in (False, True):
        x, mu, log_sigma = G(e, z, eps, training=training)
        assert x.shape == (2, 64, 64, 3) and mu.shape == log_sigma.shape == (2, C)
        assert float(tf.reduce_max(tf.abs(x))) <= 1.0 and float(tf.math.reduce_std(x)) > 0
        logit = D(x, e, training=training)
        assert logit.shape == (2, 1) and np.isfinite(logit.numpy()).all()
    assert G.logits(e, z, eps)[0].shape == (2, 64, 64, 3)
    # matching-aware: the same image with another text gets another score
    x = tf.random.uniform([2, 64, 64, 3], -1, 1, seed=1)
    assert float(tf.reduce_max(tf.abs(D(x, e) - D(x, _embeddings(2, seed=1))))) > 0


def test_stage2_shapes():
    G = built(StageIIGenerator(gf_dim=8, c_dim=C, embedding_dim=EMB, num_residual=1))
    D = built(StageIIDiscriminator(df_dim=2, text_dim=C, embedding_dim=EMB))
    e = _embeddings(2)
    _, eps = draw_noise(0, 2, z_dim=Z, c_dim=C)
    lr = tf.random.uniform([2, 64, 64, 3], -1, 1, seed=2)
    x, mu, log_sigma = G(lr, e, eps, training=True)
    assert x.shape == (2, 256, 256, 3) and mu.shape == (2, C)
    assert float(tf.reduce_max(tf.abs(x))) <= 1.0 and float(tf.math.reduce_std(x)) > 0
    logit = D(x, e, training=True)
    assert logit.shape == (2, 1) and np.isfinite(logit.numpy()).all()
    # the output depends on the Stage-I image (batch statistics: at init and tiny widths the
    # moving ones shrink the signal to nothing); the generator is fully convolutional (4x the input)
    diff = G(lr, e, eps, training=True)[0] - G(-lr, e, eps, training=True)[0]
    assert float(tf.reduce_max(tf.abs(diff))) > 0
    assert G(lr[:, :16, :16], e, eps)[0].shape == (2, 64, 64, 3)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="multiple of 16"):
        StageIGenerator(image_size=60)
    with pytest.raises(ValueError, match="multiple of 64"):
        StageIIDiscriminator(image_size=200)
    with pytest.raises(ValueError, match="multiple of 4"):
        StageIIGenerator(gf_dim=6)


# ---------------------------------------------------------------------------------------------
# conditioning augmentation and the KL term
# ---------------------------------------------------------------------------------------------

def test_ca_split_leaky_and_reparameterisation():
    ca = ConditioningAugmentation(c_dim=2)
    eps = tf.constant([[0.5, 1.0]])
    ca(tf.zeros([1, 4]), eps)
    ca.fc.kernel.assign(tf.eye(4))                          # the Dense passes the embedding through
    c, mu, log_sigma = ca(tf.constant([[1.0, -1.0, 2.0, -2.0]]), eps)
    np.testing.assert_allclose(mu.numpy(), [[1.0, -0.2]], rtol=1e-6)        # leaky slope 0.2
    np.testing.assert_allclose(log_sigma.numpy(), [[2.0, -0.4]], rtol=1e-6)
    np.testing.assert_allclose(c.numpy(), [[1.0 + math.exp(2.0) * 0.5, -0.2 + math.exp(-0.4)]],
                               rtol=1e-6)


def test_noise_is_deterministic_given_a_seed():
    z1, e1 = draw_noise(tf.random.Generator.from_seed(7), 1000)
    z2, e2 = draw_noise(7, 1000)
    assert z1.shape == (1000, 100) and e1.shape == (1000, 128)
    np.testing.assert_array_equal(z1.numpy(), z2.numpy())
    np.testing.assert_array_equal(e1.numpy(), e2.numpy())
    z3, e3 = draw_noise(8, 1000)
    assert not np.array_equal(e1.numpy(), e3.numpy()) and not np.array_equal(z1.numpy(), z3.numpy())
    assert float(tf.reduce_max(tf.abs(e1))) <= 2.0          # epsilon truncated at 2 sigma
    assert float(tf.reduce_max(tf.abs(z1))) > 2.0           # z is a plain normal
    # a seeded stream gives the same sample c and the same image twice
    G = built(StageIGenerator(gf_dim=4, z_dim=Z, c_dim=C, embedding_dim=EMB))
    e = _embeddings(2)
    outs = [G(e, *draw_noise(3, 2, Z, C), training=True)[0].numpy() for _ in range(2)]
    np.testing.assert_array_equal(outs[0], outs[1])
    other = G(e, *draw_noise(4, 2, Z, C), training=True)[0].numpy()
    assert np.abs(other - outs[0]).max() > 0


def test_reparameterize_formula():
    mu = tf.constant([[0.3, -1.0]])
    log_sigma = tf.constant([[0.0, math.log(2.0)]])
    eps = tf.constant([[1.5, -0.5]])
    np.testing.assert_allclose(reparameterize(mu, log_sigma, eps).numpy(), [[1.8, -2.0]], rtol=1e-6)


def test_kl_loss():
    zeros = tf.zeros([3, 5])
    assert float(kl_loss(zeros, zeros)) == 0.0
    assert float(kl_loss(zeros + 0.5, zeros)) > 0
    assert float(kl_loss(zeros, zeros + 0.3)) > 0 and float(kl_loss(zeros, zeros - 0.3)) > 0
    # the mean over batch and dims of KL(N(mu, s^2) || N(0, 1)) = log(1/s) + (s^2 + mu^2)/2 - 1/2
    rng = np.random.default_rng(0)
    mu, s = rng.normal(size=(4, 6)), rng.uniform(0.2, 3.0, size=(4, 6))
    expected = np.mean(np.log(1 / s) + (s ** 2 + mu ** 2) / 2 - 0.5)
    got = kl_loss(tf.constant(mu, tf.float32), tf.constant(np.log(s), tf.float32))
    assert float(got) == pytest.approx(expected, rel=1e-5)
