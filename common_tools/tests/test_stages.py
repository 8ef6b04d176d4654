"""stages: timed demo stages, the summary.json schema, failure handling, one-line schema errors."""

import io
import json
import math

import numpy as np
import pytest
from PIL import Image

from common_tools.errors import UserError
from common_tools.stages import Demo, load_summary, script_command, target_met


def _png(path, size=(16, 8)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((size[1], size[0], 3), np.uint8)).save(path)
    return path


def test_stages_numbers_images_round_trip(tmp_path):
    out = tmp_path / "demo"
    _png(out / "grids" / "test.png")
    (out / "train_log.jsonl").write_text(
        json.dumps({"step": 1, "loss/G": 1.5, "loss/D": None, "g_loss": 2.0, "lr": 0.1}) + "\n"
        + json.dumps({"step": 2, "loss/D": 0.5, "loss/D_gp": 0.1}) + "\n")
    stream = io.StringIO()
    with Demo(out, model="toy", title="Toy demo", command="make -C Toy demo",
              plan=("data", "train", "om"), stream=stream) as demo:
        with demo.stage("data") as st:
            st.skip("already there")
        with demo.stage("train") as st:
            st.note("2 steps")
        demo.skip("om", "no Ascend toolkit")
        demo.number("psnr_db", np.float32(27.5), target=(">=", 25), paper=28.1)
        demo.number("fid.value", 181.25)
        demo.number("fid.images", np.int64(64))
        demo.numbers.update(steps=2)
        demo.number("nan_value", float("nan"))
        demo.target("ssim", ">=", 0.9)
        demo.paper("fid.value", "about 180 at 128 px")
        rel = demo.image(str(out / "grids" / "test.png"), "input, then edits")
        demo.note("CPU")
    assert rel == "grids/test.png"
    s = load_summary(str(out))
    assert s["schema"] == 1 and s["model"] == "toy" and s["command"] == "make -C Toy demo"
    assert [(x["name"], x["status"], x.get("note")) for x in s["stages"]] == [
        ("data", "skipped", "already there"), ("train", "done", "2 steps"),
        ("om", "skipped", "no Ascend toolkit")]
    assert all(x["seconds"] >= 0 for x in s["stages"])
    assert s["seconds_total"] >= sum(x["seconds"] for x in s["stages"]) - 0.05
    assert s["numbers"] == {"psnr_db": 27.5, "fid": {"value": 181.25, "images": 64}, "steps": 2,
                            "nan_value": None}
    assert type(s["numbers"]["fid"]["images"]) is int
    assert s["targets"] == {"psnr_db": {"op": ">=", "value": 25.0},
                            "ssim": {"op": ">=", "value": 0.9}}
    assert s["paper"] == {"psnr_db": 28.1, "fid.value": "about 180 at 128 px"}
    assert s["images"] == [{"path": "grids/test.png", "caption": "input, then edits"}]
    assert s["notes"] == ["CPU"] and s["log"] == "train_log.jsonl"
    assert s["loss_keys"] == ["loss/D", "loss/D_gp", "loss/G"]  # only numeric "loss/..." keys
    lines = stream.getvalue().splitlines()
    assert lines[0] == "toy demo [1/3] data: skipped in 0.0 s (already there)"
    assert lines[1].startswith("toy demo [2/3] train: done in ") and lines[1].endswith("(2 steps)")
    assert len(lines) == 4 and lines[3].startswith("toy demo: ") and "summary.json" in lines[3]


def test_failed_stage_writes_summary_and_reraises(tmp_path):
    demo = Demo(tmp_path, model="toy", title="Toy", command="python demo.py", stream=None)
    with demo.stage("data"):
        pass
    demo.number("steps", 3)
    with pytest.raises(RuntimeError, match="disk full"):
        with demo.stage("train"):
            raise RuntimeError("disk full\nsecond line")
    s = load_summary(str(tmp_path / "summary.json"))
    assert [(x["name"], x["status"]) for x in s["stages"]] == [("data", "done"), ("train", "failed")]
    assert s["stages"][1]["note"] == "RuntimeError: disk full"
    assert s["numbers"] == {"steps": 3} and s["loss_keys"] == []


def test_stage_names_images_and_numbers_are_checked(tmp_path):
    demo = Demo(tmp_path / "d", model="toy", title="Toy", command="c", plan=("a",), stream=None)
    with pytest.raises(ValueError, match="not in the plan"):
        with demo.stage("b"):
            pass
    with demo.stage("a"):
        pass
    with pytest.raises(ValueError, match="already run"):
        demo.skip("a", "again")
    with pytest.raises(UserError, match="demo image not found"):
        demo.image("nope.png")
    _png(tmp_path / "outside.png")
    with pytest.raises(UserError, match="outside the demo folder"):
        demo.image(str(tmp_path / "outside.png"))
    with pytest.raises(ValueError, match="target op"):
        demo.target("x", ">", 1)
    demo.number("a", 1)
    with pytest.raises(ValueError, match="already holds a value"):
        demo.number("a.b", 2)


def test_target_met():
    assert target_met(27.0, ">=", 25.0) is True and target_met(24.9, ">=", 25.0) is False
    assert target_met(0.1, "<=", 0.5) is True and target_met(0.6, "<=", 0.5) is False
    assert target_met(None, ">=", 1) is None and target_met("x", ">=", 1) is None
    assert target_met(math.nan, "<=", 1) is None and target_met(True, ">=", 0) is None


def test_script_command_quotes():
    assert script_command(["--out", "a b"]).endswith(" --out 'a b'")


def _valid():
    return {"schema": 1, "model": "toy", "title": "Toy", "command": "c",
            "stages": [{"name": "train", "seconds": 1.0, "status": "done"}], "seconds_total": 1.0,
            "numbers": {"a": 1}, "images": [{"path": "g.png", "caption": ""}], "notes": [],
            "log": "train_log.jsonl", "loss_keys": ["loss/G"]}


@pytest.mark.parametrize("change, message", [
    ({"schema": None}, "'schema' must be 1"),
    ({"stages": [{"name": "t", "seconds": 1, "status": "ok"}]}, "'status' must be one of done"),
    ({"stages": [{"name": "t", "status": "done"}]}, "'seconds' must be a number"),
    ({"targets": {"a": {"op": ">", "value": 1}}}, "targets\\['a'\\] must be"),
    ({"images": [{"path": "/abs/g.png"}]}, "must be relative"),
    ({"images": [{"path": "x/../../g.png"}]}, "must be relative"),
    ({"numbers": {"a": {"b": [1, [2]]}}}, "numbers.a.b must be a number"),
    ({"paper": {"a": [1]}}, "paper\\['a'\\] must be a number or text"),
    ({"loss_keys": "loss/G"}, "'loss_keys' must be a list of strings"),
    ({"extra": 1}, "unknown field\\(s\\) extra"),
    ({"command": ""}, "'command' must be a non-empty string"),
])
def test_schema_errors_are_one_line(tmp_path, change, message):
    summary = {**_valid(), **change}
    if change.get("schema", 1) is None:
        del summary["schema"]
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summary))
    with pytest.raises(UserError, match=message) as info:
        load_summary(str(path))
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_valid_summary_loads_with_defaults(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps(_valid()))
    s = load_summary(str(tmp_path))
    assert s["targets"] == {} and s["paper"] == {} and s["numbers"] == {"a": 1}
    (tmp_path / "summary.json").write_text("{oops")
    with pytest.raises(UserError, match="is not valid JSON"):
        load_summary(str(tmp_path))
    with pytest.raises(UserError, match="summary not found"):
        load_summary(str(tmp_path / "none"))
