"""The entry scripts as a user runs them, as subprocesses in a temp folder on 24 SynthFaces:
test -> freeze (+ONNX) -> img2bin -> runner -> bin2img, the shared CLI and parity contracts
(train, resume after SIGKILL, Ctrl-C, one-line bad inputs), and the faults users hit."""

import contextlib
import importlib.util
import io
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from common_tools import testing
from common_tools.logging import read_jsonl

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--preset", "tiny", "--device", "cpu"]


def run(*argv, check=True):
    return testing.run_script(FOLDER, argv, timeout=240, check=check)


def data_args(faces):
    return ["--image_root", faces["images"], "--metadata_path", faces["attrs"]]


def cli(script, *argv) -> str:
    """An entry script's ``main(argv)`` run in this process (TensorFlow loads once); its stdout.
    Every script also runs as a subprocess in TestCli and the bad-input cases."""
    spec = importlib.util.spec_from_file_location(f"stargan_script_{script[:-3]}", os.path.join(FOLDER, script))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert module.main(list(argv)) == 0
    return out.getvalue()


@pytest.fixture(scope="module")
def pipeline(faces, trained, tmp_path_factory):
    """frozen_graph.py -> img2bin.py -> the runner -> bin2img.py, with the card's flags."""
    from common_tools.runner import run_folder

    tmp = tmp_path_factory.mktemp("offline")
    p = {"pb": str(tmp / "stargan.pb"), "onnx": str(tmp / "stargan.onnx"), "bins": str(tmp / "bin"),
         "out": str(tmp / "out"), "grids": str(tmp / "grids")}
    cli("frozen_graph.py", "--phase", "frozen_graph", "--input_checkpoint",
        os.path.join(trained, "checkpoints", "model-4"), "--out_pb_path", p["pb"], "--onnx")
    p["img2bin"] = cli("img2bin.py", *data_args(faces), "--output_dir", trained, "--bin_dir", p["bins"],
                       "--num", "2")
    run_folder(p["onnx"], inputs=[f"{p['bins']}/x_real", f"{p['bins']}/c_trg"], output=p["out"],
               log=lambda line: None)
    p["stamp"] = os.listdir(p["out"])[0]
    # --output_folder by its bare name, as its help says (it used to work only as a path)
    p["bin2img"] = run("bin2img.py", "--bin_dir", p["bins"], "--output_root", p["out"], "--output_folder",
                       p["stamp"], "--out", p["grids"]).stdout
    return p


@pytest.fixture(autouse=True)
def _fixtures(request):
    if request.instance is not None and hasattr(request.instance, "folder"):
        for name in ("faces", "trained", "pipeline"):
            setattr(request.instance, name, request.getfixturevalue(name))


def test_train_writes_the_run_folder(trained):
    for name in ("config.json", "train_log.jsonl", "run_summary.json", "checkpoints/model-4.index",
                 "checkpoints/model-2.index", "samples/4-images.png", "samples/2-images.png"):
        assert os.path.exists(os.path.join(trained, name)), name
    assert not os.path.exists(os.path.join(trained, "checkpoint"))    # the old folder name
    assert os.listdir(os.path.join(trained, "summaries"))
    records = read_jsonl(os.path.join(trained, "train_log.jsonl"))
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert all(np.isfinite(r["loss/D"]) and r["lr_g"] > 0 for r in records)
    assert "loss/G_rec" in records[1] and "loss/G" not in records[0]       # n_critic 2
    saved = json.load(open(os.path.join(trained, "config.json")))
    assert saved["image_size"] == 32 and "c_dim" not in saved and "inject_nan_at" not in saved


def test_test_phase_writes_grids(faces, trained):
    out = cli("main.py", "--phase", "test", *data_args(faces), "--output_dir", trained,
              "--checkpoint", "model-4", "--batch_size", "2", "--device", "cpu")
    assert "wrote 2 translation grids" in out
    from PIL import Image

    grid = Image.open(os.path.join(trained, "results", "1-images.png"))
    assert grid.size == (6 * 34 + 2, 2 * 34 + 2)        # input + 5 targets per row, 2 rows, 2px pad


def test_offline_pipeline_writes_every_file(pipeline):
    assert os.path.getsize(pipeline["pb"]) > 1000 and os.path.isfile(pipeline["onnx"])
    names = sorted(os.listdir(os.path.join(pipeline["bins"], "x_real")))
    assert len(names) == 10 and names == sorted(os.listdir(os.path.join(pipeline["bins"], "c_trg")))
    assert all(n.startswith("stargan_") for n in names)
    assert os.path.getsize(os.path.join(pipeline["bins"], "x_real", names[0])) == 32 * 32 * 3 * 4
    assert "wrote 10 input pairs" in pipeline["img2bin"]
    assert f"read 2 x 5 outputs from {os.path.join(pipeline['out'], pipeline['stamp'])}" in pipeline["bin2img"]
    assert os.path.isfile(os.path.join(pipeline["grids"], "grid_000.png"))


class TestParity(testing.ParityContract):
    folder = FOLDER

    def outputs(self, tmp_path):
        """The img2bin inputs through G online, the .pb, the .onnx, and the runner's files."""
        from common_tools import export
        from common_tools.offline import read_inputs
        from stargan.export import OUTPUT, load_generator
        from stargan.offline import read_rows

        p = self.pipeline
        _, G, _ = load_generator("model-4", output_dir=self.trained)
        x, c = (read_inputs(p["bins"], name)[:, 0] for name in ("x_real", "c_trg"))
        pb, onnx = export.FrozenGraph(p["pb"], outputs=[OUTPUT]), export.OnnxModel(p["onnx"])
        feeds = [{"x_real": x[i:i + 1], "c_trg": c[i:i + 1]} for i in range(len(x))]
        rows, _ = read_rows(p["bins"], p["out"])
        return {"online": [np.asarray(G(x, c))], "pb": [np.concatenate([pb.run(f)[0] for f in feeds])],
                "onnx": [np.concatenate([onnx.run(f)[0] for f in feeds])],
                "runner": [rows[:, 1:].reshape((-1,) + rows.shape[2:])]}


class TestCli(testing.CliContract):
    folder = FOLDER

    def train_argv(self, run_dir, steps):
        return ["main.py", "--phase", "train", *TINY, *data_args(self.faces), "--output_dir", run_dir,
                "--training_iterations", str(steps), "--checkpoint_steps", "1", "--save_steps", "100000"]

    def bad_inputs(self, tmp_path):
        """Each class of bad input; the first line of the list would be a traceback on the old code."""
        f, data, trained, p = tmp_path / "a_file", data_args(self.faces), self.trained, self.pipeline
        f.write_text("not a folder")
        train = ["main.py", "--phase", "train", *TINY, *data]
        mismatched = tmp_path / "mismatched"                  # a checkpoint of another width
        shutil.copytree(os.path.join(trained, "checkpoints"), mismatched / "checkpoints")
        cfg = json.load(open(os.path.join(trained, "config.json")))
        (mismatched / "config.json").write_text(json.dumps({**cfg, "g_conv_dim": 12}))
        (tmp_path / "results_file").mkdir()
        (tmp_path / "results_file" / "results").write_text("x")
        (tmp_path / "eval_dir" / "eval.json").mkdir(parents=True)
        few = tmp_path / "few.txt"                            # 3 images: fewer than n_test (4)
        rows = open(self.faces["attrs"]).read().splitlines()
        few.write_text("\n".join(["3", rows[1], *rows[2:5]]) + "\n")
        foreign = tmp_path / "foreign"                        # our outputs and another model's
        shutil.copytree(os.path.join(p["out"], p["stamp"]), foreign / p["stamp"])
        (foreign / p["stamp"] / "stgan_000001_output_0.bin").write_bytes(b"\0" * 64)
        ckpt = os.path.join(trained, "checkpoints", "model-4")
        return [
            (train + ["--output_dir", str(f)], "--output_dir"),
            (train + ["--output_dir", str(tmp_path / "r1"), "--c_dim", "3"], "--c_dim 3 disagrees with the 5"),
            (train + ["--output_dir", str(tmp_path / "r2"), "--selected_attrs", "Black_Hair", "Purple_Hair"],
             "unknown attribute(s) Purple_Hair"),
            (["main.py", "--phase", "test", *data, "--output_dir", str(mismatched)], "does not match"),
            (["main.py", "--phase", "test", *data, "--output_dir", str(tmp_path / "results_file")], "results"),
            (["main.py", "--phase", "eval", *data, "--output_dir", str(tmp_path / "eval_dir")], "eval.json"),
            (["frozen_graph.py", "--input_checkpoint", ckpt, "--out_pb_path", str(tmp_path)], "--out_pb_path"),
            (["frozen_graph.py", "--input_checkpoint", ckpt, "--out_pb_path", str(tmp_path / "ok.pb"),
              "--onnx", str(f / "x.onnx")], "--onnx"),
            (["img2bin.py", *data, "--output_dir", trained, "--bin_dir", str(f)], "--bin_dir"),
            (["img2bin.py", "--image_root", self.faces["images"], "--metadata_path", str(few), "--output_dir",
              trained, "--bin_dir", str(tmp_path / "b")], "main.py --phase train --n_test N"),
            (["bin2img.py", "--bin_dir", p["bins"], "--output_root", p["out"], "--out", str(f)], "--out"),
            (["bin2img.py", "--bin_dir", p["bins"], "--output_root", str(foreign), "--out", str(tmp_path / "g")],
             "not from the inputs"),
            (["demo.py", "--out", str(f), "--data", str(tmp_path / "faces")], "--out"),
            (["bench.py", "--out", str(f)], "--out"),
        ]


@pytest.mark.parametrize("script", ["main.py", "frozen_graph.py", "img2bin.py", "bin2img.py",
                                    "demo.py", "bench.py"])
def test_help_has_an_example(script):
    proc = run(script, "--help")
    assert "Example" in proc.stdout and "python " in proc.stdout


def test_card_flags_and_c_dim_check(faces, tmp_path):
    """--selected_attrs takes several words or one quoted string; --c_dim is checked, not stored."""
    base = ["main.py", "--phase", "train", *TINY, *data_args(faces), "--output_dir", str(tmp_path), "--dry_run"]
    words = run(*base, "--selected_attrs", "Black_Hair", "Male", "--c_dim", "2").stdout
    quoted = run(*base, "--selected_attrs", "Black_Hair Male", "--batch_size", "3").stdout
    assert "selected_attrs      = ('Black_Hair', 'Male')" in words and "c_dim" not in words
    assert "selected_attrs      = ('Black_Hair', 'Male')" in quoted and "batch_size          = 3" in quoted
    gone = run(*base, "--inject_nan_at", "3", check=False)       # the hidden test hook flag is gone
    assert gone.returncode == 2 and "unrecognized arguments: --inject_nan_at" in gone.stderr


@pytest.mark.parametrize("target", ["om", "infer"])
def test_make_on_a_fresh_clone_says_what_to_run_first(target, tmp_path):
    proc = subprocess.run(["make", "--no-print-directory", "-s", target, f"OUT={tmp_path}"], cwd=FOLDER,
                          capture_output=True, text=True, timeout=60)
    errors = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("error:")]
    assert proc.returncode != 0 and len(errors) == 1, proc.stdout + proc.stderr
    assert "make demo MODEL=stargan" in errors[0] and "Traceback" not in proc.stderr
    assert ("CKPT=" if target == "om" else "OUT=") in errors[0]


def test_corrupt_image_is_skipped_named_and_counted(faces, tmp_path):
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

    cfg, G, _ = load_generator(None, trained)
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
    proc = subprocess.run(["bash", "test/train_performance_1p.sh"], cwd=FOLDER, capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 2 and "--data_path=" in proc.stderr
