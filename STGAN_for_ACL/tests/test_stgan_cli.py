"""The card's scripts as a user runs them: kill -9 and resume, Ctrl-C saves, bad inputs give one line
(every writing CLI checks its output paths first); the shell launchers, the Makefile on a fresh
clone, the attribute-list forms, --help examples and bench's temporary folders."""

import os
import re
import stat
import subprocess
import sys

import pytest

from common_tools import testing
from common_tools.logging import read_jsonl

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# a smaller STGAN than tiny for the subprocess trainings (2 layers, 16 px): the same code paths
MICRO = ["--img_size", "16", "--enc_layers", "2", "--dec_layers", "2", "--dis_layers", "2",
         "--shortcut_layers", "1", "--inject_layers", "1", "--n_sample", "0"]


class TestCli(testing.CliContract):
    folder = FOLDER

    @pytest.fixture(autouse=True)
    def _data(self, faces_dir):
        self.data_dir = faces_dir

    def train_argv(self, run_dir, steps):
        # 4 images = 1 iteration per epoch (batch 2 x (n_d 1 + 1)): `steps` epochs, a checkpoint each
        return ["train.py", "--preset", "tiny", *MICRO, "--output_root", os.path.dirname(run_dir),
                "--experiment_name", os.path.basename(run_dir), "--data_dir", self.data_dir,
                "--max_train_images", "4", "--epochs", str(steps), "--save_every", "1"]

    def bad_inputs(self, tmp_path):
        a_file = tmp_path / "a_file"
        a_file.write_text("not a folder")
        t, f, d = str(tmp_path), str(a_file), self.data_dir
        return [
            (["train.py", "--preset", "tiny", "--output_root", f, "--experiment_name", "x"], f"{f} is a file"),
            (["train.py", "--preset", "tiny", "--output_root", t, "--data_dir", f"{t}/nowhere"], "is not a CelebA folder"),
            (["test.py", "--experiment_name", "x", "--output_root", t, "--save_dir", f], "--save_dir"),
            (["test.py", "--experiment_name", "missing", "--output_root", t], "checkpoint not found"),
            (["ckpt2pb.py", "--ckpt_path", t, "--pb_path", f"{f}/pb_model"], "--pb_path"),
            (["ckpt2pb.py", "--ckpt_path", t, "--pb_path", f"{t}/pb", "--onnx", f"{f}/x.onnx"], "--onnx"),
            (["img2bin.py", "--data_dir", d, "--save_dir", f], "--save_dir"),
            (["bin2img.py", "--bin_dir", t, "--save_dir", f], "--save_dir"),
            (["bin2img.py", "--bin_dir", t, "--save_dir", f"{t}/png"], "give --input_dir"),
            (["psnr_ssim.py", "--experiment_name", "x", "--output_root", t, "--json", f"{f}/p.json"], "--json"),
            (["att_classification/test.py", "--img_dir", t, "--json", f"{f}/r.json"], "--json"),
            (["att_classification/train.py", "--out_dir", f], "--out_dir"),
            (["demo.py", "--out", f], "demo folder"),
            (["bench.py", "--out", f], "--out"),
        ]


def _exe(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_infer_sh_stops_when_msame_reports_an_error(tmp_path):
    # before: scripts/infer.sh called the raw msame, which exits 0 after [ERROR] lines
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _exe(bin_dir / "atc", "#!/bin/sh\nexit 0\n")
    _exe(bin_dir / "msame", "#!/bin/sh\necho '[ERROR] input parameter must be folder'\n"
                            "echo '[INFO] Execute sample success'\nexit 0\n")
    # only the msame step runs for real: the python steps around it stand in (they are tested elsewhere)
    _exe(tmp_path / "python", f'#!/bin/sh\n[ "$1 $2" = "-m common_tools.msame" ] && exec {sys.executable} "$@"\n'
                              'echo "skipped: $*"\n')
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHON": str(tmp_path / "python"),
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(["bash", "scripts/infer.sh", f"--data_dir={tmp_path}", "--experiment_name=e",
                           f"--output_root={tmp_path}/output"], cwd=FOLDER, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "error: msame reported an error (exit 0): [ERROR] input parameter must be folder" in proc.stderr
    assert "skipped: img2bin.py" in proc.stdout and "skipped: bin2img.py" not in proc.stdout  # it stopped there


@pytest.mark.parametrize("target", ["om", "infer", "onnx"])
def test_make_on_a_fresh_clone_says_what_to_run_first(tmp_path, target):
    proc = subprocess.run(["make", "-s", "--no-print-directory", target, f"OUT={tmp_path}/runs/demo/stgan"],
                          cwd=FOLDER, capture_output=True, text=True, timeout=60)
    lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("make")]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "run 'make demo MODEL=stgan'" in lines[0] and "EXP=" in lines[0]


def test_modelzoo_launchers_read_a_loss_the_log_has(trained):
    from common_tools.modelzoo import summarize

    records = read_jsonl(os.path.join(trained[0], "train_log.jsonl"))
    for launcher in ("test/train_full_1p.sh", "test/train_performance_1p.sh"):
        key = re.search(r"--loss_key (\S+)", open(os.path.join(FOLDER, launcher)).read()).group(1)
        assert key == "loss/G"
        assert summarize(records, 32, loss_key=key)   # the old g_loss: "no values for loss key"


def test_attribute_lists_take_the_same_forms_everywhere(script, capsys):
    from stgan.cli import words

    forms = (["Bangs", "Male"], ["Bangs Male"], ["Bangs,Male"])
    for form in forms:
        script("train.py").main(["--preset", "tiny", "--dry_run", "--atts", *form])
        assert re.search(r"atts\s+= \('Bangs', 'Male'\)", capsys.readouterr().out)
        assert words(script("test.py").build_parser().parse_args(
            ["--experiment_name", "x", "--test_atts", *form]).test_atts) == ("Bangs", "Male")
        assert words(script("img2bin.py").build_parser().parse_args(
            ["--data_dir", "d", "--save_dir", "s", "--atts", *form]).atts) == ("Bangs", "Male")
        assert words(script("att_classification/test.py").build_parser().parse_args(
            ["--img_dir", "d", "--atts", *form]).atts) == ("Bangs", "Male")


def test_every_script_has_a_runnable_example_in_its_help(script, capsys):
    for name in ("train.py", "test.py", "ckpt2pb.py", "img2bin.py", "bin2img.py", "psnr_ssim.py", "demo.py",
                 "att_classification/train.py", "att_classification/test.py"):
        with pytest.raises(SystemExit):
            script(name).build_parser().parse_args(["--help"])
        text = capsys.readouterr().out
        assert "Example" in text and "python" in text, name


def test_bench_runs_in_the_harness_and_leaves_no_temporary_folder(tmp_path):
    # before: bench.py's inference worker left a stgan_bench_* folder in the temp dir on every run
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.run([sys.executable, "bench.py", "--out", str(tmp_path / "bench"), "--quick", "--only",
                           "G latency"], cwd=FOLDER, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TMPDIR": str(tmp), "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert os.listdir(tmp) == []
    assert "G latency batch 1, ONNX Runtime CPU, 64 px" in (tmp_path / "bench" / "stgan.md").read_text()
