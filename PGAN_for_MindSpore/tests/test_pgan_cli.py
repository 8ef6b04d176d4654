"""The card's entry points as a user runs them, as subprocesses on 16 SynthFaces: train.py (the
driver's CLI contract: Ctrl-C exits 130, bad input is one line; resume after SIGKILL mid-fade is in
test_pgan_faults.py), eval.py's grid and the shell launchers (export.py's MindIR and ONNX against
MindSpore: test_pgan_offline.py and test_pgan_demo.py). Training, eval and
export run under tests/no_tensorflow.py, which fails them if TensorFlow gets imported."""

import os
import subprocess

import numpy as np
import pytest
from PIL import Image

from common_tools import testing
from common_tools.logging import read_jsonl

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUARD = os.path.join("tests", "no_tensorflow.py")


def one_scale(steps):
    """train.py flags for a 4x4-only run of ``steps`` iterations, a checkpoint after each."""
    return ["--depth", "8", "--num_batch", str(steps), "--alpha_jumps", "0", "--alpha_size_jumps", "1",
            "--model_save_step", "1"]


class TestTrainCli(testing.CliContract):
    folder = FOLDER

    @pytest.fixture(autouse=True)
    def _faces(self, faces):
        self.faces = faces

    # the SIGKILL resume is tested mid-fade instead (test_pgan_faults.py), the harder case
    test_resume_after_sigkill = None

    def train_argv(self, run_dir, steps):
        return [GUARD, "train.py", "--train_data_path", self.faces, "--config_path", "tiny_config.yaml",
                "--ckpt_save_dir", run_dir, *one_scale(steps)]

    def bad_inputs(self, tmp_path):
        bad_yaml = tmp_path / "bad.yaml"
        bad_yaml.write_text("depth: [8]\nnum_batch: [2]\nalpha_jumps: [0]\nalpha_size_jumps: [1]\nlearning_rate: 0.1\n")
        broken_yaml = tmp_path / "broken.yaml"
        broken_yaml.write_text("depth: [8\n")
        empty = tmp_path / "empty"
        empty.mkdir()
        corrupt = tmp_path / "corrupt"
        corrupt.mkdir()
        (corrupt / "000001.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 100)   # a JPEG header, no end
        a_file = tmp_path / "a_file"
        a_file.write_text("x")
        avg4 = str(tmp_path / "AvG_4x4.ckpt")
        _save_4x4_generator(avg4)
        train = ["train.py", "--config_path", "tiny_config.yaml", "--ckpt_save_dir", str(tmp_path / "run")]
        return [
            (["train.py", "--config_path", str(bad_yaml), "--train_data_path", self.faces,
              "--ckpt_save_dir", str(tmp_path / "r1")], "unknown key 'learning_rate'"),
            (["train.py", "--config_path", str(broken_yaml), "--train_data_path", self.faces], "not valid YAML"),
            (["train.py", "--config_path", str(tmp_path / "none.yaml")], "config file not found"),
            (train + ["--train_data_path", str(tmp_path / "missing")], "is not a folder"),
            (train + ["--train_data_path", str(empty)], "no images in"),
            (train + ["--train_data_path", str(corrupt)], "none of the 1 files"),
            (train + ["--train_data_path", self.faces, "--ckpt_save_dir", str(a_file)], "is an existing file"),
            (train + ["--train_data_path", self.faces, "--num_batch", "two"], "bad value for num_batch"),
            (train + ["--train_data_path", self.faces, "--max_steps", "0"], "--max_steps must be >= 1"),
            (["eval.py", "--checkpoint_g", avg4, "--scale", "8", "--img_out_dir", str(tmp_path / "e")],
             "holds a 4x4 generator"),
            (["eval.py", "--checkpoint_g", str(tmp_path / "none.ckpt"), "--img_out_dir", str(tmp_path / "e")],
             "not found"),
            (["export.py", "--checkpoint_g", avg4, "--file_format", "AIR", "--file_name", str(tmp_path / "x")],
             "needs an Ascend device"),
            (["export.py", "--checkpoint_g", avg4, "--file_name", str(a_file / "x")], "is a file, not a folder"),
        ]


def _save_4x4_generator(path):
    from common_tools.ms_checkpoint import save_cell
    from pgan.network_G import Generator

    save_cell(Generator(depths=(8,), latent_dim=8, conv_form="native"), path)


def run(argv, cwd=FOLDER, timeout=600):
    return testing.run_script(cwd, argv, timeout=timeout)


@pytest.fixture(scope="module")
def trained(faces, tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("run"))
    proc = run([GUARD, "train.py", "--train_data_path", faces, "--config_path", "./tiny_config.yaml",
                "--ckpt_save_dir", run_dir])
    assert "trained iterations 0..5 of 5" in proc.stdout
    return run_dir


def test_train_writes_the_cards_checkpoints(trained):
    names = set(os.listdir(os.path.join(trained, "checkpoints")))
    for step in (2, 5):   # the end of each scale
        assert {f"AvG_{step}.ckpt", f"G_{step}.ckpt", f"D_{step}.ckpt", f"opt_G_{step}.ckpt",
                f"opt_D_{step}.ckpt", f"{step}.manifest.json"} <= names
    records = read_jsonl(os.path.join(trained, "train_log.jsonl"))
    assert [(r["step"], r["scale"], r["alpha"]) for r in records] == \
        [(1, 4, 0.0), (2, 4, 0.0), (3, 8, 1.0), (4, 8, 0.5), (5, 8, 0.0)]
    assert os.path.isfile(os.path.join(trained, "config.json"))


def test_eval_writes_the_cards_grid(trained, tmp_path):
    out = tmp_path / "img_eval"
    proc = run([GUARD, "eval.py", "--checkpoint_g", os.path.join(trained, "checkpoints", "AvG_5.ckpt"),
                "--img_out_dir", str(out)])
    assert "64 faces of the 8x8 generator" in proc.stdout
    grid = np.asarray(Image.open(out / "result.jpg"))
    assert grid.shape == (8 * 128, 8 * 128, 3)
    tiles = grid.reshape(8, 128, 8, 128, 3).transpose(0, 2, 1, 3, 4).reshape(64, -1).astype(np.float32)
    assert np.std(tiles.mean(axis=1)) > 0.1                 # 64 different faces, not one repeated
    run([GUARD, "eval.py", "--checkpoint_g", trained, "--img_out_dir", str(tmp_path / "latest"), "--n_images", "4",
         "--tile_size", "16"])                               # a run folder: its newest AvG
    assert Image.open(tmp_path / "latest" / "result.jpg").size == (8 * 16, 16)


def test_shell_launchers(faces, tmp_path):
    config = tmp_path / "two_steps.yaml"
    config.write_text("depth: [8]\nlatent_dim: 8\nnum_batch: [2]\nalpha_jumps: [0]\nalpha_size_jumps: [1]\n"
                      "batch_size: 4\nconv_form: native\nlog_every: 1\nsample_every: 0\n")
    run_dir = tmp_path / "run"
    proc = subprocess.run(["bash", "scripts/run_standalone_train.sh", faces, "0", str(config),
                           "--ckpt_save_dir", str(run_dir)], cwd=FOLDER, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (run_dir / "checkpoints" / "AvG_2.ckpt").is_file()
    proc = subprocess.run(["bash", os.path.join(FOLDER, "scripts", "run_eval.sh"),
                           str(run_dir / "checkpoints" / "AvG_2.ckpt"), "0"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert Image.open(tmp_path / "img_eval" / "result.jpg").size == (1024, 1024)
    proc = subprocess.run(["bash", "scripts/run_standalone_train.sh", faces], cwd=FOLDER,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "usage:" in proc.stderr


def test_help_has_examples():
    proc = run(["train.py", "--help"])
    assert "--config_path" in proc.stdout and "--num_batch" in proc.stdout and "Examples:" in proc.stdout


def test_bench_splits_only_the_32x32_fade_by_default():
    """bench.py's rows: the 32x32 fade at batch 16 in chunks of 4 (it does not fit in 24 GB at once),
    every other row whole; --micro_batch N sets every row (0 = none)."""
    import argparse
    import importlib.util

    spec = importlib.util.spec_from_file_location("pgan_bench", os.path.join(FOLDER, "bench.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    def micro(micro_batch=None):
        args = argparse.Namespace(quick=False, batch=16, repeats=2, native="none", micro_batch=micro_batch)
        return {c.kwargs["resolution"]: c.kwargs["micro"] for c in bench.configurations(args) if c.group == "train"}

    assert micro() == {4: 0, 8: 0, 16: 0, 32: 4}
    assert micro(micro_batch=0) == {4: 0, 8: 0, 16: 0, 32: 0}
    assert micro(micro_batch=8) == {4: 8, 8: 8, 16: 8, 32: 8}
