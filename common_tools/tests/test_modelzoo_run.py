"""modelzoo run / run8p: the launchers' shared body, with stand-in training commands (python one-liners)."""

import json
import os
import statistics
import sys
import time

import pytest

from common_tools import modelzoo
from common_tools.errors import UserError

# writes a 3-step train_log.jsonl into argv[1] (loss/G = 1/step), one second per step
WRITE_LOG = ("import json, os, sys; os.makedirs(sys.argv[1], exist_ok=True); print('training', sys.argv[1]); "
             "f = open(os.path.join(sys.argv[1], 'train_log.jsonl'), 'w'); "
             "[f.write(json.dumps({'step': s, 'time': float(s), 'loss/G': 1.0 / s}) + '\\n') for s in (1, 2, 3)]")


def test_run_logs_times_and_writes_the_result_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ASCEND_DEVICE_ID", "3")
    out = tmp_path / "test" / "output" / "3"
    code = modelzoo.main(["run", "--network", "ToyGAN", "--batch_size", "4", "--case", "acc",
                          "--device_type", "cpu", "--log_dir", str(out), "--jsonl", str(out / "run"),
                          "--", sys.executable, "-c", "print('prepared')", "--then",
                          sys.executable, "-c", WRITE_LOG, str(out / "run")])
    assert code == 0
    log = (out / "train_3.log").read_text().splitlines()
    # both commands' output in order, then the Final lines the launcher printed
    assert log[:2] == ["prepared", f"training {out / 'run'}"]
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "Final Performance images/sec : 4.00" and printed == log[2:]
    result = (out / "ToyGAN_bs4_1p_acc.log").read_text().splitlines()
    assert "CaseName = ToyGAN_bs4_1p_acc" in result and "DeviceType = cpu" in result
    assert f"ActualLoss = {statistics.fmean([1, 1 / 2, 1 / 3]):.4f}" in result   # all 3 (of the last 20)
    assert "ActualFPS = 4.00" in result   # batch 4, 1 step/s after the warm-up record


def test_run_stops_at_a_failing_command_with_its_status_and_last_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ASCEND_DEVICE_ID", raising=False)
    out = tmp_path / "o"
    code = modelzoo.main(["run", "--network", "ToyGAN", "--batch_size", "4", "--device_type", "cpu",
                          "--log_dir", str(out), "--jsonl", str(out / "run"),
                          "--", sys.executable, "-c", "import sys; print('step 1'); print('boom'); sys.exit(3)",
                          "--then", sys.executable, "-c", WRITE_LOG, str(out / "run")])
    assert code == 3
    err = capsys.readouterr().err.splitlines()
    assert err == ["boom", f"training failed (exit 3); see {out / 'train_0.log'}"]
    assert not (out / "run").exists() and not list(out.glob("ToyGAN_*.log"))   # the second never ran
    with pytest.raises(UserError, match="no training command"):
        modelzoo.main(["run", "--network", "T", "--batch_size", "1", "--log_dir", str(out), "--jsonl", "x"])


# records its rank environment in <argv[1]>/rank<RANK_ID>.json; rank 0 writes the log; rank 1 fails
# with status 5 when argv[2] is "fail" (the others then sleep, to be stopped by the launcher)
RANK = """
import json, os, sys, time
root, mode, rank = sys.argv[1], sys.argv[2], os.environ["RANK_ID"]
keys = ("RANK_TABLE_FILE", "RANK_SIZE", "RANK_ID", "DEVICE_ID", "ASCEND_DEVICE_ID")
json.dump({k: os.environ[k] for k in keys}, open(os.path.join(root, "rank" + rank + ".json"), "w"))
if mode == "fail":
    sys.exit(5) if rank == "1" else time.sleep(60)
elif rank == "0":
    code = sys.argv[3]
    sys.argv[1:] = sys.argv[4:]
    exec(code)
"""


def test_run8p_starts_one_process_per_rank_with_its_environment(tmp_path, monkeypatch, capsys):
    table = tmp_path / "rank_table.json"
    table.write_text("{}")
    base = ["run8p", "--rank_table", str(table), "--rank_size", "3", "--network", "ToyGAN",
            "--batch_size", "2", "--out_root", str(tmp_path / "out"), "--jsonl", str(tmp_path / "run")]
    code = modelzoo.main(base + ["--", sys.executable, "-c",
                                 RANK, str(tmp_path), "ok",
                                 WRITE_LOG, str(tmp_path / "run")])
    assert code == 0, capsys.readouterr().err
    for rank in range(3):
        env = json.load(open(tmp_path / f"rank{rank}.json"))
        assert env == {"RANK_TABLE_FILE": str(table), "RANK_SIZE": "3", "RANK_ID": str(rank),
                       "DEVICE_ID": str(rank), "ASCEND_DEVICE_ID": str(rank)}
        assert os.path.exists(tmp_path / "out" / str(rank) / f"train_{rank}.log")
    result = (tmp_path / "out" / "0" / "ToyGAN_bs2_3p_perf.log").read_text()
    assert "RankSize = 3" in result and "DeviceType = Ascend910" in result
    assert "Final Performance images/sec : 6.00" in (tmp_path / "out" / "0" / "train_0.log").read_text()

    # one rank fails: the sleeping others are stopped, the launcher exits with that rank's status
    capsys.readouterr()
    start = time.monotonic()
    code = modelzoo.main(base + ["--", sys.executable, "-c", RANK, str(tmp_path), "fail", ""])
    assert code == 5 and time.monotonic() - start < 30
    assert "error: rank 1 (device 1) exited with status 5" in capsys.readouterr().err
    with pytest.raises(UserError, match="--rank_table"):
        modelzoo.main(["run8p", "--rank_table", str(tmp_path / "none.json"), "--network", "T",
                       "--batch_size", "1", "--out_root", str(tmp_path), "--jsonl", "x", "--", "true"])
