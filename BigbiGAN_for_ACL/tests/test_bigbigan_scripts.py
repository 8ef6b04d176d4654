"""The card's scripts as a user runs them (subprocesses, tiny config, a 24-image SynthDigits set):
pic2bin -> models/main.py (train, SIGKILLed after step 2 and run again: it resumes, finishes, freezes,
writes gpu_out.bin) -> pb_validate -> the card's msame line on the ONNX runner -> getAcc; Ctrl-C,
bad input; online/pb/onnx/runner parity. The card flow's training is the resume-after-SIGKILL
contract's run (one training process fewer than a run of each)."""

import json
import os
import pickle
import shutil

import numpy as np
import pytest

from common_tools import testing
from common_tools.imagesets import write_idx
from common_tools.logging import JSONL_NAME
from common_tools.synthetic.digits import generate

from bigbigan import offline

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.slow      # three training processes (~20 s of CPU each: TF, build, trace)
STEPS, KILL_AFTER = 6, 2


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """{"data": SynthDigits folder (24 train images), "bin": pic2bin's folder}."""
    root = tmp_path_factory.mktemp("bigbigan_inputs")
    generate(str(root / "digits"), num=24, seed=0, num_test=10)
    testing.run_script(FOLDER, ["pic2bin.py", "--output_bin_dir", str(root / "bin")])
    return {"data": str(root / "digits"), "bin": str(root / "bin")}


def main_argv(inputs, run_dir, steps, *extra):
    return ["models/main.py", "--input_bin_dir", inputs["bin"], "--dataset_path", inputs["data"],
            "--result_path", str(run_dir), "--output_pb_path", os.path.join(run_dir, "pb"),
            "--output_gpu_generated_img", os.path.join(run_dir, "generated_images"),
            "--preset", "tiny", "--iterations", str(steps), *extra]


@pytest.fixture(scope="module")
def card_flow(inputs, tmp_path_factory):
    """The card's five commands, in order (models/main.py killed after step 2, then run again);
    returns the paths they wrote and what the two training runs logged."""
    work = tmp_path_factory.mktemp("bigbigan_card")
    run = work / "results"
    argv = main_argv(inputs, run, STEPS, "--checkpoint_every", "1")
    killed_at, resumed = testing.kill_and_rerun(FOLDER, argv, run / JSONL_NAME, KILL_AFTER)
    gen = os.path.join(run, "generated_images")
    pb_dir = os.path.join(run, "pb")
    testing.run_script(FOLDER, ["pb_validate.py", "--input_bin_dir", inputs["bin"], "--input_pb_path", pb_dir,
                                "--output_pb_generated_img", gen])
    om_out = str(work / "om_out")
    bins = f"{inputs['bin']}/fake_image.bin,{inputs['bin']}/label.bin"
    runner = testing.run_script(FOLDER, ["-m", "common_tools.runner", "--model", f"{pb_dir}/bigbigan.onnx",
                                         "--input", bins, "--output", om_out, "--outfmt", "BIN", "--loop", "1"])
    acc = testing.run_script(FOLDER, ["getAcc.py", "--input_om_out", om_out,
                                      "--input_gpu_generated_img", f"{gen}/gpu_out.bin",
                                      "--input_pb_generated_img", f"{gen}/pb_out.bin",
                                      "--output_om_generated_img", f"{om_out}/generated_images"])
    return {"run": str(run), "pb": f"{pb_dir}/bigbigan.pb", "onnx": f"{pb_dir}/bigbigan.onnx",
            "gpu": f"{gen}/gpu_out.bin", "pb_out": f"{gen}/pb_out.bin", "om_out": om_out,
            "images": f"{om_out}/generated_images", "runner_log": runner.stdout, "acc_log": acc.stdout,
            "killed_at": killed_at, "resumed": resumed}


def test_card_flow_writes_what_the_card_names(card_flow, inputs):
    from common_tools.atc import build_atc_command, read_pb_inputs

    pb_inputs = [(n, tuple(s), np.dtype(d).name) for n, s, d in read_pb_inputs(card_flow["pb"])]
    assert pb_inputs == [("x1", (256, 100), "float32"), ("x2", (256,), "int32")]
    atc = build_atc_command(card_flow["pb"], "out/bigbigan", "Ascend310")
    assert '--input_shape=x1:256,100;x2:256' in " ".join(atc)          # the card's ATC line
    om_file = offline.resolve_om_output(card_flow["om_out"])
    assert os.path.basename(om_file) == "bigbigan_output_0.bin"        # msame's file-mode name
    for key in ("gpu", "pb_out"):
        assert os.path.getsize(card_flow[key]) == 256 * 32 * 32 * 4
    report = json.load(open(os.path.join(card_flow["images"], "accuracy.json")))
    assert set(report["pairs"]) == {"gpu vs pb", "gpu vs om", "pb vs om"}
    assert all(p["max_abs"][0] < 1e-4 for p in report["pairs"].values())
    assert "gpu vs om" in card_flow["acc_log"]
    assert len(os.listdir(os.path.join(card_flow["images"], "images"))) == 256
    from PIL import Image

    side = Image.open(os.path.join(card_flow["images"], "side_by_side.png"))
    assert side.size[0] > 3 * 32 and side.size[1] > 8 * 32               # 3 columns of 8 images
    samples = os.listdir(os.path.join(card_flow["run"], "samples"))
    assert samples == [f"{STEPS:06d}.png"]                                # the preview at the end


def _load_script(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bigbigan_card_{name}", os.path.join(FOLDER, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_evaluate_script_writes_every_figure(card_flow, inputs, tmp_path, capsys):
    """evaluate.py on the card run (in this process: TensorFlow is already loaded here)."""
    out = tmp_path / "evaluation"
    assert _load_script("evaluate").main(["--result_path", card_flow["run"], "--dataset_path", inputs["data"],
                                          "--output_dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "linear probe" in printed and "label consistency" in printed and "encoder spread" in printed
    s = json.load(open(out / "evaluation.json"))
    assert s["checkpoint_step"] == STEPS and s["n_train"] == 24 and s["n_test"] == 10 and s["n_generated"] == 1000
    assert set(s["probe"]) == {"E", "random_E", "pixels", "E_pooled", "random_E_pooled"}
    assert all(0.0 <= v <= 1.0 for v in s["probe"].values())
    assert 0.0 <= s["label_consistency"] <= 1.0 and len(s["label_consistency_per_class"]) == 10
    assert 0.0 < s["reconstruction_mse"] < 1.0 and s["collapse"]["dims"] == 100
    from PIL import Image

    assert Image.open(out / "reconstructions.png").size[1] > 2 * 32        # two rows: x, G(E(x), y)
    assert Image.open(out / "samples_per_class.png").size[1] > 10 * 32     # one row per class


class TestParity(testing.ParityContract):
    @pytest.fixture(autouse=True)
    def _flow(self, card_flow, inputs):
        self.flow, self.inputs = card_flow, inputs

    def outputs(self, tmp_path):
        from common_tools.export import OnnxModel

        z, y = offline.read_inputs(self.inputs["bin"])
        (onnx,) = OnnxModel(self.flow["onnx"]).run({"x1": z, "x2": y})
        return {"online": [offline.read_images(self.flow["gpu"])],
                "pb": [offline.read_images(self.flow["pb_out"])], "onnx": [onnx],
                "runner": [offline.read_images(offline.resolve_om_output(self.flow["om_out"]))]}


def test_online_model_is_not_the_training_mode(card_flow, inputs):
    """gpu_out.bin comes from inference mode (moving batch-norm statistics, stored u): the same G in
    training mode on the same inputs gives other images, so parity compares what ATC compiles."""
    import tensorflow as tf

    from bigbigan.export import load_generator

    _, G, step = load_generator(card_flow["run"])
    assert step == STEPS
    z, y = offline.read_inputs(inputs["bin"])
    train_mode = G(tf.constant(z[:16]), tf.constant(y[:16]), training=True).numpy()
    online = offline.read_images(card_flow["gpu"])[:16]
    assert np.abs(train_mode - online).max() > 1e-3


class TestCli(testing.CliContract):
    folder = FOLDER

    @pytest.fixture(autouse=True)
    def _inputs(self, inputs):
        self.inputs = inputs

    def train_argv(self, run_dir, steps):
        return main_argv(self.inputs, run_dir, steps, "--checkpoint_every", "1", "--no_onnx")

    def test_resume_after_sigkill(self, card_flow):
        """The contract's check, on the card flow's run: killed after step 2, run again to the end."""
        steps = self.assert_resumed(card_flow["killed_at"], card_flow["resumed"],
                                    os.path.join(card_flow["run"], JSONL_NAME), steps=STEPS, after=KILL_AFTER)
        assert steps == list(range(1, STEPS + 1))                          # no step lost (log_every 1)

    def bad_inputs(self, tmp_path):
        bins, data = self.inputs["bin"], self.inputs["data"]
        z, y = offline.read_inputs(bins)
        cases = []

        def bin_dir(name, z=z, y=y):
            d = tmp_path / name
            d.mkdir()
            offline.write_inputs(str(d), z, y)
            return str(d)

        def run(tag, bin_path=bins, data_path=data, *extra):
            return main_argv({"bin": bin_path, "data": data_path}, tmp_path / f"run_{tag}", 4, *extra)

        bad_labels = y.copy()
        bad_labels[7] = 12
        cases.append((run("labels", bin_dir("labels", y=bad_labels)), "label 12"))
        short = bin_dir("short")
        with open(os.path.join(short, "fake_image.bin"), "wb") as f:
            f.write(b"\0" * 1000)
        cases.append((run("short", short), "expected 102400 bytes"))
        cases.append((run("nobins", str(tmp_path / "nothing")), "pic2bin.py"))
        (tmp_path / "empty").mkdir()
        cases.append((run("layout", bins, str(tmp_path / "empty")), "holds no mnist data"))
        # an IDX file cut short, and one with a wrong magic number (plain, not gzipped)
        images = np.zeros((24, 28, 28), np.uint8)
        labels = (np.arange(24) % 10).astype(np.uint8)
        for tag in ("truncated", "magic"):
            d = tmp_path / tag
            d.mkdir()
            write_idx(str(d / "train-images-idx3-ubyte"), images)
            write_idx(str(d / "train-labels-idx1-ubyte"), labels)
        with open(tmp_path / "truncated" / "train-images-idx3-ubyte", "r+b") as f:
            f.truncate(16 + 24 * 28 * 28 - 100)
        with open(tmp_path / "magic" / "train-labels-idx1-ubyte", "r+b") as f:
            f.write(b"\x12\x34")
        cases.append((run("truncated", bins, str(tmp_path / "truncated")), "truncated IDX file"))
        cases.append((run("magic", bins, str(tmp_path / "magic")), "bad IDX magic number"))
        # a CIFAR-10 batch whose pickle would run a command
        cifar = tmp_path / "cifar" / "cifar-10-batches-py"
        cifar.mkdir(parents=True)
        evil = pickle.dumps(_Evil(), protocol=2)
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            (cifar / name).write_bytes(evil)
        cases.append((run("cifar", bins, str(tmp_path / "cifar"), "--dataset", "cifar10"), "refused to load"))
        cases.append((run("batch", bins, data, "--train_batch_size", "64"), "fewer than one batch of 64"))
        (tmp_path / "a_file").write_text("x")
        cases.append((main_argv({"bin": bins, "data": data}, tmp_path / "a_file", 4), "--result_path"))
        cases.append((["pb_validate.py", "--input_bin_dir", bins, "--input_pb_path", str(tmp_path / "nopb"),
                       "--output_pb_generated_img", str(tmp_path / "gen")], "frozen graph"))
        gpu = tmp_path / "gpu_out.bin"
        gpu.write_bytes(b"\0" * 4000)
        cases.append((["getAcc.py", "--input_om_out", str(gpu), "--input_gpu_generated_img", str(gpu),
                       "--input_pb_generated_img", str(gpu), "--output_om_generated_img", str(tmp_path / "o")],
                      "4000 bytes"))
        cases.append((["pic2bin.py", "--output_bin_dir", str(tmp_path / "a_file")], "--output_bin_dir"))
        cases.append((["evaluate.py", "--result_path", str(tmp_path / "empty"), "--dataset_path", data,
                       "--output_dir", str(tmp_path / "ev")], "no config.json"))
        cases.append((["evaluate.py", "--result_path", str(tmp_path / "empty"), "--dataset_path", data,
                       "--output_dir", str(tmp_path / "a_file")], "--output_dir"))
        return cases


class _Evil:
    def __reduce__(self):
        return (shutil.rmtree, ("/nonexistent-bigbigan-test",))
