"""bench: one child per configuration, its own peak RSS, error entries, no temp leftovers, medians."""

import json
import os
import subprocess
import sys
import tempfile

import pytest

from common_tools import bench
from common_tools.bench import Config, median_time, run_child, run_configs

WORKERS = '''
import os, tempfile

def allocate(mb):
    block = bytearray(mb * 1024 * 1024)
    for i in range(0, len(block), 4096):          # touch every page: resident, not just reserved
        block[i] = 1
    return {"mb": mb, "cwd": os.getcwd()}

def leak_tmp():
    path = tempfile.mkdtemp(prefix="worker_leak_")  # never removed by the worker
    open(os.path.join(path, "big.bin"), "wb").write(b"0" * 1000)
    return {"tmp": path}

def fail(message):
    raise RuntimeError(message)

def sleep(seconds):
    import time
    time.sleep(seconds)
    return {}

def figures(size):
    return {"size": size, "time": {"median": 0.25 * size}}
'''


@pytest.fixture
def folder(tmp_path):
    """A model-like folder holding the worker module; the children run there."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "bench_workers.py").write_text(WORKERS)
    return str(model)


@pytest.fixture
def own_tmp(tmp_path, monkeypatch):
    """Point this process's temp folder at an empty folder, to see what is left behind."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    return tmp


def test_peak_rss_is_the_childs_own(folder):
    big = run_child("bench_workers:allocate", {"mb": 200}, cwd=folder)
    assert big["status"] == "ok" and big["result"] == {"mb": 200, "cwd": folder}
    assert big["peak_rss_mb"] >= 200
    # Linux hands a parent's high-water mark over fork+exec; the launcher keeps it out
    hold = bytearray(300 * 1024 * 1024)
    for i in range(0, len(hold), 4096):
        hold[i] = 1
    small = run_child("bench_workers:allocate", {"mb": 1}, cwd=folder)
    del hold
    assert small["status"] == "ok" and small["peak_rss_mb"] < 150


def test_failing_child_is_an_error_entry_and_the_rest_still_run(folder, own_tmp):
    entries = run_configs([Config("boom", "bench_workers:fail", {"message": "out of ideas"}),
                           Config("missing", "bench_workers:nothing_here"),
                           Config("slow", "bench_workers:sleep", {"seconds": 30}, timeout_s=0.5),
                           Config("ok", "bench_workers:figures", {"size": 2}, group="g")],
                          cwd=folder, stream=None)
    assert [e["status"] for e in entries] == ["error", "error", "error", "ok"]
    assert entries[0]["error"] == "exit 1: RuntimeError: out of ideas"
    assert entries[1]["error"].startswith("exit 2: error: bench_workers has no function nothing_here")
    assert entries[2]["error"] == "timed out after 0.5 s" and entries[2]["seconds"] < 10
    assert entries[3]["result"] == {"size": 2, "time": {"median": 0.5}} and entries[3]["group"] == "g"
    assert os.listdir(own_tmp) == []


def test_no_temp_folder_left_behind(folder, own_tmp):
    entries = run_configs([Config("leak", "bench_workers:leak_tmp"),
                           Config("boom", "bench_workers:fail", {"message": "x"})],
                          cwd=folder, stream=None)
    leaked = entries[0]["result"]["tmp"]
    assert leaked.startswith(str(own_tmp)) and not os.path.exists(leaked)
    assert os.listdir(own_tmp) == []
    run_child("bench_workers:leak_tmp", cwd=folder)          # without a run_configs around it
    assert os.listdir(own_tmp) == []


def test_median_time_with_a_fake_clock():
    durations = iter([7.0, 3.0, 1.0, 4.0, 2.0])              # warm-up, then 4 timed calls
    now = [0.0]
    calls = []

    def clock():
        return now[0]

    def fn():
        calls.append(1)
        now[0] += next(durations)

    t = median_time(fn, repeats=4, warmup=1, clock=clock)
    assert t == {"min": 1.0, "median": 2.5, "max": 4.0, "repeats": 4, "warmup_s": 7.0}
    assert len(calls) == 5
    odd = iter([5.0, 1.0, 9.0])
    now[0] = 0.0

    def fn2():
        now[0] += next(odd)

    assert median_time(fn2, repeats=3, warmup=0, clock=clock)["median"] == 5.0
    with pytest.raises(ValueError):
        median_time(fn, repeats=0)


def test_bench_main_writes_json_and_markdown(folder, tmp_path, capsys):
    def configurations(args):
        sizes = [1] if args.quick else [1, 2]
        return ([Config(f"size {s}", "bench_workers:figures", {"size": s}, group="fig")
                 for s in sizes] + [Config("broken", "bench_workers:fail", {"message": "nope"})])

    def table(result):
        rows = [[e["name"], e["result"]["time"]["median"]]
                for e in bench.entries(result, "fig", ok_only=True)]
        return bench.markdown_table(["configuration", "median s"], rows)

    out = tmp_path / "out"
    code = bench.bench_main("toy", "Toy bench", configurations, table=table, folder=folder,
                            reference={"paper_s": 1.5}, argv=["--out", str(out)])
    assert code == 1                                          # "broken" failed, files still written
    result = json.loads((out / "toy.json").read_text())
    assert result["model"] == "toy" and result["reference"] == {"paper_s": 1.5}
    assert set(result["machine"]) >= {"cpus", "processor", "platform"}
    assert [e["name"] for e in result["entries"]] == ["size 1", "size 2", "broken"]
    assert result["entries"][2]["error"] == "exit 1: RuntimeError: nope"
    md = (out / "toy.md").read_text()
    assert md.startswith("# Toy bench\n") and "| size 1 | 0.25 |" in md and "| size 2 | 0.5 |" in md
    assert "| broken | error: exit 1: RuntimeError: nope |" in md
    assert result["command"].endswith(f"--out {out}")
    assert bench.bench_main("toy", "Toy", configurations, folder=folder,
                            argv=["--out", str(out), "--only", "size 1"]) == 0
    assert [e["name"] for e in json.loads((out / "toy.json").read_text())["entries"]] == ["size 1"]


def test_child_cli_bad_input_is_one_line(folder):
    for args in (["--child", "no_colon", "{}"], ["--child", "m:f", "[1]"]):
        proc = subprocess.run([sys.executable, "-m", "common_tools.bench", *args,
                               "--result", os.path.join(folder, "r.json")],
                              capture_output=True, text=True, cwd=folder)
        assert proc.returncode == 2 and proc.stderr.startswith("error: ")
        assert proc.stderr.count("\n") == 1


def test_timed_iterations_times_only_the_steps_after_warmup():
    from common_tools.bench import timed_iterations

    ticks, calls = iter([10.0, 13.5]), []
    seconds = timed_iterations(calls.append, warmup=2, steps=3, clock=lambda: next(ticks))
    assert calls == [0, 1, 2, 3, 4] and seconds == 3.5


def test_distributed_configs_and_ratio_table():
    from common_tools.bench import DIST_LABEL, distributed_configs, ratio_table

    one, two = distributed_configs("bench:w", quick=False, batch=8)
    assert (one.kwargs["workers"], two.kwargs["workers"]) == (1, 2) and "distributed" in two.name
    assert one.env["TF_NUM_INTRAOP_THREADS"] == "1" and one.kwargs["steps"] == 30

    def entry(n, ips):
        return {"group": "distributed", "status": "ok", "kwargs": {"workers": n},
                "result": {"global_batch": 8 * n, "s_per_iteration": 8 * n / ips, "images_per_s": ips,
                           "load_avg_1min_at_start": 0.1, "per_replica_batch": 8, "steps": 30}}

    text = ratio_table({"entries": [entry(1, 100.0), entry(2, 150.0)]}, "tiny networks")
    assert "throughput: 1.50x (tiny networks, per-replica batch 8, 30 timed iterations)" in text
    assert DIST_LABEL in text
    assert ratio_table({"entries": []}, "x") == ""
