"""demo.py end to end on a 4 -> 8 -> 16 schedule of 1 + 2 + 2 iterations at 4 feature maps, under
tests/no_tensorflow.py: every stage of the card's flow runs (om skipped, said), summary.json is schema 1
with the parity, SWD and MS-SSIM figures, the files of run_infer_310.sh's flow are there, and
common_tools.report renders it."""

import json
import os

import pytest

from common_tools import testing
from common_tools.stages import load_summary

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_DEMO = ("depth: [4, 4, 4]\nlatent_dim: 8\nnum_batch: [1, 2, 2]\nalpha_jumps: [0, 1, 1]\n"
             "alpha_size_jumps: [1, 1, 1]\nbatch_size: 4\nconv_form: native\nlog_every: 1\nsample_every: 0\n")


@pytest.fixture(scope="module")
def demo_out(faces, tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    (root / "tiny_demo.yaml").write_text(TINY_DEMO)
    out = root / "pgan"
    proc = testing.run_script(FOLDER, [os.path.join("tests", "no_tensorflow.py"), "demo.py", "--out", str(out),
                                       "--data_dir", faces, "--config_path", str(root / "tiny_demo.yaml"),
                                       "--n_metrics", "8"], timeout=600)
    assert "demo: 5 iterations" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]
    return out


def test_demo_summary_has_every_stage_and_figure(demo_out):
    # by path, under a name of its own: another folder's demo.py may already be `demo` in this process
    STAGES = testing.load_module(os.path.join(FOLDER, "demo.py"), "pgan_demo_py").STAGES
    summary = load_summary(str(demo_out / "summary.json"))
    assert summary["schema"] == 1 and summary["model"] == "pgan"
    status = {s["name"]: s["status"] for s in summary["stages"]}
    assert list(status) == list(STAGES)
    assert status.pop("om") == "skipped" and status.pop("data") == "skipped"    # the faces were there already
    assert set(status.values()) == {"done"}
    numbers = summary["numbers"]
    pairs = numbers["parity_max_abs"]
    assert {"onnxruntime_vs_mindspore_native", "mindspore_native_vs_mindspore_matmul",
            "mindspore_native_vs_mindir"} <= set(pairs)
    assert all(v <= 1e-4 for v in pairs.values()), pairs
    assert summary["targets"]["parity_max_abs.onnxruntime_vs_mindir"] == {"op": "<=", "value": 1e-4}
    assert set(numbers["swd_x1e3"]) == {"swd_16", "swd_avg"} and numbers["swd_x1e3"]["swd_avg"] > 0
    assert 0 <= numbers["msssim"] <= 1 and summary["paper"]["msssim"] == 0.2948
    assert numbers["iterations"] == 5 and numbers["offline_inferences"] == 1
    assert set(numbers.get("s_per_iteration", {})) <= {"4", "8", "16"}     # scales with >= 3 logged steps
    assert [i["path"] for i in summary["images"]] == ["grid_4.png", "grid_8.png", "grid_16.png", "runner_grid.png"]
    assert summary["loss_keys"] and all(k.startswith("loss/") for k in summary["loss_keys"])


def test_demo_leaves_the_cards_offline_files(demo_out):
    assert sorted(os.listdir(demo_out / "result_Files"), key=lambda n: int(n[10:-4])) == \
        [f"generated_{n}.png" for n in range(64)]
    assert "infer_count 1" in (demo_out / "time_Result" / "test_perform_static.txt").read_text()
    manifest = json.loads((demo_out / "preprocess_Result" / "manifest.json").read_text())
    assert [i["name"] for i in manifest["inputs"]] == ["z", "alpha"] and manifest["outputs"][0]["shape"] == [64, 3, 16, 16]
    assert (demo_out / "PGAN.mindir").is_file() and (demo_out / "PGAN.onnx").is_file()


def test_report_renders_the_demo(demo_out):
    proc = testing.run_script(FOLDER, ["-m", "common_tools.report", str(demo_out.parent)])
    html = (demo_out.parent / "index.html").read_text()
    assert "PGAN_for_MindSpore demo" in html and "grid_16.png" in html, proc.stdout[-500:]
