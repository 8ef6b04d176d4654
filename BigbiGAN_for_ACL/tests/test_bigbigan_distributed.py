"""Data parallel BigBiGAN: 2 replicas under MirroredStrategy (the CPU split into 2 logical devices,
one subprocess) train to the weights one device reaches on the same global batch from the same
initial weights: G's conditional batch norm and E's batch norm synchronized, every spectral-norm
vector u equal to one device's, z drawn for the global batch and sliced.

The step runs eagerly (compile=False: the same maths; tracing it, twice, would cost ~30-45 s of
CPU here). Dropout is 0 here: the replicas' Dropout layers draw from copies of one seed state (see
bigbigan/step.py), which cannot equal one device's masks for the global batch.
(Multi-process groups, the launcher, chief-only checkpoints are tested once, on StarGAN / STGAN.)
"""

import os
import textwrap

import numpy as np
import pytest

from common_tools import testing

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LR = 2e-4                 # the tiny preset's Adam lr (passed to the script)
STEPS = 2                 # iterations of n_disc = 2 D steps + one G+E step

SCRIPT = textwrap.dedent('''
    import sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from common_tools import testing
    from common_tools.distribute import Distribution
    from bigbigan.config import BigBiGANConfig
    from bigbigan.train import make_step

    out, lr, steps = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    cfg = BigBiGANConfig.tiny().replace(n_disc=2, dropout=0.0, lr_d=lr, lr_ge=lr)
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    runs = {"one": Distribution("one"), "two": Distribution("mirrored", mirrored, replicas=2)}
    rng = np.random.default_rng(0)
    n = 2 * cfg.batch_size                                            # the global batch of 2 replicas
    x = rng.uniform(0, 1, (n, 32, 32, cfg.channels)).astype(np.float32)
    y = (np.arange(n) % 10).astype(np.int32)
    init, weights = None, {}
    for name, dist in runs.items():
        step = make_step(cfg, compile=False, dist=dist)       # eager: tracing costs ~30 s
        nets = {"G": step.G, "D": step.D, "E": step.E}
        init = testing.start_from(nets, init)                         # the same initial weights
        testing.record_weights(weights, "init", nets)
        for _ in range(steps):
            loss = step(x, y)
        testing.record_weights(weights, name, nets)
        for k, v in loss.items():
            weights[f"{name}/{k}"] = np.float32(v)
    np.savez(f"{out}/weights.npz", **weights)
''')


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("bigbigan_dist"))
    testing.run_generated_script(FOLDER, out, SCRIPT, LR, STEPS)
    return dict(np.load(os.path.join(out, "weights.npz")))


_split = testing.run_weights


def test_two_replicas_train_what_one_device_trains_on_the_global_batch(trained):
    """Equal within float tolerance. Adam's first step moves a weight by ~lr * sign(gradient), so
    where a gradient is ~0 (round-off level) the all-reduce's summation order can flip its sign:
    those few elements may differ by up to one step per update; all others agree."""
    one, two, init = _split(trained, "one"), _split(trained, "two"), _split(trained, "init")
    assert sorted(one) == sorted(two) and len(one) > 10
    testing.assert_close_to_single(two, one, "2 replicas", LR, updates=STEPS * 2,   # n_disc D updates per step
                                   slack=2.02, tol=1e-5, max_fraction=2e-3)   # a flipped sign: +lr vs -lr
    for net in ("G", "D", "E"):                                       # training moved them
        moved = max(float(np.max(np.abs(two[k] - init[k]))) for k in init if k.startswith(net + "/"))
        assert moved > LR / 2, f"{net} did not train"


def test_spectral_norm_vectors_and_batch_norm_moments_stay_as_one_device(trained):
    one, two, init = _split(trained, "one"), _split(trained, "two"), _split(trained, "init")
    stateful = [k for k in one if k.endswith(("sn_u", "moving_mean", "moving_variance"))]
    assert any(k.endswith("sn_u") for k in stateful) and any("cbn" in k for k in stateful)
    for k in stateful:
        assert not np.array_equal(two[k], init[k]), f"{k} was not updated"
        np.testing.assert_allclose(two[k], one[k], rtol=1e-3, atol=1e-5, err_msg=k)


def test_the_losses_are_global_batch_means(trained):
    keys = [k[len("one/"):] for k in trained if k.startswith("one/loss/")]
    assert {"loss/D", "loss/G", "loss/D_x", "loss/D_z", "loss/D_xz"} <= set(keys)
    for key in keys:
        assert float(trained[f"two/{key}"]) == pytest.approx(float(trained[f"one/{key}"]), rel=1e-3, abs=1e-4)
