"""Losses, label rules, one training step (names, formulas, its random generator), the config's roles.

The driver's policies (resume, non-finite stop, Ctrl-C, save -> load) are checked on the real build in
test_stgan_driver.py through common_tools.testing."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf

from common_tools.errors import UserError
from stgan import data as data_lib
from stgan import losses, step
from stgan.config import PAPER_ATTS, STGANConfig


# ---- losses ------------------------------------------------------------------------------------

def test_losses_match_their_formulas():
    real, fake = tf.constant([[1.0], [3.0]]), tf.constant([[0.5], [-0.5]])
    assert float(losses.d_adv_loss(real, fake)) == pytest.approx(-(2.0 - 0.0))
    assert float(losses.g_adv_loss(fake)) == pytest.approx(0.0)
    y, logits = np.array([[1.0, 0.0]], np.float32), np.array([[2.0, -1.0]], np.float32)
    expected = -np.mean([math.log(1 / (1 + math.exp(-2.0))), math.log(1 - 1 / (1 + math.exp(1.0)))])
    assert float(losses.att_bce(y, logits)) == pytest.approx(expected, rel=1e-6)
    assert float(losses.rec_loss(tf.ones([1, 2, 2, 3]), tf.zeros([1, 2, 2, 3]))) == pytest.approx(1.0)


def test_gradient_penalty_of_a_linear_critic():
    # critic(x) = sum(w * x): gradient w everywhere, so GP = (|w| - 1)^2 exactly
    w = tf.constant(np.full([1, 2, 2, 3], 0.5, np.float32))
    critic = lambda x: tf.reduce_sum(w * x, axis=[1, 2, 3])  # noqa: E731
    real, fake = tf.zeros([2, 2, 2, 3]), tf.ones([2, 2, 2, 3])
    gp = losses.gradient_penalty(critic, real, fake, tf.fill([2, 1, 1, 1], 0.3))
    assert float(gp) == pytest.approx((math.sqrt(12 * 0.25) - 1) ** 2, rel=1e-6)


# ---- labels ------------------------------------------------------------------------------------

def test_scaling_and_single_edits_with_conflicts():
    atts = list(PAPER_ATTS)
    a = np.zeros((1, 13), np.float32)
    a[0, atts.index("Black_Hair")] = 1
    a[0, atts.index("Bangs")] = 1
    targets = data_lib.single_edits(a, atts, 0.5, test_int=2.0)
    assert len(targets) == 14
    np.testing.assert_array_equal(targets[0], data_lib.scale(a))  # reconstruction
    blond = targets[1 + atts.index("Blond_Hair")][0]
    assert blond[atts.index("Blond_Hair")] == pytest.approx(1.0)     # flipped on, x test_int 2
    assert blond[atts.index("Black_Hair")] == pytest.approx(-0.5)    # other hair colour cleared
    bald = targets[1 + atts.index("Bald")][0]
    assert bald[atts.index("Bangs")] == pytest.approx(-0.5)          # Bald clears Bangs
    no_bangs = targets[1 + atts.index("Bangs")][0]
    assert no_bangs[atts.index("Bangs")] == pytest.approx(-1.0)      # flipped off, x 2


def test_flip_targets_are_the_tests_single_edits():
    """cfg.flip_targets: that share of the rows gets one attribute flipped with conflicts resolved
    (the test's single edits, data.single_edits), the rest a shuffled row of the batch."""
    atts = list(PAPER_ATTS)
    rows = np.random.default_rng(0).integers(0, 2, (256, len(atts))).astype(np.float32)
    for name in atts:                                   # conflict-free sources, as real labels are
        rows = data_lib.resolve_conflicts(rows, name, atts)
    a = tf.constant(rows)
    for share in (1.0, 0.5):
        m = SimpleNamespace(cfg=STGANConfig.tiny(flip_targets=share), rng=tf.random.Generator.from_seed(1))
        b, diff = (t.numpy() for t in step._targets(m, a))
        np.testing.assert_allclose(diff, data_lib.scale(b) - data_lib.scale(rows), atol=1e-6)
        n_flip = int(round(share * len(rows)))
        flipped_att = []
        for r in range(n_flip):
            edits = [t[0] for t in data_lib.single_edits(rows[r:r + 1], atts)[1:]]
            hits = [i for i, t in enumerate(edits) if np.allclose(data_lib.scale(b[r]), t)]
            assert hits, f"row {r}: target {b[r]} is not a single edit of {rows[r]}"
            flipped_att.append(hits[0])
        assert len(set(flipped_att)) == len(atts)            # every attribute gets flipped
        source = {tuple(r) for r in rows}
        assert all(tuple(r) in source for r in b[n_flip:])   # the rest: rows of the batch
        if share < 1:                                        # ... shuffled, not the row itself
            assert (b[n_flip:] != rows[n_flip:]).any(axis=1).mean() > 0.5
    paper = SimpleNamespace(cfg=STGANConfig.tiny(), rng=tf.random.Generator.from_seed(1))
    b = step._targets(paper, a)[0].numpy()
    assert sorted(map(tuple, b)) == sorted(map(tuple, rows))   # flip_targets 0: a permutation of a
    with pytest.raises(UserError, match="flip_targets"):
        STGANConfig.tiny(flip_targets=1.5)


def test_d_augment_flips_and_shifts_with_zeros_and_passes_gradients():
    """cfg.d_augment: D sees real and fake images mirrored and moved (labels kept), G's gradient
    goes through it; off (the paper) the step draws nothing more."""
    x = tf.constant(np.arange(2 * 4 * 5, dtype=np.float32).reshape(2, 4, 5, 1) + 1)
    draws = tf.constant([[1.0, 0.0, 0.0], [0.0, 1.0, -2.0]])     # mirror image 0; image 1 down 1, left 2
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = step.augment(x, draws)
    np.testing.assert_array_equal(y[0].numpy(), x[0].numpy()[:, ::-1])
    expected = np.zeros((4, 5, 1), np.float32)
    expected[1:, :3] = x[1].numpy()[:3, 2:]
    np.testing.assert_array_equal(y[1].numpy(), expected)
    grad = tape.gradient(y, x).numpy()
    assert grad[0].sum() == 20 and grad[1].sum() == 9               # every pixel of 0; the 3x3 kept of 1
    for augs, flips, limit in (("flip,translation", True, 4), ("translation", False, 4), ("flip", True, 0)):
        m = SimpleNamespace(cfg=STGANConfig.tiny(d_augment=augs), rng=tf.random.Generator.from_seed(2))
        (d,) = step._augment_draws(m, 512)
        d = d.numpy()
        assert (set(np.unique(d[:, 0])) == {0.0, 1.0}) == flips
        assert np.abs(d[:, 1:]).max() == limit                      # 1/8 of 32 px
    paper = SimpleNamespace(cfg=STGANConfig.tiny(), rng=tf.random.Generator.from_seed(2))
    assert step._augment_draws(paper, 4) == () and int(paper.rng.state[0]) == int(
        tf.random.Generator.from_seed(2).state[0])
    with pytest.raises(UserError, match="d_augment 'cutout'.*flip, translation"):
        STGANConfig.tiny(d_augment="cutout")


def test_slide_is_symmetric_and_multi_checks_names():
    atts = list(PAPER_ATTS)
    a = np.zeros((1, 13), np.float32)
    sweep = data_lib.slide_edits(a, atts, "Male", -1.0, 1.0, 5, 0.5)
    values = [t[0, atts.index("Male")] for t in sweep]
    np.testing.assert_allclose(values, [-0.5, -0.25, 0.0, 0.25, 0.5])
    with pytest.raises(UserError, match="unknown attribute name.*Smiling_Wide.*valid: Bald"):
        data_lib.multi_edit(a, atts, ["Smiling_Wide"], [1.0])
    b = data_lib.multi_edit(a, atts, ["Bangs", "Male"], [0.5, 2.0])
    assert b[0, atts.index("Bangs")] == pytest.approx(0.25) and b[0, atts.index("Male")] == pytest.approx(1.0)


# ---- one step ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_batch():
    rng = np.random.default_rng(0)
    return (rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32),
            rng.integers(0, 2, (2, 13)).astype(np.float32))


@pytest.fixture(scope="module")
def stepped(tiny_batch):
    """A tiny model before and after one iteration (2 D updates + 1 G update) on a 2-image batch."""
    m = step.build(STGANConfig.tiny(n_d=2))
    before = ([w.numpy().copy() for w in m.G.trainable_weights],
              [w.numpy().copy() for w in m.D.trainable_weights], m.rng.state.numpy().copy())
    return m, before, step.train_step(m, tiny_batch)


def test_train_step_on_two_images(stepped):
    m, (g_before, d_before, _), out = stepped
    assert set(out) == {"loss/D", "loss/D_gp", "loss/D_wd", "loss/D_att",
                        "loss/G", "loss/G_adv", "loss/G_att", "loss/G_rec"}
    assert all(math.isfinite(v) for v in out.values())
    assert out["loss/G"] == pytest.approx(out["loss/G_adv"] + 10 * out["loss/G_att"] + 100 * out["loss/G_rec"],
                                          rel=1e-5)
    assert out["loss/D"] == pytest.approx(-out["loss/D_wd"] + 10 * out["loss/D_gp"] + out["loss/D_att"], rel=1e-5)
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(g_before, m.G.trainable_weights))
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(d_before, m.D.trainable_weights))
    assert int(m.d_opt.iterations.numpy()) == 2 and int(m.g_opt.iterations.numpy()) == 1


def test_the_step_draws_from_its_generator_only(stepped, tiny_batch):
    m, (_, _, rng_before), _ = stepped
    assert not np.array_equal(rng_before, m.rng.state.numpy())   # shuffles and GP alpha drawn from m.rng
    # from the same weights, optimizer slots and generator state the step repeats exactly: nothing
    # in it draws from TF's global RNG (stateful random ops would draw anew on the second call)
    state = m.G.weights + m.D.weights + m.g_opt.variables + m.d_opt.variables + [m.rng.state]
    saved = [v.numpy() for v in state]
    outs = []
    for _ in range(2):
        for v, value in zip(state, saved):
            v.assign(value)
        tf.random.uniform([3])  # the global stream moves on between the two
        outs.append(step.train_step(m, tiny_batch))
    assert outs[0] == outs[1]


def test_d_att_warmup_trains_the_attribute_classifier_alone(tiny_batch):
    m = step.build(STGANConfig.tiny(d_att_warmup=30))
    g_before = [w.numpy().copy() for w in m.G.trainable_weights]
    d_before = {v.path: v.numpy().copy() for v in m.D.trainable_variables}
    first, last = step.d_att_warmup(m, tiny_batch, 30)
    assert last < 0.5 * first                                   # the 2 images' attributes are learnt
    assert all(np.array_equal(b, w.numpy()) for b, w in zip(g_before, m.G.trainable_weights))
    changed = {v.path for v in m.D.trainable_variables if not np.array_equal(d_before[v.path], v.numpy())}
    assert changed == {p for p in d_before if "/Dadv/" not in p}  # trunk and Datt: yes; the critic head: no
    assert int(m.d_opt.iterations.numpy()) == 30 and int(m.g_opt.iterations.numpy()) == 0


def test_g_rec_warmup_trains_the_reconstruction_alone(tiny_batch):
    m = step.build(STGANConfig.tiny())
    d_before = [w.numpy().copy() for w in m.D.trainable_weights]
    first, last = step.g_rec_warmup(m, tiny_batch, 30)
    assert last < 0.9 * first                                   # G redraws the 2 images better
    assert all(np.array_equal(b, w.numpy()) for b, w in zip(d_before, m.D.trainable_weights))
    assert int(m.g_opt.iterations.numpy()) == 30 and int(m.d_opt.iterations.numpy()) == 0


def test_lr_schedule():
    cfg = STGANConfig.paper()
    assert step.lr_at(cfg, 99) == pytest.approx(2e-4) and step.lr_at(cfg, 100) == pytest.approx(2e-5)


def test_config_roles_presets_and_derived_values():
    from common_tools import runs

    assert STGANConfig.PRESETS == ("paper", "tiny", "demo", "long", "attgan")
    assert STGANConfig.preset("attgan").use_stu is False and STGANConfig.tiny().n_att == 13
    assert STGANConfig.paper().images_per_iteration == 32 * 6
    assert runs.field_role(STGANConfig, "enc_dim") == runs.ARCHITECTURE
    assert runs.field_role(STGANConfig, "lr") == runs.SCHEDULE
    docs = runs.field_docs(STGANConfig)
    assert all(f.name in docs for f in __import__("dataclasses").fields(STGANConfig))  # every field: --help
    with pytest.raises(UserError, match="enc_layers and dec_layers must be equal"):
        STGANConfig.tiny(dec_layers=4)
