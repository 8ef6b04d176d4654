"""Data-parallel StarGAN with real processes over 127.0.0.1 (MultiWorkerMirroredStrategy, gRPC).

One module-scoped sequence, shared by every assertion (each TF process costs ~10 s to start):
1. at once: a 2-worker group (``python -m common_tools.launch``, per-replica batch 2) and one
   process on the same global batch (4), both dumping G's and D's weights after every step; worker 1
   kills itself (SIGKILL) when step 4 starts;
2. the same training run again through ``main.py`` (the card's entry script) under the launcher:
   it resumes the group from the chief's last checkpoint (step 3) and ends at step 5.
The training images are flipped as in every run (``celeba.make_dataset``'s flip is stateless,
seeded: every worker and the single process see the same flipped global batch).
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from common_tools.launch import free_ports
from common_tools.logging import read_jsonl

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS, DIE_AT, GRACE = 5, 3, 4.0          # worker 1 dies at the start of step DIE_AT + 1

WORKER = r'''
import json, os, signal, sys
sys.path.insert(0, {folder!r})
import numpy as np
from common_tools import training
from common_tools.distribute import select_strategy
from stargan import train as stargan_train
from stargan.config import StarGANConfig
assert stargan_train.data.PREPROCESS.flip

run_dir, dump, images, attrs, batch, die_at = sys.argv[1:7]
index = json.loads(os.environ.get("TF_CONFIG") or '{{"task": {{"index": 0}}}}')["task"]["index"]
cfg = StarGANConfig.tiny().replace(batch_size=int(batch), training_iterations={steps},
                                   checkpoint_steps=1, save_steps=1000)
dist = select_strategy("auto", stream=None)
held = {{}}

def build(cfg, run):
    loop = stargan_train.build(cfg, run, images, attrs, dist=dist)
    held["keeper"] = loop.checkpointer
    return loop

def hook(step_fn, i):
    if index == 1 and i == int(die_at):
        open(os.path.join(dump, "died"), "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    out = step_fn(i)
    t = held["keeper"].trackables
    np.savez(os.path.join(dump, f"w{{index}}-{{i + 1}}.npz"),
             **{{"G." + v.path: v.numpy() for v in t["G"].weights}},
             **{{"D." + v.path: v.numpy() for v in t["D"].weights}})
    return out

training.train(cfg, run_dir, build, step_hook=hook, tensorboard=False,
               worker=dist.worker(cfg.batch_size))
'''


def _env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", TF_NUM_INTRAOP_THREADS="1",
                TF_NUM_INTEROP_THREADS="2", OMP_NUM_THREADS="1")


def _launch(workers, command, **kw):
    return subprocess.Popen([sys.executable, "-m", "common_tools.launch", "--workers", workers,
                             "--grace", str(GRACE), "--", *command], cwd=FOLDER, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.fixture(scope="module")
def group(tmp_path_factory, faces):
    tmp = tmp_path_factory.mktemp("dist")
    script = tmp / "worker.py"
    script.write_text(WORKER.format(folder=FOLDER, steps=STEPS))
    run, single, dump = tmp / "group", tmp / "single", tmp / "dump"
    dump_single = tmp / "dump_single"
    dump.mkdir(), dump_single.mkdir()
    workers = ",".join(f"127.0.0.1:{p}" for p in free_ports(2))
    data = [faces["images"], faces["attrs"]]
    first = _launch(workers, [sys.executable, str(script), str(run), str(dump), *data, "2", str(DIE_AT)])
    one = subprocess.Popen([sys.executable, str(script), str(single), str(dump_single), *data, "4", "-1"],
                           cwd=FOLDER, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out1, err1 = first.communicate(timeout=240)
    t_end = time.time()
    one_out, one_err = one.communicate(timeout=240)
    assert one.returncode == 0, one_err[-3000:]
    died = os.path.getmtime(dump / "died") if (dump / "died").exists() else None
    again = _launch(workers, [sys.executable, "main.py", "--phase", "train", "--preset", "tiny",
                              "--image_root", faces["images"], "--metadata_path", faces["attrs"],
                              "--output_dir", str(run), "--batch_size", "2", "--training_iterations",
                              str(STEPS), "--checkpoint_steps", "1", "--save_steps", "1000",
                              "--device", "cpu", "--strategy", "multi_worker"])
    out2, err2 = again.communicate(timeout=240)
    return {"run": str(run), "single": str(single), "dump": str(dump), "dump_single": str(dump_single),
            "first": (first.returncode, err1, t_end, died), "again": (again.returncode, err2)}


LR = 1e-4


def _assert_close(got, ref, step):
    """Equal within float tolerance. Adam's first step moves a weight by ~lr * sign(gradient), so
    where a gradient is ~0 (round-off level), the summation order of the all-reduce can flip its
    sign: those few elements may differ by up to one step (lr); all others agree to 1e-6."""
    diffs = np.concatenate([np.abs(got[k] - ref[k]).ravel() for k in ref])
    assert diffs.max() < LR, f"step {step}: 2 workers vs one process differ by {diffs.max()}"
    assert np.mean(diffs > 1e-6) < 1e-3, f"step {step}: {np.mean(diffs > 1e-6):.2%} of the weights differ"


def _weights(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def test_workers_hold_identical_weights_equal_to_one_process_on_the_global_batch(group):
    assert os.path.isfile(os.path.join(group["dump"], f"w1-{DIE_AT}.npz")), group["first"][1][-3000:]
    for step in range(1, DIE_AT + 1):
        w0 = _weights(os.path.join(group["dump"], f"w0-{step}.npz"))
        w1 = _weights(os.path.join(group["dump"], f"w1-{step}.npz"))
        ref = _weights(os.path.join(group["dump_single"], f"w0-{step}.npz"))
        assert sorted(w0) == sorted(w1) == sorted(ref) and len(w0) > 10
        for key in w0:
            assert np.array_equal(w0[key], w1[key]), f"step {step}: workers differ in {key}"
        _assert_close(w0, ref, step)
    moved = max(float(np.max(np.abs(_weights(os.path.join(group["dump"], "w0-1.npz"))[k] -
                                    _weights(os.path.join(group["dump"], f"w0-{DIE_AT}.npz"))[k])))
                for k in w0)
    assert moved > 5e-5                                   # training did change the weights


def test_logged_losses_are_global_batch_means(group):
    chief = {r["step"]: r for r in read_jsonl(os.path.join(group["run"], "train_log.jsonl"))}
    single = {r["step"]: r for r in read_jsonl(os.path.join(group["single"], "train_log.jsonl"))}
    for step in range(1, DIE_AT + 1):
        for key in ("loss/D", "loss/D_gp", "loss/D_cls"):
            assert chief[step][key] == pytest.approx(single[step][key], rel=1e-4, abs=1e-5), (step, key)
    assert chief[2]["loss/G"] == pytest.approx(single[2]["loss/G"], rel=1e-4)
    assert chief[STEPS]["images"] == 4 if "images" in chief[STEPS] else True


def test_a_killed_worker_stops_the_group_with_one_line(group):
    code, err, t_end, died = group["first"]
    assert code != 0 and died is not None
    lines = [line for line in err.splitlines() if line.startswith("launch:")]
    assert len(lines) == 1 and "worker 1 (127.0.0.1:" in lines[0] and "killed by SIGKILL" in lines[0], err[-2000:]
    assert t_end - died < GRACE + 10, f"the group took {t_end - died:.1f} s to stop"


def test_rerun_resumes_the_group_from_the_chiefs_checkpoint(group):
    code, err = group["again"]
    assert code == 0, err[-3000:]
    assert f"resumed from {os.path.join(group['run'], 'checkpoints', f'model-{DIE_AT}')} at step {DIE_AT}" in err
    other = open(os.path.join(group["run"], "workers", "worker-1.log")).read()
    assert f"at step {DIE_AT}" in other and "this is worker 1" in other
    assert "global batch = 2 per replica x 2 replicas = 4" in err
    steps = [r["step"] for r in read_jsonl(os.path.join(group["run"], "train_log.jsonl"))]
    assert steps == list(range(1, STEPS + 1))            # no gap, no duplicate across the kill
    # only the chief writes checkpoints (a resumed run reseeds its data order with the start
    # step, so its steps 4-5 are not compared with an uninterrupted process)
    assert os.path.isfile(os.path.join(group["run"], "checkpoints", f"model-{STEPS}.index"))
    summary = json.load(open(os.path.join(group["run"], "run_summary.json")))
    assert summary["start"] == DIE_AT and summary["end"] == STEPS


def _main_py():
    import importlib.util

    spec = importlib.util.spec_from_file_location("stargan_main_py", os.path.join(FOLDER, "main.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_strategy_flag_reaches_train_and_a_bad_value_is_one_line(faces, tmp_path, monkeypatch, capsys):
    """main.py passes --strategy to train() (a stand-in: no TensorFlow, no training); a value
    outside auto|one|mirrored|multi_worker is one error line."""
    import types

    main, seen = _main_py(), {}
    monkeypatch.setattr(main, "select_device", lambda *a, **kw: "cpu")     # no device side effects
    monkeypatch.setitem(sys.modules, "stargan.train", types.SimpleNamespace(
        train=lambda *a, **kw: seen.update(kw) or {"start": 0, "end": 0, "checkpoint": None}))
    base = ["--phase", "train", "--preset", "tiny", "--image_root", faces["images"],
            "--metadata_path", faces["attrs"], "--output_dir", str(tmp_path / "run"), "--device", "cpu"]
    assert main.main(base + ["--strategy", "one"]) == 0 and seen["strategy"] == "one"
    assert main.build_parser().parse_args(base).strategy == "auto"
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main.build_parser().parse_args(base + ["--strategy", "many"])
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert exc.value.code == 2 and len(errors) == 1
    assert "--strategy" in errors[0] and "'many'" in errors[0] and "multi_worker" in errors[0]


STAND_IN = r'''#!{python}
# a stand-in for python on an Ascend server: records what each rank was started with
import json, os, sys
if len(sys.argv) > 1 and sys.argv[1] in ("main.py", "train.py"):
    env = {{k: os.environ.get(k) for k in ("RANK_TABLE_FILE", "RANK_SIZE", "RANK_ID", "DEVICE_ID",
                                          "ASCEND_DEVICE_ID")}}
    json.dump({{"argv": sys.argv[1:], "env": env}}, open(os.path.join({out!r}, f"rank{{env['RANK_ID']}}.json"), "w"))
    out_dir = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--output_dir=")][0]
    if env["RANK_ID"] == "0":
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "train_log.jsonl"), "w") as f:
            for step in (1, 2):
                f.write(json.dumps({{"step": step, "time": step, "elapsed": step, "images": 128,
                                     "images_per_sec": 64.0, "loss/G": 1.0 / step}}) + "\n")
    sys.exit(0)
os.execv({python!r}, [{python!r}] + sys.argv[1:])
'''


@pytest.mark.parametrize("script", ["train_performance_8p.sh"])
def test_8p_launcher_starts_one_process_per_device_with_the_rank_environment(tmp_path, script):
    """The Ascend 8p launcher, with a stand-in for python (UNTESTED ON HARDWARE): 8 ranks, each
    with RANK_TABLE_FILE / RANK_SIZE / RANK_ID / DEVICE_ID, one shared output folder, --device npu."""
    stand_in = tmp_path / "python"
    stand_in.write_text(STAND_IN.format(python=sys.executable, out=str(tmp_path)))
    stand_in.chmod(0o755)
    table = tmp_path / "rank_table_8p.json"
    table.write_text("{}")
    env = dict(os.environ, PYTHON=str(stand_in), TEST_OUTPUT=str(tmp_path / "out"))
    proc = subprocess.run(["bash", f"test/{script}", f"--data_path={tmp_path}", f"--rank_table={table}"],
                          cwd=FOLDER, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = [json.load(open(tmp_path / f"rank{r}.json")) for r in range(8)]
    for rank, s in enumerate(seen):
        assert s["env"] == {"RANK_TABLE_FILE": str(table), "RANK_SIZE": "8", "RANK_ID": str(rank),
                            "DEVICE_ID": str(rank), "ASCEND_DEVICE_ID": str(rank)}
        assert "--device" in s["argv"] and s["argv"][s["argv"].index("--device") + 1] == "npu"
    assert len({a for s in seen for a in s["argv"] if a.startswith("--output_dir=")}) == 1
    result = open(tmp_path / "out" / "0" / "StarGAN_bs16_8p_perf.log").read()
    assert "RankSize = 8" in result and "CaseName = StarGAN_bs16_8p_perf" in result
    missing = subprocess.run(["bash", f"test/{script}", f"--data_path={tmp_path}", "--rank_table=/no/table"],
                             cwd=FOLDER, env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "--rank_table" in missing.stderr

def test_bench_has_a_1_vs_2_workers_figure_that_runs_alone():
    """bench.py's data-parallel configurations (selected by --only distributed: 1 and 2 workers,
    1 thread each) and its table: the throughput ratio, honestly labelled (no run here: the
    figure is `python bench.py --out DIR --only distributed`, about a minute)."""
    import argparse
    import importlib.util

    spec = importlib.util.spec_from_file_location("stargan_bench_py", os.path.join(FOLDER, "bench.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    configs = bench.configurations(argparse.Namespace(quick=True, repeats=None, modes=["fp32"]))
    chosen = [c for c in configs if "distributed" in c.name]         # what --only distributed keeps
    assert [c.kwargs["workers"] for c in chosen] == [1, 2] and len(configs) > len(chosen)
    assert all(c.env["TF_NUM_INTRAOP_THREADS"] == c.env["TF_NUM_INTEROP_THREADS"] == "1" for c in chosen)
    assert chosen[0].kwargs["batch"] == chosen[1].kwargs["batch"]   # the same per-replica batch
    runs = {1: 100.0, 2: 150.0}
    result = {"entries": [{"group": "distributed", "status": "ok", "kwargs": {"workers": n},
                           "result": {"global_batch": 8 * n, "s_per_iteration": 8 * n / ips, "n_d": 1,
                                      "images_per_s": ips, "load_avg_1min_at_start": 0.5,
                                      "per_replica_batch": 8, "steps": 30}}
                          for n, ips in runs.items()]}
    text = bench.table(result)
    assert "throughput: 1.50x" in text and "not a multi-host figure" in text and "one 2-core CPU" in text
    assert bench.distributed_table({"entries": []}) == ""
