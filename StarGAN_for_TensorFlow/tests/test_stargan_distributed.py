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

import pytest

from common_tools import testing

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS, DIE_AT, GRACE = 5, 3, 4.0          # worker 1 dies at the start of step DIE_AT + 1

WORKER = r'''
import sys
sys.path.insert(0, {folder!r})
from common_tools.testing import train_group_worker
from stargan import train as stargan_train
from stargan.config import StarGANConfig
assert stargan_train.data.PREPROCESS.flip

run_dir, dump, images, attrs, batch, die_at = sys.argv[1:7]
cfg = StarGANConfig.tiny().replace(batch_size=int(batch), training_iterations={steps},
                                   checkpoint_steps=1, save_steps=1000)
train_group_worker(cfg, run_dir, dump, die_at,
                   lambda cfg, run, dist: stargan_train.build(cfg, run, images, attrs, dist=dist))
'''


@pytest.fixture(scope="module")
def group(tmp_path_factory, faces):
    tmp = tmp_path_factory.mktemp("dist")
    again = [sys.executable, "main.py", "--phase", "train", "--preset", "tiny",
             "--image_root", faces["images"], "--metadata_path", faces["attrs"],
             "--output_dir", str(tmp / "group"), "--batch_size", "2", "--training_iterations",
             str(STEPS), "--checkpoint_steps", "1", "--save_steps", "1000",
             "--device", "cpu", "--strategy", "multi_worker"]
    return testing.kill_and_resume_group(tmp, FOLDER, WORKER.format(folder=FOLDER, steps=STEPS),
                                         [faces["images"], faces["attrs"]], again, die_at=DIE_AT, grace=GRACE)


LR = 1e-4


def test_workers_hold_identical_weights_equal_to_one_process_on_the_global_batch(group):
    assert os.path.isfile(os.path.join(group["dump"], f"w1-{DIE_AT}.npz")), group["first"][1][-3000:]
    testing.assert_replicas_equal(group["dump"], group["dump_single"], DIE_AT, lr=LR)


def test_logged_losses_are_global_batch_means(group):
    chief, single = testing.assert_losses_match_single(group["run"], group["single"], DIE_AT,
                                                       ("loss/D", "loss/D_gp", "loss/D_cls"))
    assert chief[2]["loss/G"] == pytest.approx(single[2]["loss/G"], rel=1e-4)


def test_a_killed_worker_stops_the_group_with_one_line(group):
    testing.assert_dead_worker_one_line(group["first"], GRACE)


def test_rerun_resumes_the_group_from_the_chiefs_checkpoint(group):
    # only the chief writes checkpoints (a resumed run reseeds its data order with the start
    # step, so its steps 4-5 are not compared with an uninterrupted process)
    testing.assert_group_resumed(
        group["run"], group["again"], os.path.join(group["run"], "checkpoints", f"model-{DIE_AT}"), DIE_AT, STEPS,
        os.path.join(group["run"], "checkpoints", f"model-{STEPS}.index"))


def _main_py():
    return testing.load_module(os.path.join(FOLDER, "main.py"), "stargan_main_py")


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
    testing.assert_strategy_flag(main, base, seen, capsys)


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

    bench = testing.load_module(os.path.join(FOLDER, "bench.py"), "stargan_bench_py")
    testing.assert_bench_distributed_figure(bench, argparse.Namespace(quick=True, repeats=None, modes=["fp32"]))
