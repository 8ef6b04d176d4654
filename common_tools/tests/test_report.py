"""report: index.html over demo folders, per-model pages, the loss plot, one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from common_tools.errors import UserError
from common_tools.report import build_report, flatten_numbers


def _demo(root):
    model = root / "stargan"
    model.mkdir(parents=True)
    Image.fromarray(np.zeros((8, 16, 3), np.uint8)).save(model / "grid.png")
    with open(model / "train_log.jsonl", "w") as f:
        for step in range(1, 6):
            f.write(json.dumps({"step": step, "loss/G": 1.0 / step, "loss/D": None,
                                "lr": 0.1}) + "\n")
    summary = {"model": "stargan", "title": "StarGAN <tiny> demo",
               "numbers": {"steps": 5, "fid": {"value": 181.25, "images": 64}},
               "images": [{"path": "grid.png", "caption": "input & <b>results</b>"}],
               "notes": ["CPU, 5 steps"]}
    (model / "summary.json").write_text(json.dumps(summary))
    return model


def test_index_references_images_plot_and_numbers(tmp_path):
    model = _demo(tmp_path)
    index = build_report(str(tmp_path))
    page = open(index).read()
    assert 'src="stargan/grid.png"' in page and 'src="stargan/loss_curves.png"' in page
    assert 'href="stargan/index.html"' in page
    assert "StarGAN &lt;tiny&gt; demo" in page and "input &amp; &lt;b&gt;results&lt;/b&gt;" in page
    assert "<td>fid.value</td>" in page and "181.2" in page and "CPU, 5 steps" in page
    plot = Image.open(model / "loss_curves.png")
    assert plot.format == "PNG" and plot.size[0] > 100
    own = (model / "index.html").read_text()
    assert 'src="grid.png"' in own and 'src="loss_curves.png"' in own


def test_loss_keys_of_both_styles_are_plotted(tmp_path):
    from common_tools.report import loss_series

    records = [{"step": 1, "g_loss": 2.0, "loss/D": 1.0, "lossy_note": "x", "lr": 0.1, "gp": 3.0},
               {"step": 2, "g_loss": float("nan"), "loss/D": 0.5}]
    series = loss_series(records)
    assert sorted(series) == ["g_loss", "loss/D"]
    assert series["loss/D"] == ([1, 2], [1.0, 0.5]) and series["g_loss"] == ([1], [2.0])
    assert sorted(loss_series(records, keys=["gp"])) == ["gp"]


def test_flatten_numbers():
    assert flatten_numbers({"a": 1, "b": {"c": 2.5, "d": {"e": "x"}}}) == [
        ("a", 1), ("b.c", 2.5), ("b.d.e", "x")]


def test_errors_are_one_line(tmp_path):
    gone = subprocess.run([sys.executable, "-m", "common_tools.report", str(tmp_path / "nope")],
                          capture_output=True, text=True)
    assert gone.returncode == 2 and gone.stderr.startswith("error: demo folder not found")
    assert gone.stderr.count("\n") == 1
    (tmp_path / "empty_model").mkdir()
    with pytest.raises(UserError, match="no summary.json under"):
        build_report(str(tmp_path))
    (tmp_path / "empty_model" / "summary.json").write_text("{not json")
    with pytest.raises(UserError, match="summary.json is not valid JSON"):
        build_report(str(tmp_path))
