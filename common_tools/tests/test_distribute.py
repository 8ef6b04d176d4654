"""common_tools.distribute, mostly in one process: the strategy choice from the environment, the batch
slice, the loss average, the Ascend HCCL path (with a stand-in npu_device: untested on hardware),
the chief-only checkpoints, and the driver's side of a group (chief-only files, the stop vote).
Real multi-process groups are tested in the model folders (test_*_distributed.py); here only one,
of plain all-reduces, whose worker freezes for longer than TF's default heartbeat timeout."""

import json
import os
import sys
import types

import numpy as np
import pytest

from common_tools import distribute, training
from common_tools.distribute import Distribution, choose, cluster_position, rank_env, tf_config
from common_tools.errors import UserError

TWO = json.dumps({"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 1}})


def test_auto_picks_by_the_environment(tmp_path):
    table = tmp_path / "rank_table.json"
    table.write_text("{}")
    ranks = {"RANK_TABLE_FILE": str(table), "RANK_SIZE": "8", "RANK_ID": "3", "DEVICE_ID": "3"}
    assert choose("auto", gpus=0, npu_open=False, env={}) == "one"
    assert choose("auto", gpus=2, npu_open=False, env={}) == "mirrored"
    assert choose("auto", gpus=2, npu_open=False, env={"TF_CONFIG": TWO}) == "multi_worker"
    assert choose("auto", gpus=0, npu_open=True, env=ranks) == "npu"
    assert choose("auto", gpus=0, npu_open=False, env=ranks) == "one"     # a rank table, no NPU
    assert choose("one", gpus=4, npu_open=False, env={"TF_CONFIG": TWO}) == "one"
    with pytest.raises(UserError, match="multi_worker needs TF_CONFIG.*common_tools.launch"):
        choose("multi_worker", gpus=0, npu_open=False, env={})
    with pytest.raises(UserError, match="unknown strategy 'ring'"):
        choose("ring", gpus=0, npu_open=False, env={})


def test_environment_errors_are_one_line(tmp_path):
    with pytest.raises(UserError, match="TF_CONFIG is not JSON"):
        tf_config({"TF_CONFIG": "{worker"})
    with pytest.raises(UserError, match="names no valid task"):
        tf_config({"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 4}})})
    with pytest.raises(UserError, match="DEVICE_ID not set"):
        rank_env({"RANK_SIZE": "2", "RANK_ID": "0", "RANK_TABLE_FILE": "x"})
    with pytest.raises(UserError, match="RANK_TABLE_FILE .* not found"):
        rank_env({"RANK_SIZE": "2", "RANK_ID": "0", "DEVICE_ID": "0", "RANK_TABLE_FILE": str(tmp_path / "no")})
    with pytest.raises(UserError, match="RANK_ID 2 is outside 0..1"):
        rank_env({"RANK_SIZE": "2", "RANK_ID": "2", "DEVICE_ID": "0", "RANK_TABLE_FILE": "x"})
    assert rank_env({"RANK_SIZE": "1"}) is None
    with_chief = {"cluster": {"chief": ["c:1"], "worker": ["w:1", "w:2"]}, "task": {"type": "worker", "index": 1}}
    assert cluster_position(with_chief) == (2, 3, False)
    assert cluster_position(json.loads(TWO)) == (1, 2, False)


def test_the_coordination_service_waits_a_minute_for_a_heartbeat():
    import inspect

    from tensorflow.python.eager import context

    two = distribute.coordination_service(json.loads(TWO))
    assert two == {"service_type": "standalone", "service_leader": "/job:worker/replica:0/task:0",
                   "heartbeat_timeout_in_ms": 60_000, "coordinated_jobs": [("worker", 2)]}
    with_chief = {"cluster": {"chief": ["c:1"], "worker": ["w:1", "w:2"]}, "task": {"type": "worker", "index": 0}}
    made = distribute.coordination_service(with_chief)
    assert made["service_leader"] == "/job:chief/replica:0/task:0"
    assert made["coordinated_jobs"] == [("chief", 1), ("worker", 2)]
    inspect.signature(context.Context.configure_coordination_service).bind(None, **made)  # TF's names
    assert distribute.coordination_service({"cluster": {"worker": ["w:1"], "ps": ["p:1"]},
                                            "task": {"type": "worker", "index": 0}}) == {}


STALLED = r'''
import os, signal, sys, time
from common_tools import distribute
import tensorflow as tf
dist = distribute.select_strategy("auto", stream=None)
reduce = tf.function(lambda: dist.strategy.run(
    lambda: tf.distribute.get_replica_context().all_reduce("sum", tf.constant(1.0))))
reduce()
if dist.worker_index == 1:                     # frozen for longer than TF's own 10 s heartbeat
    me = os.getpid()
    if os.fork() == 0:
        os.kill(me, signal.SIGSTOP); time.sleep(float(sys.argv[1])); os.kill(me, signal.SIGCONT)
        os._exit(0)
    time.sleep(1)
total = reduce()
os.write(1, f"sum {float(dist.strategy.experimental_local_results(total)[0])}\n".encode())  # one write: two workers share the pipe
'''


def test_a_group_outlives_a_worker_frozen_longer_than_tfs_default_heartbeat(tmp_path):
    # what aborted CI's 2-worker tests on a loaded 2-core host: a starved worker missed TF's 10 s
    from common_tools import testing
    from common_tools.launch import free_ports

    script = tmp_path / "stalled.py"
    script.write_text(STALLED)
    workers = ",".join(f"127.0.0.1:{p}" for p in free_ports(2))
    proc = testing.launch_group(os.path.dirname(os.path.dirname(__file__)), workers,
                                [sys.executable, str(script), "15"], grace=2)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    assert out.split() == ["sum", "2.0", "sum", "2.0"]


def test_average_is_the_global_batch_mean_and_local_is_the_replicas_slice():
    import tensorflow as tf

    per_example = tf.constant(np.arange(8, dtype=np.float32) ** 2)        # a global batch of 8
    dist = Distribution("npu", replicas=2, rank=1, npu=None)
    mine = dist.local(per_example)
    assert mine.numpy().tolist() == [16.0, 25.0, 36.0, 49.0]              # rows 4..7
    share = dist.average(tf.reduce_mean(mine))
    expected = tf.nn.compute_average_loss(mine, global_batch_size=8)
    assert float(share) == pytest.approx(float(expected))
    other = Distribution("npu", replicas=2, rank=0).average(tf.reduce_mean(per_example[:4]))
    assert float(share + other) == pytest.approx(float(tf.reduce_mean(per_example)))
    one = Distribution("one")
    assert one.local(per_example) is per_example and one.average(3.0) == 3.0
    assert one.global_batch(16) == 16 and dist.global_batch(16) == 32


class FakeNpu:
    """A stand-in for npu_device (the Ascend TF2 adapter): records the HCCL calls."""

    def __init__(self, size):
        self.calls = []
        self.distribute = types.SimpleNamespace(all_reduce=self.all_reduce, broadcast=self.broadcast)
        self.size = size

    def all_reduce(self, values, reduction):
        self.calls.append(("all_reduce", reduction, len(values)))
        return [v * self.size for v in values]                          # as if every rank sent v

    def broadcast(self, values, root_rank):
        self.calls.append(("broadcast", root_rank, len(values)))


def test_npu_path_sums_gradients_and_broadcasts_with_hccl(tmp_path, monkeypatch):
    import keras
    import tensorflow as tf

    table = tmp_path / "rank_table.json"
    table.write_text("{}")
    fake = FakeNpu(size=2)
    monkeypatch.setitem(__import__("sys").modules, "npu_device", fake)
    from common_tools import device

    monkeypatch.setitem(device._npu, "opened", True)                     # as if npu_device.open() ran
    monkeypatch.setattr(distribute, "_made", {})
    env = {"RANK_TABLE_FILE": str(table), "RANK_SIZE": "2", "RANK_ID": "1", "DEVICE_ID": "1"}
    dist = distribute.select_strategy("auto", stream=None, env=env)
    assert (dist.kind, dist.replicas, dist.rank, dist.is_chief) == ("npu", 2, 1, False)
    assert "2 NPUs over HCCL; this is worker 1" in dist.describe(4)
    v = tf.Variable([1.0, 2.0])
    opt = keras.optimizers.SGD(learning_rate=1.0)
    opt.build([v])
    dist.broadcast([v])
    dist.apply(opt, [tf.constant([0.5, 0.5])], [v])
    assert v.numpy().tolist() == [0.0, 1.0]                               # the summed gradient applied
    total = dist.sum({"loss/D": tf.constant(0.25)})
    assert float(total["loss/D"]) == 0.5
    assert dist.agree(False) is False and dist.agree(True) is True
    assert fake.calls[:3] == [("broadcast", 0, 1), ("all_reduce", "sum", 1), ("all_reduce", "sum", 1)]
    assert dist.worker(2).agree is not None and dist.worker(2).count == 2


def test_a_non_chief_keeper_writes_nothing_and_restores_the_chiefs(tmp_path):
    import tensorflow as tf

    from common_tools.checkpoint import CheckpointKeeper

    chief_v, other_v = tf.Variable([1.0, 2.0]), tf.Variable([0.0, 0.0])
    chief = CheckpointKeeper(tmp_path / "ckpt", w={"v": chief_v}, say=lambda m: None)
    other = CheckpointKeeper(tmp_path / "ckpt", w={"v": other_v}, chief=False, say=lambda m: None)
    assert other.save(1) == os.path.join(str(tmp_path / "ckpt"), "model-1")
    assert not (tmp_path / "ckpt").exists()                               # the throw-away save
    chief.save(3)
    (tmp_path / "ckpt" / "model-9_temp").mkdir()                          # the chief's to clean
    before = sorted(os.listdir(tmp_path / "ckpt"))
    assert other.restore() == 3 and other_v.numpy().tolist() == [1.0, 2.0]
    other.save(4)
    assert sorted(os.listdir(tmp_path / "ckpt")) == before                # untouched


class _Keeper:
    def __init__(self):
        self.saved = []

    def save(self, step):
        self.saved.append(step)
        return f"ckpt-{step}"

    def restore(self):
        return None

    @property
    def latest(self):
        return f"ckpt-{self.saved[-1]}" if self.saved else None


def test_a_non_chief_worker_writes_only_its_own_log_and_the_group_stops_together(tmp_path):
    keeper = _Keeper()
    votes = []

    def agree(flag):                  # another worker asks to stop after step 2
        votes.append(flag)
        return len(votes) >= 2

    def build(cfg, run):
        return training.Loop(step=lambda i: {"loss/D": 1.0 + i}, checkpointer=keeper, total_steps=5)

    worker = training.Worker(index=1, count=2, replicas=2, is_chief=False, agree=agree, note="strategy: x")
    with pytest.raises(training.TrainingInterrupted):
        training.train(_Cfg(), str(tmp_path), build, tensorboard=False, worker=worker)
    assert votes == [False, False] and keeper.saved == [2]
    assert sorted(os.listdir(tmp_path)) == ["workers"]                    # no config, log, summary
    log = (tmp_path / "workers" / "worker-1.log").read_text()
    assert "strategy: x" in log and "another worker's stop at step 2" in log
    assert [json.loads(line)["step"] for line in open(tmp_path / "workers" / "worker-1.jsonl")] == [1, 2]


from dataclasses import dataclass  # noqa: E402

from common_tools import runs  # noqa: E402


@dataclass(frozen=True)
class _Cfg(runs.Presets):
    lr: float = runs.sched(0.1)   # a field
