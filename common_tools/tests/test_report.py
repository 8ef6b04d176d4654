"""report: index.html over schema-1 demo folders; every image named exists, every number shown is
in a summary; targets, paper figures, stage timings, loss panels; one-line errors."""

import html
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from common_tools.errors import UserError
from common_tools.report import build_report, flatten_numbers, format_number, loss_series
from common_tools.stages import Demo, load_summary


def _demo(root, name, fail=False):
    out = root / name
    out.mkdir(parents=True)
    Image.fromarray(np.zeros((8, 200, 3), np.uint8)).save(out / "grid.png")
    with open(out / "train_log.jsonl", "w") as f:
        for step in range(1, 6):
            f.write(json.dumps({"step": step, "loss/G": 1.0 / step, "loss/D": None if step == 2
                                else -0.5 * step, "lr": 0.1}) + "\n")
    demo = Demo(out, model=name, title=f"{name} <tiny> demo", command=f"make -C {name} demo",
                loss_keys=["loss/D", "loss/G", "loss/G_rec"], stream=None)
    with demo.stage("data") as st:
        st.skip("already there")
    with demo.stage("train"):
        pass
    demo.number("steps", 5)
    demo.number("psnr_db", 27.125, target=(">=", 25.0), paper=28.5)
    demo.number("fid.value", 181.25, target=("<=", 150.0), paper="about 180 (128 px)")
    demo.number("fid.images", 64)
    demo.target("ssim", ">=", 0.9)
    demo.image("grid.png", "input & <b>results</b>")
    demo.note("CPU, 5 steps")
    if fail:
        with pytest.raises(ValueError):
            with demo.stage("evaluate"):
                raise ValueError("no classifier")
    else:
        demo.write()
    return out


def _summary_values(summary):
    """Every number a summary holds, formatted as the page shows numbers."""
    values = [v for _, v in flatten_numbers(summary["numbers"])]
    values += [t["value"] for t in summary["targets"].values()]
    values += [v for v in summary["paper"].values() if not isinstance(v, str)]
    values += [st["seconds"] for st in summary["stages"]] + [summary["seconds_total"]]
    return {format_number(v) for v in values}


def test_page_names_only_existing_images_and_summary_numbers(tmp_path):
    a, b = _demo(tmp_path, "alpha"), _demo(tmp_path, "beta", fail=True)
    (b / "grid.png").unlink()                                # named by beta's summary, now gone
    index = build_report(str(tmp_path))
    page = open(index).read()
    summaries = [load_summary(str(a)), load_summary(str(b))]

    srcs = re.findall(r'<img src="([^"]+)"', page)
    assert "alpha/grid.png" in srcs and page.count("<svg") == 4  # loss/D, loss/G of both, inline
    assert all(os.path.isfile(tmp_path / s) for s in srcs)
    assert "missing image: grid.png" in page and "beta/grid.png" not in srcs

    shown = [html.unescape(x) for x in re.findall(r'class="num">([^<]*)<', page)]
    allowed = set().union(*(_summary_values(s) for s in summaries))
    assert shown and all(x in allowed for x in shown), set(shown) - allowed
    for s in summaries:                                      # and every number of each is shown
        assert _summary_values(s) <= set(shown)


def test_section_shows_targets_paper_stages_command_and_losses(tmp_path):
    model = _demo(tmp_path, "alpha")
    build_report(str(tmp_path))
    own = (model / "index.html").read_text()
    assert "alpha &lt;tiny&gt; demo" in own and "input &amp; &lt;b&gt;results&lt;/b&gt;" in own
    assert "<pre><code>make -C alpha demo</code></pre>" in own and "CPU, 5 steps" in own
    row = lambda key: re.search(rf"<tr><td>{re.escape(key)}</td>.*?</tr>", own).group(0)
    assert 'class="met">met<' in row("psnr_db") and ">28.5<" in row("psnr_db")
    assert 'class="notmet">not met<' in row("fid.value") and "about 180 (128 px)" in row("fid.value")
    assert "not measured" in row("ssim")
    assert 'class="skipped">skipped<' in row("data") and "already there" in row("data")
    assert 'src="grid.png" width="800" height="32"' in own      # 200 px wide, scaled x4 (the most)
    assert 'aria-label="loss/D per step"' in own and 'aria-label="loss/G per step"' in own
    assert "no values in train_log.jsonl for: loss/G_rec" in own
    page = (tmp_path / "index.html").read_text()
    assert 'href="alpha/index.html"' in page and "not met: fid.value, ssim" in page


def test_failed_demo_is_marked(tmp_path):
    _demo(tmp_path, "beta", fail=True)
    page = open(build_report(str(tmp_path))).read()
    assert "failed at stage evaluate: ValueError: no classifier" in page
    assert "failed at evaluate" in page


def test_format_number_keeps_what_the_demo_rounded():
    assert format_number(181.25) == "181.25" and format_number(0.123456789) == "0.1235"
    assert format_number(2.345678e-7) == "2.346e-07" and format_number(1234567.89) == "1.23457e+06"
    assert format_number([1, 0.5]) == "1, 0.5" and format_number(None) == "null"
    assert format_number(True) == "true" and format_number(64) == "64"


def test_loss_series_takes_only_the_named_keys():
    records = [{"step": 1, "g_loss": 2.0, "loss/D": 1.0, "loss/G": "x", "lr": 0.1},
               {"step": 2, "loss/D": float("nan"), "loss/G": 3.0}, {"loss/D": 9.0}]
    series = loss_series(records, ["loss/G", "loss/D", "loss/X"])
    assert list(series) == ["loss/G", "loss/D"]
    assert series["loss/D"] == ([1], [1.0]) and series["loss/G"] == ([2], [3.0])


def test_no_loss_keys_no_plot(tmp_path):
    out = tmp_path / "m"
    demo = Demo(out, model="m", title="M", command="c", stream=None)
    demo.write()
    (out / "loss_curves.png").write_bytes(b"stale")
    page = open(build_report(str(tmp_path))).read()
    assert not (out / "loss_curves.png").exists() and "loss_curves.png" not in page


def test_errors_are_one_line(tmp_path):
    gone = subprocess.run([sys.executable, "-m", "common_tools.report", str(tmp_path / "nope")],
                          capture_output=True, text=True)
    assert gone.returncode == 2 and gone.stderr.startswith("error: demo folder not found")
    assert gone.stderr.count("\n") == 1
    (tmp_path / "old_model").mkdir()
    with pytest.raises(UserError, match="no summary.json under"):
        build_report(str(tmp_path))
    (tmp_path / "old_model" / "summary.json").write_text(json.dumps(
        {"model": "old", "title": "Old", "numbers": {}, "images": []}))   # before schema 1
    old = subprocess.run([sys.executable, "-m", "common_tools.report", str(tmp_path)],
                         capture_output=True, text=True)
    assert old.returncode == 2 and "'schema' must be 1" in old.stderr
    assert old.stderr.count("\n") == 1 and "Traceback" not in old.stderr
