"""modelzoo: the <CaseName>.log result file from a JSONL log written here."""

import json
import os
import statistics
import subprocess
import sys

import pytest

from common_tools import modelzoo
from common_tools.errors import UserError


def _write_log(path, steps=30):
    # the run starts at t=1004; step 2 is slow (5 s, graph build), then 0.5 s per step
    with open(path, "w") as f:
        for step in range(1, steps + 1):
            t = 1010.0 if step == 1 else 1015.0 + 0.5 * (step - 2)
            rec = {"step": step, "time": t, "elapsed": t - 1004.0, "images_per_sec": 8.0,
                   "loss/G": float(step), "loss/D": None if step == 7 else 1.0, "acc": step / 100}
            f.write(json.dumps(rec) + "\n")


def test_result_file_lines_and_final_prints(tmp_path, capsys):
    log = tmp_path / "train_log.jsonl"
    _write_log(log)
    out = tmp_path / "test" / "output" / "0"
    code = modelzoo.main(["--log", str(log), "--network", "ToyGAN_ID0000_for_TF", "--batch_size", "4",
                          "--rank_size", "1", "--device_type", "cpu", "--case", "perf",
                          "--out_dir", str(out), "--accuracy_key", "acc"])
    assert code == 0
    lines = (out / "ToyGAN_ID0000_for_TF_bs4_1p_perf.log").read_text().splitlines()
    expected_loss = statistics.fmean(range(11, 31))      # last 20 records of loss/G
    assert lines == ["Network = ToyGAN_ID0000_for_TF", "RankSize = 1", "BatchSize = 4",
                     "DeviceType = cpu", "CaseName = ToyGAN_ID0000_for_TF_bs4_1p_perf",
                     "ActualFPS = 8.00", "TrainingTime = 0.5000",
                     "TrainAccuracy = 0.3000", f"ActualLoss = {expected_loss:.4f}",
                     "E2ETrainingTime = 25"]
    printed = capsys.readouterr().out.splitlines()
    assert printed[:3] == ["Final Performance images/sec : 8.00", "Final Train Accuracy : 0.3000",
                           "E2E Training Duration sec : 25"]


def test_summarize_skips_warmup_and_scales_by_ranks(tmp_path):
    log = tmp_path / "train_log.jsonl"
    _write_log(log)
    records = [json.loads(line) for line in log.open()]
    # with the slow first record included, speed would be lower; the default skip drops it
    numbers = modelzoo.summarize(records, batch_size=4, rank_size=8, e2e_seconds=99.0)
    assert numbers["fps"] == pytest.approx(4 * 8 * 2.0) and numbers["e2e_seconds"] == 99.0
    assert numbers["accuracy"] is None and numbers["skipped"] == 3
    with_warmup = modelzoo.summarize(records, batch_size=4, skip=0)
    assert with_warmup["fps"] == pytest.approx(4 * 29 / 19.0)
    no_time = [{k: v for k, v in r.items() if k != "time"} for r in records]
    assert modelzoo.summarize(no_time, batch_size=4)["fps"] == pytest.approx(8.0)
    with pytest.raises(UserError, match="no values for loss key 'loss/X': its scalars are "
                                        "acc, loss/D, loss/G \\(use --loss_key\\)"):
        modelzoo.summarize(records, batch_size=4, loss_key="loss/X")


def test_loss_key_is_the_launchers_choice(tmp_path):
    """A launcher names the key of its own headline loss; the default is the shared loss/G."""
    log = tmp_path / "train_log.jsonl"
    with open(log, "w") as f:
        for step in range(1, 11):
            f.write(json.dumps({"step": step, "time": float(step), "loss/G": 1.0,
                                "loss/G_rec": 0.25 * step}) + "\n")
    records = [json.loads(line) for line in log.open()]
    assert modelzoo.summarize(records, batch_size=2)["loss"] == 1.0
    rec = modelzoo.summarize(records, batch_size=2, loss_key="loss/G_rec")["loss"]
    assert rec == pytest.approx(statistics.fmean(0.25 * s for s in range(1, 11)))
    code = modelzoo.main(["--log", str(tmp_path), "--network", "Toy", "--batch_size", "2",
                          "--out_dir", str(tmp_path / "o"), "--loss_key", "loss/G_rec"])
    assert code == 0
    assert f"ActualLoss = {rec:.4f}" in (tmp_path / "o" / "Toy_bs2_1p_perf.log").read_text()


def test_missing_and_empty_log_are_one_line_errors(tmp_path):
    args = ["--network", "ToyGAN", "--batch_size", "2", "--out_dir", str(tmp_path / "o")]
    missing = subprocess.run([sys.executable, "-m", "common_tools.modelzoo", "--log",
                              str(tmp_path / "none.jsonl"), *args], capture_output=True, text=True)
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith("error: log not found:")
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(UserError, match="log is empty"):
        modelzoo.main(["--log", str(tmp_path / "empty.jsonl"), *args])
    assert not os.path.exists(tmp_path / "o")
