"""python -m common_tools.metrics: JSON results, --out, --help, one-line errors with exit 2."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from common_tools.metrics import psnr_ssim_batch
from common_tools.metrics.__main__ import main


def run_cli(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "common_tools.metrics", *args], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.fixture
def folders(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (3, 24, 24, 3), dtype=np.uint8)
    b = np.clip(a + rng.normal(0, 10, a.shape), 0, 255).astype(np.uint8)
    for name, arr in (("a", a), ("b", b)):
        (tmp_path / name).mkdir()
        for i, im in enumerate(arr):
            Image.fromarray(im).save(tmp_path / name / f"{i:03d}.png")
    return tmp_path, a, b


def test_psnr_ssim_on_folders_prints_and_writes_json(folders):
    root, a, b = folders
    res = run_cli("psnr_ssim", str(root / "a"), str(root / "b"), "--out", str(root / "r.json"))
    assert res.returncode == 0, res.stderr
    printed = json.loads(res.stdout)
    assert printed == json.load(open(root / "r.json"))
    ref = psnr_ssim_batch(a, b)
    assert printed["n"] == 3 and printed["psnr"] == pytest.approx(ref["psnr"]) and printed["ssim"] == pytest.approx(ref["ssim"])


def test_bad_inputs_give_one_line_and_exit_2(folders):
    root, _, _ = folders
    (root / "empty").mkdir()
    (root / "big").mkdir()
    Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(root / "big" / "000.png")
    Image.fromarray(np.zeros((24, 24, 3), np.uint8)).save(root / "big" / "001.png")
    cases = [("psnr_ssim", str(root / "missing"), str(root / "b")),
             ("msssim", str(root / "empty")),
             ("psnr_ssim", str(root / "big"), str(root / "b"))]
    errors = []
    for args in cases:
        res = run_cli(*args)
        assert res.returncode == 2, (args, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in res.stderr
        errors.append(lines[0])
    assert "not found" in errors[0] and "no images" in errors[1] and "differs from" in errors[2]


def test_help_has_a_runnable_example():
    res = run_cli("--help")
    assert res.returncode == 0 and "python -m common_tools.metrics fid" in res.stdout


def test_swd_and_msssim_on_npz(tmp_path, capsys):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "r.npz", images=rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8))
    np.savez(tmp_path / "f.npz", rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8))
    assert main(["swd", str(tmp_path / "r.npz"), str(tmp_path / "f.npz")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"swd_32", "swd_16", "swd_avg"} <= set(out)
    assert main(["msssim", str(tmp_path / "r.npz")]) == 0
    assert json.loads(capsys.readouterr().out)["pairs"] == 2


def test_is_without_weights_fails_before_any_work(tmp_path):
    res = run_cli("is", str(tmp_path), "--num", "4")
    assert res.returncode == 2 and "--is_weights" in res.stderr


def test_attr_train_and_eval_with_generic_split_and_crop_names(tmp_path, capsys):
    from common_tools.metrics.attr_classifier import AttributeClassifier
    from common_tools.synthetic import faces

    data = faces.generate(tmp_path / "faces", num=40, seed=0)
    out = str(tmp_path / "clf")
    assert main(["attr_train", "--data_root", str(data), "--out_dir", out, "--attrs", "Male", "--image_size", "32",
                 "--steps", "1", "--batch_size", "4", "--crop", "center:178", "--resize", "bilinear",
                 "--split", "seeded", "--n_test", "6"]) == 0
    clf = AttributeClassifier.load(out)
    assert clf.preprocess.crop.to_dict() == {"kind": "center", "size": 178} and clf.preprocess.resize == "bilinear"
    assert clf.split.to_dict()["kind"] == "seeded" and clf.meta["test_accuracy"]["n"] == 4  # a tenth of 40
    capsys.readouterr()
    assert main(["attr_eval", "--classifier", out, "--data_root", str(data)]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 4  # its own (seeded) split
    assert main(["attr_eval", "--classifier", out, "--data_root", str(data), "--split", "partition"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 4  # SynthFaces' partition file: 4 test images


def test_attr_train_bad_crop_is_one_line(tmp_path):
    res = run_cli("attr_train", "--data_root", str(tmp_path), "--out_dir", str(tmp_path / "o"), "--crop", "box:1,2")
    assert res.returncode == 2 and res.stderr.strip().count("\n") == 0 and "--crop 'box:1,2'" in res.stderr
