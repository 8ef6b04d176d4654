"""logging: JSONL records, the progress line, non-finite values, resume, torn lines, TensorBoard."""

import io
import json
import math

import numpy as np
import pytest

from common_tools.errors import UserError
from common_tools.logging import StepLogger, read_jsonl


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_records_and_plain_progress_lines(tmp_path):
    out = io.StringIO()
    log = StepLogger(tmp_path, total_steps=6, every=3, stream=out, tensorboard=False)
    for step in range(1, 7):
        log.log(step, images=4, **{"loss/G": np.float32(1.0 / step), "loss/D": 0.5, "lr": 1e-4})
    log.close()
    recs = read_jsonl(tmp_path / "train_log.jsonl")
    assert [r["step"] for r in recs] == [1, 2, 3, 4, 5, 6]
    assert all(r["images_per_sec"] > 0 and r["elapsed"] >= 0 and r["time"] > 1e9 for r in recs)
    assert recs[1]["loss/G"] == pytest.approx(0.5) and recs[0]["lr"] == 1e-4
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("step 3/6 (50.0%)")   # every 3 steps
    assert "ETA" in lines[1] and "loss/G 0.1667" in lines[1] and "img/s" in lines[1]
    assert "lr" not in lines[1]                                           # only the losses


def test_nonfinite_scalars_are_null_and_named(tmp_path):
    log = StepLogger(tmp_path, total_steps=2, stream=None, tensorboard=False)
    log.log(1, **{"loss/G": float("nan"), "loss/D": float("inf"), "acc": 0.5})
    log.close()
    line = (tmp_path / "train_log.jsonl").read_text().strip()
    rec = json.loads(line)          # strict JSON: no NaN/Infinity tokens
    assert "NaN" not in line and "Infinity" not in line
    assert rec["loss/G"] is None and rec["loss/D"] is None and rec["nonfinite"] == ["loss/G", "loss/D"]
    assert "images_per_sec" not in rec


def test_tty_redraws_one_line(tmp_path):
    out = FakeTTY()
    log = StepLogger(tmp_path, total_steps=3, stream=out, tensorboard=False)
    log._last_draw = -1e9
    log.log(1, **{"loss/G": 1.0})
    assert out.getvalue().startswith("\rstep 1/3") and "\n" not in out.getvalue()
    log.log(3, **{"loss/G": 1.0})    # the last step always draws
    log.close()
    assert out.getvalue().count("\r") == 2 and out.getvalue().endswith("\n")


def test_resume_drops_records_after_start_step_and_torn_line(tmp_path):
    path = tmp_path / "train_log.jsonl"
    path.write_text("".join(json.dumps({"step": s, "loss": s}) + "\n" for s in range(1, 6))
                    + '{"step": 6, "lo')
    assert [r["step"] for r in read_jsonl(path)] == [1, 2, 3, 4, 5]   # torn last line skipped
    log = StepLogger(tmp_path, total_steps=10, start_step=4, stream=None, tensorboard=False)
    log.log(5, loss=0.1)
    log.close()
    assert [r["step"] for r in read_jsonl(path)] == [1, 2, 3, 4, 5]
    assert read_jsonl(path)[-1]["loss"] == 0.1


def test_read_jsonl_errors(tmp_path):
    with pytest.raises(UserError, match="log not found"):
        read_jsonl(tmp_path / "nope.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"step": 1}\nnot json\n{"step": 3}\n')
    with pytest.raises(UserError, match="line 2"):
        read_jsonl(bad)


def test_tensorboard_scalars_and_image(tmp_path):
    tf = pytest.importorskip("tensorflow")
    log = StepLogger(tmp_path, total_steps=2, stream=None)
    log.log(1, images=2, **{"loss/G": 0.75})
    log.image(1, "samples", np.zeros((6, 10, 3), np.uint8))
    log.close()
    events = list((tmp_path / "summaries").iterdir())
    assert len(events) == 1
    seen = {}
    for event in tf.compat.v1.train.summary_iterator(str(events[0])):
        for value in event.summary.value:
            seen[value.tag] = (value.metadata.plugin_data.plugin_name, tf.make_ndarray(value.tensor))
    assert seen["loss/G"][0] == "scalars" and math.isclose(float(seen["loss/G"][1]), 0.75)
    plugin, tensor = seen["samples"]
    assert plugin == "images" and tensor[0] == b"10" and tensor[1] == b"6"
    assert tensor[2].startswith(b"\x89PNG")


def test_progress_wraps_an_iterable():
    from common_tools.logging import progress

    bar = progress(range(3), desc="eval")
    assert list(bar) == [0, 1, 2] and bar.n == 3 and bar.total == 3
