"""checkpoint: keep-N, exact resume (weights, Adam slots, step, RNG), names, errors, SIGKILL resume."""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from common_tools.checkpoint import (CheckpointKeeper, find_checkpoint,  # noqa: E402
                                     restore_for_inference)
from common_tools.errors import UserError  # noqa: E402
from common_tools.logging import read_jsonl  # noqa: E402


def _model_and_opt(units=4):
    # layers named: checkpoints key a model's variables by their path inside it
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units, name="dense")])
    opt = keras.optimizers.Adam(1e-2)
    opt.build(model.trainable_variables)
    return model, opt


def _train_step(model, opt, x):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(x) ** 2)
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))


def test_save_seven_keep_three(tmp_path):
    model, opt = _model_and_opt()
    keeper = CheckpointKeeper(tmp_path, max_to_keep=3, G=model, g_opt=opt)
    for step in range(1, 8):
        keeper.save(step)
    state = json.loads((tmp_path / "checkpoint_state.json").read_text())
    assert state == {"latest": "model-7", "all": ["model-5", "model-6", "model-7"], "step": 7}
    left = sorted(f for f in os.listdir(tmp_path) if f.startswith("model-"))
    assert {f.split(".")[0] for f in left} == {"model-5", "model-6", "model-7"}
    assert any(f.endswith(".rng.json") for f in left) and any(".data-" in f for f in left)
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model-7")
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]


def test_restore_gives_same_weights_slots_step_and_rng(tmp_path):
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    model, opt = _model_and_opt()
    gen = tf.random.Generator.from_seed(7)
    keeper = CheckpointKeeper(tmp_path / "checkpoint", G=model, g_opt=opt, rng=gen)
    assert keeper.restore() is None                      # nothing saved yet
    for _ in range(3):
        _train_step(model, opt, x)
    np.random.seed(1)
    random.seed(2)
    keeper.save(3)
    expect = (np.random.rand(), random.random(), gen.normal([2]).numpy())
    np.random.seed(99)
    random.seed(99)

    model2, opt2 = _model_and_opt()
    gen2 = tf.random.Generator.from_seed(123)
    keeper2 = CheckpointKeeper(tmp_path / "checkpoint", G=model2, g_opt=opt2, rng=gen2)
    assert keeper2.restore() == 3 and keeper2.step == 3
    for a, b in zip(model.get_weights(), model2.get_weights()):
        np.testing.assert_array_equal(a, b)
    slots = [v for v in opt2.variables if "momentum" in v.path or "velocity" in v.path]
    assert len(slots) == 4 and any(np.abs(v.numpy()).sum() > 0 for v in slots)
    for a, b in zip(opt.variables, opt2.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(opt2.iterations.numpy()) == 3
    got = (np.random.rand(), random.random(), gen2.normal([2]).numpy())
    assert got[0] == expect[0] and got[1] == expect[1]
    np.testing.assert_array_equal(got[2], expect[2])


def test_stgan_names_find_checkpoint_and_inference_restore(tmp_path):
    model, opt = _model_and_opt()
    keeper = CheckpointKeeper(tmp_path, max_to_keep=2, G=model, g_opt=opt)
    for i in (1, 2, 3):
        keeper.save(i * 10, name=f"Epoch_({i})_({i * 10}of30).ckpt")
    assert sorted(os.listdir(tmp_path))[0] == "Epoch_(2)_(20of30).ckpt.data-00000-of-00001"
    latest = str(tmp_path / "Epoch_(3)_(30of30).ckpt")
    assert find_checkpoint(tmp_path) == latest
    assert find_checkpoint(latest + ".index") == latest
    assert find_checkpoint("Epoch_(2)_(20of30).ckpt", base_dir=tmp_path).endswith("(20of30).ckpt")
    with pytest.raises(UserError, match="checkpoint not found: model-5"):
        find_checkpoint("model-5", base_dir=tmp_path)
    with pytest.raises(UserError, match="no checkpoint in folder"):
        find_checkpoint(tmp_path / "..")
    g_only, _ = _model_and_opt()
    assert restore_for_inference(tmp_path, G=g_only) == 30     # optimizer in the file is ignored
    np.testing.assert_array_equal(g_only.get_weights()[0], model.get_weights()[0])
    assert keeper.restore("Epoch_(2)_(20of30).ckpt") == 20


def test_mismatched_checkpoint_is_one_clear_line(tmp_path):
    model, opt = _model_and_opt(units=4)
    CheckpointKeeper(tmp_path, G=model, g_opt=opt).save(5)
    wide, wide_opt = _model_and_opt(units=5)
    with pytest.raises(UserError) as err:
        CheckpointKeeper(tmp_path, G=wide, g_opt=wide_opt).restore()
    msg = str(err.value)
    assert "model-5" in msg and "does not match" in msg and "\n" not in msg and len(msg) < 400
    deeper = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="dense"),
                               keras.layers.Dense(2, name="out")])
    with pytest.raises(UserError, match="does not match"):
        restore_for_inference(tmp_path, G=deeper)
    (tmp_path / "model-5.data-00000-of-00001").write_bytes(b"garbage")
    with pytest.raises(UserError, match="model-5"):
        CheckpointKeeper(tmp_path, G=model, g_opt=opt).restore()


TRAIN_SCRIPT = """
import os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, keras, tensorflow as tf
from common_tools.checkpoint import CheckpointKeeper
from common_tools.logging import StepLogger

run_dir, total, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
opt = keras.optimizers.Adam(1e-2)
opt.build(model.trainable_variables)
keeper = CheckpointKeeper(os.path.join(run_dir, "checkpoint"), max_to_keep=3, G=model, opt=opt)
start = keeper.restore() or 0
print("start", start, flush=True)
log = StepLogger(run_dir, total_steps=total, start_step=start, stream=None, tensorboard=False)
for step in range(start + 1, total + 1):
    x = np.random.normal(size=(4, 3)).astype("float32")      # global numpy RNG: resumed too
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x) - 1.0) ** 2)
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    log.log(step, images=4, **{"loss/G": loss})
    if step % 2 == 0:
        keeper.save(step)
    time.sleep(pause)
log.close()
"""


def _steps_and_losses(path):
    return {r["step"]: r["loss/G"] for r in read_jsonl(path)} if os.path.exists(path) else {0: 0}


@pytest.mark.slow
def test_sigkill_then_rerun_resumes(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(TRAIN_SCRIPT))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0")
    total, run = 10, tmp_path / "run"
    proc = subprocess.Popen([sys.executable, str(script), str(run), str(total), "0.2"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    state, log = run / "checkpoint" / "checkpoint_state.json", run / "train_log.jsonl"
    deadline = time.time() + 90
    try:
        # kill once a step AFTER the 2nd checkpoint is logged, so the rerun must redo that step
        while time.time() < deadline:
            if state.exists() and json.loads(state.read_text())["step"] >= 4 and \
                    max(_steps_and_losses(log)) > json.loads(state.read_text())["step"]:
                break
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.02)
        else:
            pytest.fail("no second checkpoint within 90 s")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = _steps_and_losses(log)
    killed_at = max(before)
    assert killed_at < total

    again = subprocess.run([sys.executable, str(script), str(run), str(total), "0"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    start = int(again.stdout.split()[1])
    assert 4 <= start < killed_at and start % 2 == 0
    steps = [json.loads(line)["step"] for line in log.open()]
    assert steps == list(range(1, total + 1))             # continues, no gaps, no duplicates
    # the redone steps see the same weights, Adam slots and numpy batches: same losses
    after = _steps_and_losses(log)
    redone = range(start + 1, killed_at + 1)
    np.testing.assert_allclose([after[s] for s in redone], [before[s] for s in redone], rtol=1e-6)


def _list_model():
    class ListModel(keras.Model):
        def __init__(self):
            super().__init__(name="list_model")
            self.blocks = [keras.layers.Dense(3, name="b0"), keras.layers.Dense(4, name="b1")]
            self.head = keras.layers.Dense(2, name="head")

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return self.head(x)

    model = ListModel()
    model(tf.zeros([1, 5]))
    return model


def test_keras_layers_in_plain_lists_are_saved_and_restored(tmp_path):
    # tf.train.Checkpoint alone would save only head's 2 of the 6 variables
    model = _list_model()
    keeper = CheckpointKeeper(tmp_path / "ck", G=model)
    assert keeper.count_variables() == 6 + 1          # every weight, plus the step counter
    keeper.save(1)
    fresh = _list_model()
    assert any(not np.array_equal(a, b) for a, b in zip(model.get_weights(), fresh.get_weights()))
    assert restore_for_inference(tmp_path / "ck", G=fresh) == 1
    for a, b in zip(model.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)
    reader = tf.train.load_checkpoint(str(tmp_path / "ck" / "model-1"))
    keys = {k.split("/")[1].replace("..", ".") for k in reader.get_variable_to_shape_map() if k.startswith("G/")}
    assert {"b0.kernel", "b0.bias", "b1.kernel", "b1.bias", "head.kernel", "head.bias"} <= keys


def test_damaged_newest_falls_back_to_older_intact_one(tmp_path):
    model, opt = _model_and_opt()
    keeper = CheckpointKeeper(tmp_path, G=model, g_opt=opt)
    keeper.save(1)
    w1 = model.get_weights()
    model.layers[0].kernel.assign(model.layers[0].kernel + 1.0)
    keeper.save(2)
    (tmp_path / "model-2.data-00000-of-00001").write_bytes(b"garbage")
    said = []
    fresh, fresh_opt = _model_and_opt()
    assert CheckpointKeeper(tmp_path, G=fresh, g_opt=fresh_opt, say=said.append).restore() == 1
    np.testing.assert_array_equal(fresh.get_weights()[0], w1[0])
    assert len(said) == 1 and "model-2" in said[0] and "model-1" in said[0]


def test_kill_during_save_leftovers(tmp_path):
    model, opt = _model_and_opt()
    # a kill during the very first save: only TF's temp folder and a torn index are there
    (tmp_path / "model-5_temp").mkdir(parents=True)
    (tmp_path / "model-5_temp" / "part-00000-of-00001.index").write_bytes(b"torn")
    said = []
    keeper = CheckpointKeeper(tmp_path, G=model, g_opt=opt, say=said.append)
    assert keeper.restore() is None
    assert not (tmp_path / "model-5_temp").exists()
    assert len(said) == 1 and "incomplete" in said[0] and "step 0" in said[0]
    # with a good checkpoint beside the leftovers, the good one is used and the temp folder goes
    keeper.save(3)
    (tmp_path / "model-6_temp").mkdir()
    assert CheckpointKeeper(tmp_path, G=model, g_opt=opt, say=said.append).restore() == 3
    assert not (tmp_path / "model-6_temp").exists() and len(said) == 1


def test_failed_restore_leaves_no_warning_flood(tmp_path):
    script = textwrap.dedent(f"""
        import keras
        from common_tools.checkpoint import CheckpointKeeper
        from common_tools.errors import UserError
        m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="d")])
        CheckpointKeeper({str(tmp_path)!r}, G=m).save(1)
        wide = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5, name="d")])
        try:
            CheckpointKeeper({str(tmp_path)!r}, G=wide).restore()
        except UserError as exc:
            print("error:", exc)
        """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert "does not match" in proc.stdout
    assert "could not be found" not in proc.stderr, proc.stderr[-2000:]


def test_failed_inference_restore_leaves_no_warning_flood(tmp_path):
    """A shape mismatch raised inside read() (no status to mark partial) while the checkpoint holds
    more than the restored model: one error, not a warning per unrestored value at exit."""
    script = textwrap.dedent(f"""
        import keras
        from common_tools.checkpoint import CheckpointKeeper, restore_for_inference
        from common_tools.errors import UserError
        def net(width, name):
            m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(width, name="d")], name=name)
            return m
        CheckpointKeeper({str(tmp_path)!r}, G=net(4, "G"), D=net(2, "D")).save(1)
        try:
            restore_for_inference({str(tmp_path)!r}, G=net(5, "G"))
        except UserError as exc:
            print("error:", exc)
        """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert "does not match" in proc.stdout
    assert "could not be found" not in proc.stderr and "unrestored" not in proc.stderr, proc.stderr[-2000:]
