"""Networks: the reference's parameter counts part by part, shapes, spectral norm's state, freezing."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bigbigan.layers import ConditionalBatchNorm, SelfAttention, SNConv2DTranspose, SNDense
from bigbigan.networks import Encoder, Generator, ResDense, RevBlock, build_networks, count_params

TINY = dict(ch=4, en_ch=4, latent_dim=8, embed_dim=4, units=8, en_units=8)


def _counts(model):
    return count_params(model.trainable_weights), count_params(model.non_trainable_weights)


def _inputs(batch=2, channels=1, latent_dim=100, seed=0):
    rng = np.random.default_rng(seed)
    z = tf.constant(rng.standard_normal((batch, latent_dim)), tf.float32)
    y = tf.constant(rng.integers(0, 10, batch), tf.int32)
    x = tf.constant(rng.uniform(0, 1, (batch, 32, 32, channels)), tf.float32)
    return z, y, x


def _values(weights):
    return [np.array(w.numpy()) for w in weights]


@pytest.fixture(scope="module")
def mnist_nets():
    return build_networks(channels=1)


@pytest.fixture(scope="module")
def tiny_nets():
    return build_networks(channels=3, **TINY)


# ---------------------------------------------------------------------------------------------
# parameter counts (reference model_small.py; SN u vectors and BN statistics are non-trainable)

def test_mnist_counts(mnist_nets):
    G, D, E = mnist_nets
    assert _counts(G) == (2_081_201, 7_984)
    assert _counts(D.F) == (2_368_986, 1_944)
    assert _counts(D.H) == (42_113, 576)
    assert _counts(D.J) == (70_273, 576)
    assert _counts(E) == (550_948, 896)
    assert _counts(D) == tuple(map(sum, zip(_counts(D.F), _counts(D.H), _counts(D.J))))


def test_cifar10_counts():
    G, D, E = build_networks(channels=3, init="orthogonal")
    assert _counts(G)[0] == 2_082_353
    assert _counts(D.F)[0] == 2_370_266
    assert _counts(D.H)[0] == 42_113 and _counts(D.J)[0] == 70_273
    assert _counts(E)[0] == 554_084


def test_what_is_non_trainable(mnist_nets):
    G, D, E = mnist_nets
    for model in (G, D, E):
        for w in model.non_trainable_weights:
            assert w.path.rsplit("/", 1)[-1] in {"sn_u", "moving_mean", "moving_variance"}, w.path
        assert not any(w.path.endswith("sn_u") for w in model.trainable_weights)
    # H and J hold nothing but SN vectors: 9 SN-Dense layers of 64 units each
    assert {w.path.rsplit("/", 1)[-1] for w in D.H.non_trainable_weights} == {"sn_u"}
    assert len(D.H.non_trainable_weights) == 9
    # the transposed output conv's kernel is (3, 3, C, 64): its u spans the 64 input channels
    assert tuple(G.conv_out.sn_u.shape) == (1, 64)
    assert not any(w.path.endswith("sn_u") for w in E.weights)  # E has no spectral norm


# ---------------------------------------------------------------------------------------------
# shapes

def test_shapes_batch_of_two(mnist_nets):
    G, D, E = mnist_nets
    z, y, x = _inputs()
    x_fake = G(z, y)
    assert x_fake.shape == (2, 32, 32, 1)
    x_train = G(z, y, training=True)
    for out in (x_fake, x_train):
        assert float(tf.reduce_min(out)) >= 0.0 and float(tf.reduce_max(out)) <= 1.0
    z_hat = E(x)
    assert z_hat.shape == (2, 100)
    f, s_x = D.F(x, y)
    h, s_z = D.H(z_hat)
    assert f.shape == (2, 256) and h.shape == (2, 64)
    assert D.J(f, h).shape == (2, 1)
    s = D(x, z_hat, y)
    assert [t.shape for t in s] == [(2, 1)] * 3
    assert np.allclose(s[0], s_x) and np.allclose(s[1], s_z)


def test_tiny_widths_and_rgb(tiny_nets):
    G, D, E = tiny_nets
    z, y, x = _inputs(channels=3, latent_dim=8)
    assert G(z, y).shape == (2, 32, 32, 3)
    assert E(x).shape == (2, 8)
    assert D.F(x, y)[0].shape == (2, 16)      # 4 · ch
    assert D.H(z)[0].shape == (2, 8)
    assert _counts(G)[0] < 100_000            # the widths took effect


def test_conditioning_and_unconditional_mode(tiny_nets):
    G, D, E = tiny_nets
    z, y, x = _inputs(channels=3, latent_dim=8)
    y_other = (y + 1) % 10
    assert float(tf.reduce_max(tf.abs(G(z, y) - G(z, y_other)))) > 0
    assert float(tf.reduce_max(tf.abs(D.F(x, y)[1] - D.F(x, y_other)[1]))) > 0
    with pytest.raises(ValueError, match="conditional"):
        G(z)
    g = Generator(channels=3, ch=4, latent_dim=8, conditional=False)
    assert g(z).shape == (2, 32, 32, 3)
    assert not any("embed" in w.path for w in g.weights)


def test_bad_arguments():
    with pytest.raises(ValueError, match="4 equal chunks"):
        Generator(latent_dim=30)
    with pytest.raises(ValueError, match="init must be one of"):
        Encoder(init="xavier")


def test_every_trainable_weight_gets_a_gradient(tiny_nets):
    G, D, E = tiny_nets
    z, y, x = _inputs(channels=3, latent_dim=8)
    with tf.GradientTape(persistent=True) as tape:
        real = D(x, E(x, training=True), y, training=True)
        fake = D(G(z, y, training=True), z, y, training=True)
        score = tf.add_n([tf.reduce_mean(r) - tf.reduce_mean(f) for r, f in zip(real, fake)])
    for model in (G, D, E):
        grads = tape.gradient(score, model.trainable_weights)
        assert [w.path for w, g in zip(model.trainable_weights, grads) if g is None] == []
    assert tape.gradient(score, G.linear.sn_u) is None             # u is a constant of the graph


# ---------------------------------------------------------------------------------------------
# spectral norm: one power iteration per training call; inference never writes u

def test_spectral_norm_training_only_updates_u():
    layer = SNDense(6, kernel_initializer="glorot_uniform", name="sn")
    x = tf.random.normal([3, 5])
    layer(x)
    u0 = layer.sn_u.numpy().copy()
    a, b = layer(x, training=False), layer(x, training=False)
    assert np.array_equal(a, b)
    assert np.array_equal(layer.sn_u.numpy(), u0)
    layer(x, training=True)
    assert not np.allclose(layer.sn_u.numpy(), u0)
    assert np.isclose(np.linalg.norm(layer.sn_u.numpy()), 1.0, atol=1e-5)


@pytest.mark.parametrize("layer, x_shape", [(SNDense, (2, 9)), (SNConv2DTranspose, (2, 4, 4, 5))])
def test_spectral_norm_converges_to_unit_sigma(layer, x_shape):
    # seeded: power iteration converges as (sigma2/sigma1)^k, slowly for an unlucky random kernel
    # whose two largest singular values are close (unseeded, 60 calls once ended at 1.002)
    keras.utils.set_random_seed(3)
    sn = layer(7, kernel_initializer="random_normal", name="sn") if layer is SNDense else \
        layer(3, 3, kernel_initializer="random_normal", name="sn")
    x = tf.random.normal(x_shape)
    sn(x)
    sn.kernel.assign(sn.kernel * 10.0)
    w = sn.kernel.numpy().reshape(-1, sn.kernel.shape[-1])         # [m, n], n = last kernel axis
    assert np.linalg.svd(w, compute_uv=False)[0] > 1.5             # otherwise the test proves nothing
    for _ in range(100):
        sn(x, training=True)
    w_sn = sn.normalized_kernel().numpy().reshape(w.shape)
    assert np.linalg.svd(w_sn, compute_uv=False)[0] == pytest.approx(1.0, abs=1e-3)


def test_generator_inference_leaves_state_alone(tiny_nets):
    G, _, _ = tiny_nets
    z, y, _ = _inputs(latent_dim=8)
    rng = np.random.default_rng(1)
    for w in G.non_trainable_weights:                             # u far from its fixed point
        if w.path.endswith("sn_u"):
            w.assign(rng.standard_normal(w.shape).astype("float32"))
    state = _values(G.non_trainable_weights)
    a, b = G(z, y, training=False), G(z, y, training=False)
    assert np.array_equal(a, b)
    assert all(np.array_equal(s, w) for s, w in zip(state, _values(G.non_trainable_weights)))
    G(z, y, training=True)
    changed = {w.path for s, w in zip(state, G.non_trainable_weights) if not np.allclose(s, w.numpy())}
    sn_paths = {w.path for w in G.non_trainable_weights if w.path.endswith("sn_u")}
    assert sn_paths and sn_paths <= changed                       # every u moved
    assert "G/block0/cbn0/moving_mean" in changed and "G/bn/moving_variance" in changed


def test_inference_graph_freezes_without_assign(tiny_nets):
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    G, _, _ = tiny_nets
    specs = (tf.TensorSpec([2, 8], tf.float32, name="x1"), tf.TensorSpec([2], tf.int32, name="x2"))

    def op_types(training):
        fn = tf.function(lambda z, y: G(z, y, training=training)).get_concrete_function(*specs)
        return fn, {op.type for op in fn.graph.get_operations()}

    _, train_ops = op_types(True)
    assert "AssignVariableOp" in train_ops                         # the check can see assigns
    infer, infer_ops = op_types(False)
    assert not {t for t in infer_ops if t.startswith("Assign")}
    frozen = convert_variables_to_constants_v2(infer)
    assert not {op.type for op in frozen.graph.get_operations()} & {"ReadVariableOp", "VarHandleOp"}
    z, y, _ = _inputs(latent_dim=8)
    np.testing.assert_allclose(frozen(z, y)[0], G(z, y), atol=1e-6)


# ---------------------------------------------------------------------------------------------
# blocks

def test_conditional_batch_norm():
    cbn = ConditionalBatchNorm(3, name="cbn")
    assert cbn.momentum == pytest.approx(0.9) and cbn.epsilon == pytest.approx(1e-5)
    x = tf.random.normal([4, 5, 5, 3]) * 3.0 + 2.0
    c = tf.random.normal([4, 6])
    cbn(x, c)
    cbn.gamma.kernel.assign(tf.zeros_like(cbn.gamma.kernel))
    cbn.gamma.bias.assign(tf.ones_like(cbn.gamma.bias))           # γ(c) = 1, β(c) = 0
    cbn.beta.kernel.assign(tf.zeros_like(cbn.beta.kernel))
    out = cbn(x, c, training=True).numpy()
    assert np.allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    assert np.allclose(out.var(axis=(0, 1, 2)), 1, atol=1e-3)
    batch_mean = x.numpy().mean(axis=(0, 1, 2))
    np.testing.assert_allclose(cbn.moving_mean.numpy(), 0.1 * batch_mean, rtol=1e-4)


def test_self_attention_starts_as_identity():
    att = SelfAttention(16, name="att")
    x = tf.random.normal([2, 4, 4, 16])
    assert np.array_equal(att(x), x)                              # γ = 0 at the start
    att.gamma.assign([1.0])
    assert float(tf.reduce_max(tf.abs(att(x) - x))) > 0


def test_rev_block_is_invertible():
    block = RevBlock(8, name="rev")
    x = tf.random.normal([2, 5, 5, 8])
    out = block(x)
    y2, y1 = np.split(out.numpy(), 2, axis=-1)
    x1, x2 = np.split(x.numpy(), 2, axis=-1)
    assert np.allclose(y2, x2)
    # x1 = y1 − R(y2), with R(a) = block(a ‖ 0)'s second half − 0
    r = np.split(block(tf.concat([tf.zeros_like(y2), y2], -1)).numpy(), 2, axis=-1)[1]
    np.testing.assert_allclose(y1 - r, x1, atol=1e-5)


def test_encoder_is_deterministic_at_inference(tiny_nets):
    _, _, E = tiny_nets
    _, _, x = _inputs(channels=3)
    assert np.array_equal(E(x), E(x))
    assert E(x).shape == (2, 8)


# ---------------------------------------------------------------------------------------------
# names, initializers, checkpoints

def test_variable_paths_unique_and_stable(tiny_nets):
    paths = [w.path for m in tiny_nets for w in m.weights]
    assert len(paths) == len(set(paths))
    again = [w.path for m in build_networks(channels=3, **TINY) for w in m.weights]
    assert again == paths                                          # no auto-numbered names
    assert "D/F/attention/v/sn_u" in paths and "E/rev5/bn1/moving_mean" in paths


def test_initializers_fresh_per_layer(mnist_nets):
    _, D, _ = mnist_nets
    k1, k2 = D.H.blocks[1].dense0.kernel.numpy(), D.H.blocks[2].dense0.kernel.numpy()
    assert k1.shape == k2.shape and not np.allclose(k1, k2)
    assert np.abs(k1).max() <= 0.04 + 1e-6 and 0.015 < k1.std() < 0.025   # truncated normal 0.02
    block = ResDense(16, spectral_norm=False, init="orthogonal", name="block")
    block(tf.zeros([1, 16]))
    w = block.dense1.kernel.numpy()                                # (16, 16) orthogonal
    np.testing.assert_allclose(w.T @ w, np.eye(16), atol=1e-5)


def test_checkpoint_sees_every_variable(tiny_nets, tmp_path):
    G, D, E = tiny_nets
    from common_tools.checkpoint import CheckpointKeeper

    path = CheckpointKeeper(str(tmp_path / "ckpt"), G=G, D=D, E=E).save(1)
    saved = [n for n, _ in tf.train.list_variables(path) if n.endswith("VARIABLE_VALUE")
             and n.split("/")[0] in ("G", "D", "E")]
    assert len(saved) == len(G.weights) + len(D.weights) + len(E.weights)
