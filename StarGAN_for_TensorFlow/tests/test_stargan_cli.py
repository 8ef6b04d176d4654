"""The entry scripts as a user runs them, as subprocesses in a temp folder on 24 SynthFaces:
train -> test -> freeze (+ONNX) -> img2bin -> runner -> bin2img, plus the faults users hit."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from common_tools import binio
from common_tools.errors import UserError
from common_tools.logging import read_jsonl

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
TINY = ["--preset", "tiny", "--device", "cpu"]


def run(*args, check=True, timeout=180):
    proc = subprocess.run([sys.executable, *args], cwd=FOLDER, env=ENV, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args[0]} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("synthfaces"))
    run("-m", "common_tools.synthetic", "faces", "--out", root, "--num", "24", "--seed", "0")
    return {"root": root, "images": os.path.join(root, "img_align_celeba"),
            "attrs": os.path.join(root, "list_attr_celeba.txt")}


def data_args(faces):
    return ["--image_root", faces["images"], "--metadata_path", faces["attrs"]]


@pytest.fixture(scope="module")
def trained(faces, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("run"))
    run("main.py", "--phase", "train", *TINY, *data_args(faces), "--output_dir", out)
    return out


def test_train_writes_the_run_folder(trained):
    for name in ("config.json", "train_log.jsonl", "checkpoint/model-4.index",
                 "checkpoint/model-2.index", "samples/4-images.png"):
        assert os.path.exists(os.path.join(trained, name)), name
    assert os.listdir(os.path.join(trained, "summaries"))
    records = read_jsonl(os.path.join(trained, "train_log.jsonl"))
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert all(np.isfinite(r["loss/D"]) for r in records)
    assert "loss/G" in records[1] and "loss/G" not in records[0]       # n_critic 2
    assert json.load(open(os.path.join(trained, "config.json")))["image_size"] == 32


def test_test_phase_writes_grids(faces, trained):
    proc = run("main.py", "--phase", "test", *data_args(faces), "--output_dir", trained,
               "--checkpoint", "model-4", "--batch_size", "2")
    assert "wrote 2 translation grids" in proc.stdout
    from PIL import Image

    grid = Image.open(os.path.join(trained, "results", "1-images.png"))
    assert grid.size == (6 * 34 + 2, 2 * 34 + 2)        # input + 5 targets per row, 2 rows, 2px pad


def test_offline_pipeline_matches_online(faces, trained, tmp_path):
    pb, bins, out = str(tmp_path / "stargan.pb"), str(tmp_path / "bin"), str(tmp_path / "out")
    run("frozen_graph.py", "--phase", "frozen_graph", "--input_checkpoint",
        os.path.join(trained, "checkpoint", "model-4"), "--out_pb_path", pb, "--onnx")
    assert os.path.getsize(pb) > 1000 and os.path.isfile(str(tmp_path / "stargan.onnx"))
    run("img2bin.py", *data_args(faces), "--output_dir", trained, "--bin_dir", bins, "--num", "2")
    names = sorted(os.listdir(os.path.join(bins, "x_real")))
    assert len(names) == 10 and names == sorted(os.listdir(os.path.join(bins, "c_trg")))
    assert os.path.getsize(os.path.join(bins, "x_real", names[0])) == 32 * 32 * 3 * 4
    run("-m", "common_tools.runner", "--model", str(tmp_path / "stargan.onnx"),
        "--input", f"{bins}/x_real,{bins}/c_trg", "--output", out)
    proc = run("bin2img.py", "--bin_dir", bins, "--output_root", out, "--out", str(tmp_path / "grids"))
    assert "read 2 x 5 outputs" in proc.stdout
    assert os.path.isfile(str(tmp_path / "grids" / "grid_000.png"))
    # the runner's output equals the online G restored from the checkpoint
    from stargan.export import load_generator

    _, G, _ = load_generator(os.path.join(trained, "checkpoint", "model-4"))
    name = names[3]
    x = binio.read_bin(os.path.join(bins, "x_real", name), (1, 32, 32, 3))
    c = binio.read_bin(os.path.join(bins, "c_trg", name), (1, 5))
    sub = os.listdir(out)[0]
    y = binio.read_bin(os.path.join(out, sub, name[:-4] + "_output_0.bin"), (1, 32, 32, 3))
    assert np.abs(np.asarray(G(x, c)) - y).max() < 1e-5


@pytest.mark.parametrize("script", ["main.py", "frozen_graph.py", "img2bin.py", "bin2img.py",
                                    "demo.py", "bench.py"])
def test_help_has_an_example(script):
    proc = run(script, "--help")
    assert "Example" in proc.stdout and "python " in proc.stdout


def test_unknown_attribute_is_one_line(faces, tmp_path):
    proc = run("main.py", "--phase", "train", *TINY, *data_args(faces), "--output_dir",
               str(tmp_path / "x"), "--selected_attrs", "Black_Hair Purple_Hair", check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error: unknown attribute(s) Purple_Hair") and "Blond_Hair" in lines[-1]
    assert "Traceback" not in proc.stderr


def test_c_dim_mismatch_and_missing_checkpoint_are_one_line(faces, trained, tmp_path):
    import main

    with pytest.raises(UserError, match="c_dim is 3 but 5 selected_attrs"):
        main.main(["--phase", "train", *TINY, *data_args(faces), "--output_dir",
                   str(tmp_path / "y"), "--c_dim", "3", "--dry_run"])
    import frozen_graph

    with pytest.raises(UserError, match="checkpoint not found: .*model-99"):
        frozen_graph.main(["--input_checkpoint", os.path.join(trained, "checkpoint", "model-99"),
                           "--out_pb_path", str(tmp_path / "x.pb")])


def test_sigkill_then_same_command_resumes(faces, tmp_path):
    out = str(tmp_path / "resume")
    cmd = [sys.executable, "main.py", "--phase", "train", *TINY, *data_args(faces), "--output_dir",
           out, "--training_iterations", "60", "--save_steps", "1000", "--checkpoint_steps", "3"]
    proc = subprocess.Popen(cmd, cwd=FOLDER, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = os.path.join(out, "checkpoint", "checkpoint_state.json")
    deadline = time.time() + 120
    while not os.path.exists(state) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "training ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = json.load(open(state))["step"]
    assert 3 <= killed_at < 60
    done = subprocess.run(cmd, cwd=FOLDER, env=ENV, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"resuming from {os.path.join(out, 'checkpoint', f'model-{killed_at}')}" in done.stderr
    steps = [r["step"] for r in read_jsonl(os.path.join(out, "train_log.jsonl"))]
    assert steps == list(range(1, 61))                      # continues, no step twice
    assert json.load(open(state))["step"] == 60


def test_nan_loss_stops_and_keeps_last_good_checkpoint(faces, tmp_path):
    from stargan.config import StarGANConfig
    from stargan.train import train

    out = str(tmp_path / "nan")
    cfg = StarGANConfig.tiny().replace(training_iterations=8, inject_nan_at=5)
    with pytest.raises(UserError, match="non-finite loss at iteration 5: loss/D=nan.*model-4$"):
        train(cfg, faces["images"], faces["attrs"], out, stream=open(os.devnull, "w"))
    assert [r["step"] for r in read_jsonl(os.path.join(out, "train_log.jsonl"))] == [1, 2, 3, 4]
    ckpts = sorted(f for f in os.listdir(os.path.join(out, "checkpoint")) if f.endswith(".index"))
    assert ckpts == ["model-2.index", "model-4.index"]


def test_corrupt_image_is_skipped_named_and_counted(faces, tmp_path):
    import shutil

    from stargan import data
    from stargan.config import StarGANConfig

    root = tmp_path / "faces"
    shutil.copytree(faces["root"], root)
    cfg = StarGANConfig.tiny()
    train_split, _ = data.load_splits(cfg, str(root / "img_align_celeba"), str(root / "list_attr_celeba.txt"))
    bad = train_split.files[0]
    (root / "img_align_celeba" / bad).write_bytes(b"\xff\xd8\xff garbage")
    with pytest.warns(UserWarning, match=bad):
        ds = data.dataset(cfg, str(root / "img_align_celeba"), train_split, training=True)
    assert ds.image_check.count == 1 and ds.image_check.skipped == [bad]
    x, c = next(iter(ds))
    assert x.shape == (2, 32, 32, 3)


def test_evaluate_reports_accuracy_and_reconstruction(faces, trained, tmp_path):
    """The real evaluation path with a classifier trained for 2 steps (the judge is not the point)."""
    from stargan import data, evaluate
    from stargan.export import load_generator

    cfg, G, _ = load_generator(os.path.join(trained, "checkpoint"))
    _, test_split = data.load_splits(cfg, faces["images"], faces["attrs"])
    batches = data.dataset(cfg, faces["images"], test_split, training=False, repeat=False)
    report = evaluate.evaluate(G, cfg, batches, faces["images"], faces["attrs"],
                               out_path=str(tmp_path / "eval.json"), classifier_dir=str(tmp_path / "clf"),
                               fid=False, classifier_kw={"steps": 2, "batch_size": 4, "verbose": 0})
    assert report["n_images"] == 4 and report["n_translations"] == 20
    assert set(report["accuracy"]["per_attribute"]) == set(cfg.selected_attrs)
    assert all(0.0 <= v <= 1.0 for v in report["accuracy"]["per_attribute"].values())
    assert 0.0 < report["reconstruction_l1"] < 2.0
    assert json.load(open(tmp_path / "eval.json"))["reconstruction_l1"] == report["reconstruction_l1"]
    assert "reconstruction L1" in evaluate.format_report(report)


def test_modelzoo_launcher_requires_data_path():
    proc = subprocess.run(["bash", "test/train_performance_1p.sh"], cwd=FOLDER, env=ENV,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "--data_path=" in proc.stderr
