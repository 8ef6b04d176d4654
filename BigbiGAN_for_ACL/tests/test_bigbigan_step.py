"""Config, losses, the training step and the card's .bin files, on the tiny config (eager step)."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from common_tools import runs
from common_tools.errors import UserError

from bigbigan import losses, offline
from bigbigan.config import BigBiGANConfig
from bigbigan.step import dropout_states
from bigbigan.train import make_step

TINY = BigBiGANConfig.tiny().replace(n_disc=2)      # the paper's 2 D steps per G+E step


def _batch(cfg=TINY, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (cfg.batch_size, 32, 32, cfg.channels)).astype(np.float32)
    y = (np.arange(cfg.batch_size) % 10).astype(np.int32)
    return x, y


def _values(variables):
    return [np.array(v.numpy()) for v in variables]


@pytest.fixture(scope="module")
def step():
    return make_step(TINY, compile=False)


# ---------------------------------------------------------------------------------------------
# config

def test_presets_and_derived_values():
    paper = BigBiGANConfig.paper()
    assert (paper.batch_size, paper.num_epochs, paper.n_disc, paper.lr_d, paper.lr_ge) == (256, 50, 2, 2e-4, 2e-4)
    assert (paper.beta1, paper.beta2, paper.latent_dim) == (0.5, 0.999, 100)
    assert paper.total_steps(60_000) == 50 * (60_000 // 256)          # drop_remainder
    assert (paper.channels, paper.init) == (1, "truncated_normal")
    assert BigBiGANConfig(dataset="cifar10").channels == 3
    assert BigBiGANConfig(dataset="fashion_mnist").init == "orthogonal"   # the reference: MNIST only
    assert BigBiGANConfig(kernel_init="orthogonal").init == "orthogonal"   # chosen over the data set's
    assert BigBiGANConfig(dataset="cifar10", kernel_init="truncated_normal").init == "truncated_normal"
    with pytest.raises(UserError, match="unknown kernel_init 'xavier'"):
        BigBiGANConfig(kernel_init="xavier")
    for name in BigBiGANConfig.PRESETS:
        assert isinstance(BigBiGANConfig.preset(name), BigBiGANConfig)
    demo, long = BigBiGANConfig.demo(), BigBiGANConfig.long()
    assert (demo.lr_d, demo.lr_ge, demo.iterations) == (2e-4, 1e-3, 300)   # the README's rows 10-14
    assert long == demo.replace(lr_d=1e-3, iterations=7000)              # the README's longer run
    tiny = BigBiGANConfig.tiny()
    assert tiny.total_steps(10) == tiny.iterations == 4
    assert tiny.checkpoint_every >= tiny.iterations                      # the driver contract's need


def test_field_roles_and_help():
    cls = BigBiGANConfig
    assert {runs.field_role(cls, f) for f in ("dataset", "ch", "en_ch", "latent_dim", "conditional")} == {"architecture"}
    assert {runs.field_role(cls, f) for f in ("batch_size", "num_epochs", "lr_d", "n_disc", "seed")} == {"schedule"}
    docs = runs.field_docs(cls)
    assert set(docs) == {f.name for f in dataclasses.fields(cls)}       # a comment per field


@pytest.mark.parametrize("change, message", [
    (dict(dataset="svhn"), "unknown dataset"), (dict(latent_dim=30), "multiple of 4"),
    (dict(batch_size=0), "batch_size"), (dict(iterations=0, num_epochs=0), "nothing to train"),
    (dict(dropout=1.0), "dropout")])
def test_bad_config_values(change, message):
    with pytest.raises(UserError, match=message):
        BigBiGANConfig(**change)


def test_too_few_images_for_an_epoch():
    with pytest.raises(UserError, match="no whole batch"):
        BigBiGANConfig.paper().total_steps(100)


# ---------------------------------------------------------------------------------------------
# losses

def _scores(rng, n=6):
    return tuple(tf.constant(rng.normal(0, 2, (n, 1)), tf.float32) for _ in range(3))


def test_discriminator_hinge_matches_the_formula():
    rng = np.random.default_rng(0)
    real, fake = _scores(rng), _scores(rng)
    total, terms = losses.discriminator_loss(real, fake)
    expected = {name: np.maximum(0, 1 - r.numpy()).mean() + np.maximum(0, 1 + f.numpy()).mean()
                for name, r, f in zip(("x", "z", "xz"), real, fake)}
    for name in expected:
        assert float(terms[name]) == pytest.approx(expected[name], rel=1e-6)
    assert float(total) == pytest.approx(sum(expected.values()), rel=1e-6)
    # a D that separates by the margin has nothing left to learn; a fooled one pays 2 per score
    sure = tuple(tf.fill([4, 1], 1.5) for _ in range(3))
    assert float(losses.discriminator_loss(sure, tuple(-s for s in sure))[0]) == 0.0
    assert float(losses.discriminator_loss(tuple(-s for s in sure), sure)[0]) == pytest.approx(3 * 2 * 2.5)


def test_generator_encoder_loss_and_its_direction():
    rng = np.random.default_rng(1)
    real, fake = _scores(rng), _scores(rng)
    expected = sum(r.numpy().mean() - f.numpy().mean() for r, f in zip(real, fake))
    assert float(losses.generator_encoder_loss(real, fake)) == pytest.approx(expected, rel=1e-5)
    fake_vars = [tf.Variable(f) for f in fake]
    with tf.GradientTape() as tape:
        loss = losses.generator_encoder_loss(real, fake_vars)
    grads = tape.gradient(loss, fake_vars)
    assert all(float(tf.reduce_max(g)) < 0 for g in grads)       # G gains by raising fake scores
    with pytest.raises(ValueError, match="three scores"):
        losses.generator_encoder_loss(real[:2], fake)


# ---------------------------------------------------------------------------------------------
# the step

def test_one_iteration_updates_D_G_and_E(step):
    G, D, E = step.G, step.D, step.E
    before = {name: _values(m.trainable_variables) for name, m in (("G", G), ("D", D), ("E", E))}
    d_iter, ge_iter = int(step.d_opt.iterations), int(step.ge_opt.iterations)
    out = step(*_batch())
    assert set(out) == {"loss/D", "loss/G", "loss/D_x", "loss/D_z", "loss/D_xz"}
    assert all(np.isfinite(v) for v in out.values())
    assert out["loss/D"] == pytest.approx(out["loss/D_x"] + out["loss/D_z"] + out["loss/D_xz"], rel=1e-5)
    # n_disc D updates and one joint G+E update per iteration
    assert int(step.d_opt.iterations) - d_iter == TINY.n_disc
    assert int(step.ge_opt.iterations) - ge_iter == 1
    # every variable moved, except: embedding rows of classes not in the batch; G's attention
    # convs, whose gradient is 0 while gamma = 0 (G has had one update; D two, so D's have moved);
    # D's three score biases: d L_D / d b = (fakes in the margin - reals in the margin) / B = 0
    # while every score is inside the margin, as at the start
    for name, model in (("G", G), ("D", D), ("E", E)):
        stale = [v.path for v, old in zip(model.trainable_variables, before[name])
                 if np.array_equal(v.numpy(), old) and "embed" not in v.path]
        expected = {"G": [v.path for v in G.attention.trainable_variables if "gamma" not in v.path],
                    "D": [m.linear.bias.path for m in (D.F, D.H, D.J)], "E": []}[name]
        assert sorted(stale) == sorted(expected), f"{name}: not updated: {stale[:5]}"
    assert float(G.attention.gamma.numpy()[0]) != 0.0


def test_encoder_learning_rate_apart(step):
    """lr_e > 0: E has its own Adam; Adam's first step moves each weight by about its rate, so E's
    largest change is ~lr_e while G's is ~lr_ge, and the checkpoint holds e_opt."""
    assert "e_opt" not in step.trackables() and step.e_opt is None      # lr_e 0: the reference
    cfg = BigBiGANConfig.tiny().replace(lr_ge=1e-3, lr_e=1e-5)
    step = make_step(cfg, compile=False)
    assert {v.path for v in step.e_vars} == {v.path for v in step.E.trainable_variables}
    assert not {v.path for v in step.ge_vars} & {v.path for v in step.e_vars}
    before_G, before_E = _values(step.G.trainable_variables), _values(step.E.trainable_variables)
    step(*_batch(cfg))
    moved = lambda vs, old: max(float(np.abs(v.numpy() - o).max()) for v, o in zip(vs, old))  # noqa: E731
    assert 0.5e-5 < moved(step.E.trainable_variables, before_E) < 1.1e-5
    assert 0.5e-3 < moved(step.G.trainable_variables, before_G) < 1.1e-3
    assert "e_opt" in step.trackables() and int(step.e_opt.iterations) == 1
    with pytest.raises(UserError, match="lr_e"):
        BigBiGANConfig(lr_e=-1.0)


def test_every_z_comes_from_the_checkpointed_generator(step):
    state = step.rng.state.numpy().copy()
    copy = tf.random.Generator.from_state(state, alg=step.rng.algorithm)
    step(*_batch(seed=1))
    for _ in range(TINY.n_disc):                                  # one z draw per D step, nothing else
        copy.truncated_normal([TINY.batch_size, TINY.latent_dim])
    np.testing.assert_array_equal(step.rng.state.numpy(), copy.state.numpy())


def test_dropout_streams_are_named_and_advance(step):
    states = dropout_states(D=step.D, E=step.E)
    assert sorted(states) == sorted([f"D.{p}.block{i}.dropout" for p in "HJ" for i in range(3)]
                                    + [f"E.block{i}.dropout" for i in range(2)])
    before = {k: v.numpy().copy() for k, v in states.items()}
    step(*_batch(seed=2))
    assert all(not np.array_equal(before[k], v.numpy()) for k, v in states.items())
    assert "dropout" in step.trackables()


def test_mixed_bfloat16_step_is_finite():
    import keras

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        cfg = BigBiGANConfig.tiny().replace(mixed_precision=True)
        step = make_step(cfg, compile=False)
        assert step.G.linear.kernel.dtype == "float32"            # variables stay float32
        out = step(*_batch(cfg))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert all(np.isfinite(v) for v in out.values())
    assert not step.loss_scaling                                  # bf16 needs no loss scaling


# ---------------------------------------------------------------------------------------------
# the card's .bin files

def test_pic2bin_noise_is_the_training_distribution():
    z, y = offline.draw_inputs(seed=0)
    assert z.shape == (256, 100) and z.dtype == np.float32 and y.dtype == np.int32
    assert np.abs(z).max() <= 2.0 and z.min() < -1.5                 # truncated normal, not U[0, 1)
    assert abs(z.mean()) < 0.02 and 0.85 < z.std() < 0.91             # sd of N(0,1) cut at ±2: 0.88
    assert np.bincount(y).tolist() == [26] * 6 + [25] * 4
    z2, _ = offline.draw_inputs(seed=0)
    assert np.array_equal(z, z2) and not np.array_equal(z, offline.draw_inputs(seed=1)[0])


def test_read_inputs_checks_sizes_and_labels(tmp_path, capsys):
    z, y = offline.draw_inputs(seed=3)
    offline.write_inputs(tmp_path, z, y)
    z2, y2 = offline.read_inputs(tmp_path)
    assert np.array_equal(z, z2) and np.array_equal(y, y2)
    with pytest.raises(UserError, match="expected 204800 bytes"):      # x1 of latent 200
        offline.read_inputs(tmp_path, latent_dim=200)
    bad = y.copy()
    bad[5] = 10
    offline.write_inputs(tmp_path, z, bad)
    with pytest.raises(UserError, match=r"label.bin: label 10 .*0\.\.9"):
        offline.read_inputs(tmp_path)
    offline.write_inputs(tmp_path, np.random.default_rng(0).uniform(0, 1, z.shape), y)
    offline.read_inputs(tmp_path)
    assert "uniform noise" in capsys.readouterr().err


def test_compare_reports_each_pair(tmp_path):
    a = np.random.default_rng(0).uniform(0, 1, (256, 32, 32, 1)).astype(np.float32)
    b = a.copy()
    b[0, 0, 0, 0] += 0.5
    report = offline.compare({"gpu": a, "pb": a, "om": b})
    assert report["gpu vs pb"]["max_abs"] == [0.0]
    assert report["gpu vs om"]["max_abs"][0] == pytest.approx(0.5)
    assert report["pb vs om"]["mean_abs"][0] == pytest.approx(0.5 / a.size)
    path = offline.write_images(tmp_path / "x.bin", a)
    assert offline.image_shape(path) == (256, 32, 32, 1)
    (tmp_path / "short.bin").write_bytes(b"\0" * 100)
    with pytest.raises(UserError, match="short.bin: 100 bytes"):
        offline.read_images(tmp_path / "short.bin")


# ---------------------------------------------------------------------------------------------
# the linear probe (bigbigan.evaluate)

def test_linear_probe_separates_what_is_separable_and_nothing_else():
    from bigbigan.evaluate import LinearProbe

    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (10, 20))
    y_tr, y_te = rng.integers(0, 10, 500), rng.integers(0, 10, 200)
    f_tr, f_te = centres[y_tr] + rng.normal(0, 1, (500, 20)), centres[y_te] + rng.normal(0, 1, (200, 20))
    assert LinearProbe(f_tr, y_tr).accuracy(f_te, y_te) > 0.95
    noise = rng.normal(0, 1, (500, 20))
    chance = LinearProbe(noise, y_tr).accuracy(rng.normal(0, 1, (200, 20)), y_te)
    assert chance < 0.25                                          # 10 classes: about 0.1
    # constant features (a collapsed encoder) cannot beat the majority class
    flat = LinearProbe(np.ones((500, 20)), y_tr).accuracy(np.ones((200, 20)), y_te)
    assert flat == pytest.approx(np.mean(y_te == np.bincount(y_tr).argmax()))
