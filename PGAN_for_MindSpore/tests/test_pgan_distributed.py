"""Data-parallel training (pgan/distributed.py) with real processes, and the two launchers.

The msrun job (one per module, ``job``): ``scripts/run_distributed_msrun.sh`` starts 2 CPU workers
with msrun on 127.0.0.1 (a free port) on a one-scale 4x4 config with per-device batch b = 4 and
a checkpoint after every step. Once rank 0 has written step 1, worker 1 is killed with SIGKILL.

Why "one step of 2 x b equals one single-process step of 2b" is a fair comparison here:
- data: rank r reads block r of the step's stream positions (ShardedData), i.e. the images
  [r*b, (r+1)*b) of the batch one process reads with 2b;
- random draws: each rank draws z (critic), the penalty's mixing coefficients e and z (G) for
  the global batch 2b from the same seeded generator and keeps its rows [r*b, (r+1)*b): the
  epsilon of every image is the one the single process draws for it;
- minibatch stddev: groups of 2 consecutive images inside a replica (stddev_group 2); with b = 4
  each rank holds exactly two of the single process's four groups, so the statistic is the same
  per image (with b odd it would not be, and the comparison would be unfair);
- micro-batches: the workers run with micro_batch 2 (each rank's update summed over two chunks of
  one group each, every chunk's gradients all-reduced), the single process with its whole batch:
  the comparison covers the chunked path under data parallelism too;
- gradients: the losses are sums over the batch; the ranks' gradients are averaged
  (gradients_mean=True) and multiplied by the rank count, i.e. summed, as one process's are.
The first Adam step moves each weight by about lr * sign(grad) whatever the gradient's size, so
comparing weights alone would miss a factor of 2; the test also compares the logged global
losses and gradient norms of step 1 with the single process's (they would differ by 2x with a
plain mean, and differ at all with wrong shards or draws).

The rank-table launcher (Ascend, HCCL) cannot run here: it is run with a stand-in interpreter
that records each worker's environment and command line.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from common_tools.logging import read_jsonl

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MSRUN_SCRIPT = os.path.join(FOLDER, "scripts", "run_distributed_msrun.sh")
TABLE_SCRIPT = os.path.join(FOLDER, "scripts", "run_distributed_train.sh")
PER_DEVICE_BATCH = 4
START_TIMEOUT = 240     # seconds for msrun to start 2 workers and run step 1 on a loaded 2-core CPU
KILL_BOUND = 30         # seconds from the SIGKILL to the launcher's exit (msrun alone: MS_NODE_TIMEOUT + ~10 s)

DP_YAML = """\
# one 4x4 scale that runs until it is killed, a checkpoint after every step
scales: [4]
depth: [8]
latent_dim: 8
num_batch: [100000]
alpha_jumps: [0]
alpha_size_jumps: [1]
batch_size: 4
stddev_group: 2
micro_batch: 2
model_save_step: 1
max_to_keep: 100000
log_every: 1
conv_form: native
sample_every: 0
"""


def msrun_path():
    here = os.path.join(os.path.dirname(sys.executable), "msrun")
    return here if os.access(here, os.X_OK) else shutil.which("msrun")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_pid(log_dir, rank):
    path = os.path.join(log_dir, f"worker_{rank}.log")
    if not os.path.isfile(path):
        return None
    for line in open(path, encoding="utf-8", errors="replace"):
        if line.startswith(f"distributed: rank {rank} of "):
            return int(line.rsplit("pid", 1)[1])
    return None


def alive(pid) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of msrun counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _params(path):
    from common_tools.ms_checkpoint import read_checkpoint

    return {k: v.asnumpy().copy() for k, v in read_checkpoint(path).items()}


@pytest.fixture(scope="module")
def job(tmp_path_factory, faces):
    """Run the 2-worker msrun job, snapshot step 1, SIGKILL worker 1, wait for the launcher."""
    if msrun_path() is None:
        pytest.fail(f"msrun not found next to {sys.executable} or on PATH: the distributed tests need "
                    "MindSpore's launcher (it ships with mindspore >= 2.3)")
    root = tmp_path_factory.mktemp("dp")
    config, run, logs = root / "dp.yaml", root / "run", root / "logs"
    config.write_text(DP_YAML)
    env = dict(os.environ, LOG_DIR=str(logs), MASTER_PORT=str(free_port()), PYTHON=sys.executable)
    proc = subprocess.Popen(["bash", MSRUN_SCRIPT, faces, str(config), "2", "--ckpt_save_dir", str(run)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pids = []
    try:
        manifest = run / "checkpoints" / "1.manifest.json"
        deadline = time.time() + START_TIMEOUT
        while not manifest.exists():
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"the msrun job ended before step 1 (exit {proc.returncode}): {out}{err}")
            if time.time() > deadline:
                pytest.fail(f"no checkpoint of step 1 after {START_TIMEOUT} s (logs in {logs})")
            time.sleep(0.2)
        snapshot = root / "step1"      # copied now, read after the kill (no MindSpore import on the way)
        snapshot.mkdir()
        for key in ("G", "D", "AvG"):
            shutil.copy(run / "checkpoints" / f"{key}_1.ckpt", snapshot / f"{key}_1.ckpt")
        shutil.copy(run / "train_log.jsonl", snapshot / "train_log.jsonl")
        pids = [worker_pid(logs, 0), worker_pid(logs, 1)]
        assert None not in pids, f"a worker did not report its pid: {pids}"
        assert proc.poll() is None, "the job should still be running (100000 steps)"
        os.kill(pids[1], signal.SIGKILL)
        killed_at = time.time()
        try:
            out, err = proc.communicate(timeout=KILL_BOUND)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the launcher did not exit within {KILL_BOUND} s of worker 1's death")
        seconds = time.time() - killed_at
        step1 = {k: _params(snapshot / f"{k}_1.ckpt") for k in ("G", "D", "AvG")}
        record = read_jsonl(str(snapshot / "train_log.jsonl"))[0]
        yield {"run": run, "logs": logs, "step1": step1, "record": record, "pids": pids, "rc": proc.returncode,
               "out": out, "err": err, "seconds": seconds, "config": config}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        for pid in pids:
            if pid and alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def single_process(job, faces):
    """One single-process step with batch 2b on the same config and data (GRAPH_MODE)."""
    import mindspore as ms

    from pgan import train as pgan_train
    from pgan.config import from_yaml
    from pgan.dataset import ImageFolder

    previous = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        cfg = from_yaml(str(job["config"]))[0].replace(batch_size=2 * PER_DEVICE_BATCH, micro_batch=0)
        ms.set_seed(cfg.seed)
        progress = pgan_train.Progress(cfg)
        data = ImageFolder(faces, cfg.crop_cx, cfg.crop_cy, cfg.crop_size, seed=cfg.seed)
        ph = cfg.phase(0)
        scalars = progress.step(data.batch(ph.images_before, ph.batch_size, ph.resolution), ph.alpha)
        nets = {k: {n: p.asnumpy().copy() for n, p in net.parameters_and_names()}
                for k, net in (("G", progress.G), ("D", progress.D), ("AvG", progress.avg_G))}
    finally:
        ms.set_context(mode=previous)
    return scalars, nets


def test_two_ranks_of_batch_b_equal_one_process_of_batch_2b(job, single_process):
    scalars, nets = single_process
    for key in ("G", "D", "AvG"):
        got, want = job["step1"][key], nets[key]
        assert set(got) == set(want), key
        for name in want:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=2e-6, err_msg=f"{key} {name}")
    record = job["record"]
    assert record["step"] == 1
    for name in ("loss/D", "loss/D_gp", "loss/G", "grad_norm/D", "grad_norm/G"):
        assert record[name] == pytest.approx(scalars[name], rel=2e-5, abs=1e-6), name


def test_rank_0_writes_once_and_every_rank_logs(job):
    run, logs = job["run"], job["logs"]
    assert sorted(os.listdir(run / "workers")) == ["worker-0.log", "worker-1.jsonl", "worker-1.log"]
    assert "data parallel (msrun): rank 1 of 2; global batch 4 x 2 = 8" in (run / "workers" / "worker-1.log").read_text()
    assert not [d for d, _, files in os.walk(run) if any(f.endswith(".ckpt") for f in files)
                and os.path.abspath(d) != os.path.abspath(run / "checkpoints")]
    states = json.loads((run / "checkpoints" / "1.manifest.json").read_text())["states"]
    assert states["progress"] == {"num_scales": 1}
    for rank in (0, 1):
        text = (logs / f"worker_{rank}.log").read_text(errors="replace")
        assert f"distributed: rank {rank} of 2 (msrun, CPU)" in text
        assert f"shard {rank} of 2" in text


def test_a_killed_worker_stops_the_group_with_one_line(job):
    assert job["rc"] == 1
    errors = [line for line in job["err"].splitlines() if line.startswith("error:")]
    assert errors == [f"error: worker 1 (pid {job['pids'][1]}) was killed by signal 9; msrun stopped the "
                      f"other workers; logs: {job['logs']}/worker_1.log"], job["err"]
    assert "Traceback" not in job["err"] + job["out"]
    assert not alive(job["pids"][0]), "rank 0 outlived the job"
    assert job["seconds"] < KILL_BOUND


def test_launcher_without_msrun_says_so(tmp_path, faces):
    env = dict(os.environ, MSRUN=str(tmp_path / "no-msrun"), LOG_DIR=str(tmp_path / "logs"))
    r = subprocess.run(["bash", MSRUN_SCRIPT, faces, str(tmp_path / "c.yaml"), "2"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: msrun not found (next to ")
    assert not (tmp_path / "logs").exists()


# ---- sharding and fault translation (no cluster) ---------------------------------------------------

def test_shards_are_mindspore_dataset_shards_over_blocks_of_one_batch():
    """Rank r at step i reads block i*N + r of the stream (blocks of b positions): what
    mindspore.dataset gives shard r of N over those blocks (num_shards / shard_id)."""
    import mindspore.dataset as ds

    from pgan.distributed import Cluster, ShardedData

    class Positions:
        def batch(self, start, count, size, stride=None):
            assert stride == n * count       # where the rank's next batch starts: its pipeline reads on
            return list(range(start, start + count))

    n, b, steps = 3, 4, 5
    for rank in range(n):
        shard = ShardedData(Positions(), Cluster(rank, n, "msrun"))
        mine = [shard.batch(i * b, b, 4) for i in range(steps)]      # images_before = i * b
        blocks = ds.NumpySlicesDataset(np.arange(steps * n), column_names=["block"], shuffle=False,
                                       num_shards=n, shard_id=rank)
        want = [list(range(int(x["block"]) * b, (int(x["block"]) + 1) * b))
                for x in blocks.create_dict_iterator(output_numpy=True)]
        assert mine == want
    together = sorted(p for rank in range(n) for p in ShardedData(Positions(), Cluster(rank, n, "msrun")).batch(8, b, 4))
    assert together == list(range(8 * n, 8 * n + n * b))   # = one process's batch of n*b at the same step


def test_a_failed_collective_is_one_line():
    from pgan.distributed import Cluster, collective_failure, is_collective_failure

    exc = RuntimeError("Launch kernel failed, name:Default/AllReduce-op0\n\n----\n- C++ Call Stack: ...")
    assert is_collective_failure(exc) and not is_collective_failure(RuntimeError("shape mismatch"))
    message = str(collective_failure(exc, Cluster(0, 2, "msrun")))
    assert "\n" not in message and message.startswith("rank 0 of 2: a collective operation failed (Launch kernel")


# ---- the Ascend rank-table launcher, with a stand-in interpreter ------------------------------------

STANDIN = """\
#!/bin/bash
# stand-in for python: records what the launcher gave this worker, then behaves as STANDIN_MODE says
echo "ENV RANK_TABLE_FILE=$RANK_TABLE_FILE RANK_SIZE=$RANK_SIZE RANK_ID=$RANK_ID DEVICE_ID=$DEVICE_ID DEVICE_NUM=$DEVICE_NUM HCCL_EXEC_TIMEOUT=$HCCL_EXEC_TIMEOUT"
echo "CWD $PWD"
echo "ARGS $*"
if [ "${STANDIN_FAIL_RANK:-}" = "$RANK_ID" ]; then sleep 1; echo "error: rank $RANK_ID: boom"; exit 3; fi
if [ -n "${STANDIN_FAIL_RANK:-}" ]; then trap 'echo "got SIGTERM"; exit 143' TERM; sleep 60 & wait; fi
exit 0
"""


def _table(path, devices):
    path.write_text(json.dumps({"version": "1.0", "server_count": "1", "status": "completed", "server_list": [
        {"server_id": "10.0.0.1", "host_nic_ip": "reserve", "device": [
            {"device_id": str(d), "device_ip": f"192.168.100.{d}", "rank_id": str(r)} for r, d in enumerate(devices)]}]}))
    return path


@pytest.fixture
def standin(tmp_path):
    path = tmp_path / "python-standin"
    path.write_text(STANDIN)
    path.chmod(0o755)
    return path


def _run_table(tmp_path, standin, table, **env):
    full = dict(os.environ, PYTHON=str(standin), GRACE="5", **env)
    return subprocess.run(["bash", TABLE_SCRIPT, "data", str(table), "cfg.yaml", "--ckpt_save_dir", "out"],
                          cwd=tmp_path, env=full, capture_output=True, text=True, timeout=60)


def test_rank_table_launcher_builds_each_devices_environment(tmp_path, standin):
    table = _table(tmp_path / "hccl_2p.json", [4, 5])
    r = _run_table(tmp_path, standin, table)
    assert r.returncode == 0, r.stderr
    for rank, device in ((0, 4), (1, 5)):
        lines = (tmp_path / f"LOG{rank}" / "log_distribute").read_text().splitlines()
        assert lines[0] == f"start training for rank {rank}, device {device}"
        assert lines[1] == (f"ENV RANK_TABLE_FILE={table} RANK_SIZE=2 RANK_ID={rank} DEVICE_ID={device} "
                            "DEVICE_NUM=2 HCCL_EXEC_TIMEOUT=600")
        assert lines[2] == f"CWD {FOLDER}"
        assert lines[3] == (f"ARGS train.py --train_data_path {tmp_path}/data --config_path {tmp_path}/cfg.yaml "
                            f"--device_id {device} --ckpt_save_dir out")
        assert f"RANK_ID={rank}\n" in (tmp_path / f"LOG{rank}" / "env.log").read_text()


def test_rank_table_launcher_stops_the_group_when_a_rank_fails(tmp_path, standin):
    table = _table(tmp_path / "hccl_3p.json", [0, 1, 2])
    t0 = time.time()
    r = _run_table(tmp_path, standin, table, STANDIN_FAIL_RANK="1")
    assert r.returncode == 1
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: rank 1 (device 1, pid ")
    assert errors[0].endswith(f"exited with code 3: rank 1: boom; stopping the other workers; "
                              f"its log: {tmp_path}/LOG1/log_distribute")
    for rank in (0, 2):
        assert "got SIGTERM" in (tmp_path / f"LOG{rank}" / "log_distribute").read_text()
    assert time.time() - t0 < 30


def test_rank_table_launcher_refuses_a_bad_table(tmp_path, standin):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"server_list": [{"device": [{"device_id": "0"}]}]}))
    r = _run_table(tmp_path, standin, bad)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"error: rank table {bad}: a device entry lacks a numeric device_id / rank_id (KeyError('rank_id'))"]
    assert not (tmp_path / "LOG0").exists()
    r = _run_table(tmp_path, standin, tmp_path / "missing.json")
    assert r.returncode == 2 and r.stderr.startswith(f"error: rank table {tmp_path}/missing.json not found")
