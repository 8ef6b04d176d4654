"""The entry scripts as a user runs them, as subprocesses in a temp folder on a small SynthFaces set:
train.py -> test.py -> ckpt2pb.py -> img2bin.py -> runner -> bin2img.py -> psnr_ssim.py, plus faults."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}


def run(script, *args, check=True):
    cmd = [sys.executable, *(["-m", script] if script.startswith("common_tools") else
                             [os.path.join(FOLDER, script)]), *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=240)
    if check and proc.returncode != 0:
        raise AssertionError(f"{script} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc


@pytest.fixture(scope="module")
def trained(tmp_path_factory, faces_dir):
    """A tiny experiment trained by train.py, with one corrupt training image in its data."""
    import shutil

    data = tmp_path_factory.mktemp("data") / "faces"
    shutil.copytree(faces_dir, data)
    with open(data / "img_align_celeba" / "000002.jpg", "wb") as f:  # 000002 is in the train split
        f.write(b"not a jpeg")
    out = tmp_path_factory.mktemp("output")
    proc = run("train.py", "--preset", "tiny", "--experiment_name", "t", "--data_dir", data,
               "--output_root", out, "--max_train_images", 12, "--n_d", 1, "--epochs", 2)
    return data, out, proc


def test_train_writes_the_card_layout_and_names_the_corrupt_image(trained):
    data, out, proc = trained
    exp = out / "t"
    assert "000002.jpg" in proc.stdout + proc.stderr and "not a JPEG" in proc.stderr + proc.stdout
    cfg = json.loads((exp / "config.json").read_text())
    assert cfg["img_size"] == 32 and cfg["n_d"] == 1 and cfg["experiment_name"] == "t"
    records = [json.loads(line) for line in (exp / "train_log.jsonl").read_text().splitlines()]
    it_per_epoch = (12 - 1) // 4  # one of the 12 files is corrupt; batch 2 x (n_d 1 + 1)
    assert [r["step"] for r in records] == list(range(1, 2 * it_per_epoch + 1))
    assert all(r["g_loss"] is not None and r["d_loss"] is not None for r in records)
    state = json.loads((exp / "checkpoints" / "checkpoint_state.json").read_text())
    assert state["latest"] == f"Epoch_(1)_({it_per_epoch}of{it_per_epoch}).ckpt"
    assert (exp / "checkpoints" / (state["latest"] + ".index")).is_file()
    assert sorted(os.listdir(exp / "sample_training"))[-1] == state["latest"].replace(".ckpt", ".png")
    assert os.listdir(exp / "summaries")


def test_test_ckpt2pb_img2bin_runner_bin2img_psnr(trained):
    data, out, _ = trained
    exp = out / "t"
    common = ["--experiment_name", "t", "--output_root", out]
    run("test.py", *common, "--data_dir", data, "--n_images", 2)
    strips = sorted(os.listdir(exp / "sample_testing"))
    assert len(strips) == 2 and strips[0].endswith(".png")
    proc = run("ckpt2pb.py", "--ckpt_path", exp / "checkpoints", "--pb_path", exp / "pb_model",
               "--onnx", exp / "onnx" / "STGAN.onnx")
    assert (exp / "pb_model" / "STGAN.pb").is_file() and (exp / "onnx" / "STGAN.onnx").is_file()
    parity = json.loads((exp / "pb_model" / "parity.json").read_text())
    assert max(v["max_abs"][0] for v in parity.values()) < 1e-5, proc.stdout
    run("img2bin.py", "--data_dir", data, "--save_dir", exp / "bin", "--n_images", 2, *common)
    assert len(os.listdir(exp / "bin" / "input2")) == 2 * 14
    inputs = ",".join(str(exp / "bin" / k) for k in ("input1", "input2", "input3"))
    proc = run("common_tools.runner", "--model", exp / "onnx" / "STGAN.onnx", "--input", inputs,
               "--output", exp / "msame_out", "--outfmt", "BIN")
    assert "Inference average time" in proc.stdout + proc.stderr
    run("bin2img.py", "--data_dir", data, "--bin_dir", exp / "msame_out", "--save_dir", exp / "om_testing", *common)
    assert sorted(os.listdir(exp / "om_testing")) == strips
    # the reconstructions (test_int does not touch them) agree between online and offline strips
    import numpy as np
    from PIL import Image
    online = np.asarray(Image.open(exp / "sample_testing" / strips[0]), np.int16)[:, :32 + 12 + 32]
    offline = np.asarray(Image.open(exp / "om_testing" / strips[0]), np.int16)[:, :32 + 12 + 32]
    assert np.abs(online - offline).max() <= 1
    proc = run("psnr_ssim.py", *common, "--json", exp / "psnr.json")
    result = json.loads((exp / "psnr.json").read_text())
    assert result["n"] == 2 and result["img_dir"].endswith("om_testing") and 0 < result["ssim"] <= 1


def test_user_errors_are_one_line(trained, tmp_path):
    data, out, _ = trained
    proc = run("test.py", "--experiment_name", "t", "--output_root", out, "--data_dir", data,
               "--test_atts", "Bangs", "Smiling_Wide", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "unknown attribute name(s) Smiling_Wide; valid: Bald, Bangs" in proc.stderr
    proc = run("bin2img.py", "--data_dir", data, "--bin_dir", tmp_path, "--save_dir", tmp_path / "png",
               check=False)
    assert proc.returncode == 2 and "no msame output subfolder" in proc.stderr.strip().splitlines()[-1]
    proc = run("train.py", "--preset", "tiny", "--data_dir", tmp_path / "nowhere", "--output_root", tmp_path,
               check=False)
    assert proc.returncode == 2 and "is not a CelebA folder" in proc.stderr and "Traceback" not in proc.stderr
    for script in ("train.py", "test.py", "ckpt2pb.py", "img2bin.py", "bin2img.py", "psnr_ssim.py"):
        proc = run(script, "--help")
        assert "Example" in proc.stdout and "python" in proc.stdout


def test_resume_after_sigkill(faces_dir, tmp_path):
    args = [os.path.join(FOLDER, "train.py"), "--preset", "tiny", "--experiment_name", "k", "--data_dir",
            faces_dir, "--output_root", tmp_path, "--max_train_images", 8, "--n_d", 1, "--save_every", 1,
            "--epochs", 10000]
    proc = subprocess.Popen([sys.executable, *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=ENV)
    state_file = tmp_path / "k" / "checkpoints" / "checkpoint_state.json"
    deadline = time.time() + 120
    try:
        while time.time() < deadline:
            if state_file.is_file() and json.loads(state_file.read_text())["step"] >= 2:
                break
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    saved = json.loads(state_file.read_text())["step"]
    assert saved >= 2
    args[args.index("--epochs") + 1] = saved + 2  # 2 iterations per epoch: finish 4 more iterations
    done = run("train.py", *args[1:])
    assert f"at iteration {saved}" in done.stdout
    records = [json.loads(line) for line in (tmp_path / "k" / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(1, 2 * (saved + 2) + 1))
