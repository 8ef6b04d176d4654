"""Data-parallel STGAN with real processes over 127.0.0.1 (MultiWorkerMirroredStrategy, gRPC); G's
batch norm runs with synchronized (global-batch) statistics.

One module-scoped sequence, shared by every assertion (each TF process costs ~10 s to start):
1. at once: a 2-worker group (``python -m common_tools.launch``, per-replica batch 2) and one
   process on the same global batch (4), both dumping G's and D's weights (batch-norm moving
   averages included) after every iteration; worker 1 kills itself (SIGKILL) when iteration 4 starts;
2. the same run again through ``train.py`` (the card's entry script) under the launcher: it resumes
   the group from the chief's last checkpoint (iteration 3) and ends at iteration 4.
"""

import os
import sys

import pytest

from common_tools import testing

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS, DIE_AT, GRACE = 4, 3, 4.0          # worker 1 dies at the start of iteration DIE_AT + 1
NAME = "Epoch_(1)_(2of2).ckpt"            # 16 images / (4 x 2) = 2 iterations per epoch, 2 epochs

WORKER = r'''
import sys
sys.path.insert(0, {folder!r})
from common_tools.testing import train_group_worker
from stgan import train as stgan_train
from stgan.config import STGANConfig

run_dir, dump, data_dir, batch, die_at = sys.argv[1:6]
cfg = STGANConfig.tiny(max_train_images=16, n_sample=0, batch_size=int(batch), epochs=2, save_every=1)
train_group_worker(cfg, run_dir, dump, die_at, lambda cfg, run, dist: stgan_train.build(cfg, run, data_dir, dist=dist))
'''


@pytest.fixture(scope="module")
def group(tmp_path_factory, faces_dir):
    tmp = tmp_path_factory.mktemp("dist")
    again = [sys.executable, "train.py", "--preset", "tiny", "--data_dir", faces_dir,
             "--output_root", str(tmp), "--experiment_name", "group",
             "--max_train_images", "16", "--n_sample", "0", "--batch_size", "2",
             "--epochs", "2", "--save_every", "1", "--device", "cpu",
             "--strategy", "multi_worker"]
    return testing.kill_and_resume_group(tmp, FOLDER, WORKER.format(folder=FOLDER, steps=STEPS), [faces_dir],
                                         again, die_at=DIE_AT, grace=GRACE)


LR = 2e-4


def test_workers_hold_identical_weights_equal_to_one_process_on_the_global_batch(group):
    testing.assert_replicas_equal(group["dump"], group["dump_single"], DIE_AT, lr=LR)


def test_logged_losses_are_global_batch_means(group):
    # after a resume the data order is reseeded (cfg.seed + start): steps 1..DIE_AT only
    testing.assert_losses_match_single(group["run"], group["single"], DIE_AT, (
        "loss/D", "loss/D_gp", "loss/D_att", "loss/G", "loss/G_rec", "loss/G_att"))


def test_a_killed_worker_stops_the_group_with_one_line(group):
    testing.assert_dead_worker_one_line(group["first"], GRACE)


def test_rerun_resumes_the_group_from_the_chiefs_checkpoint(group):
    # only the chief writes checkpoints (a resumed run reseeds its data order with the start
    # step, so its iteration 4 is not compared with an uninterrupted process)
    checkpoints = os.path.join(group["run"], "checkpoints")
    testing.assert_group_resumed(group["run"], group["again"], os.path.join(checkpoints, "Epoch_(1)_(1of2).ckpt"),
                                 DIE_AT, STEPS, os.path.join(checkpoints, NAME + ".index"))


def test_strategy_flag_reaches_train_and_a_bad_value_is_one_line(script, faces_dir, tmp_path,
                                                                   monkeypatch, capsys):
    """train.py passes --strategy to train() (a stand-in: no TensorFlow, no training); a value
    outside auto|one|mirrored|multi_worker is one error line."""
    import types

    import common_tools.device

    train_py, seen = script("train.py"), {}
    monkeypatch.setattr(common_tools.device, "select_device", lambda *a, **kw: "cpu")
    monkeypatch.setitem(sys.modules, "stgan.train", types.SimpleNamespace(
        train=lambda *a, **kw: seen.update(kw) or {"status": "done", "end": 0, "total_steps": 0, "checkpoint": None}))
    base = ["--preset", "tiny", "--data_dir", faces_dir, "--output_root", str(tmp_path),
            "--experiment_name", "x"]
    testing.assert_strategy_flag(train_py, base, seen, capsys)


def test_bench_has_a_1_vs_2_workers_figure_that_runs_alone():
    """bench.py's data-parallel configurations (selected by --only distributed: 1 and 2 workers,
    1 thread each) and its table: the throughput ratio, honestly labelled (no run here: the
    figure is `python bench.py --out DIR --only distributed`, about a minute)."""
    import argparse

    bench = testing.load_module(os.path.join(FOLDER, "bench.py"), "stgan_bench_py")
    testing.assert_bench_distributed_figure(bench, argparse.Namespace(quick=True, repeats=None, modes=["fp32"]))
