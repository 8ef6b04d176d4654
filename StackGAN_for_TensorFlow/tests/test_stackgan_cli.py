"""The card's scripts as a user runs them, as subprocesses on 12 SynthBirds at the tiny preset:
preprocess -> Stage-I -> Stage-II -> inference grids -> demo.py from a sentence; resume after
SIGKILL, Ctrl-C, and the bad inputs users hit (each one error line, no traceback)."""

import os
import pickle
import shutil

import pytest

from common_tools import testing
from common_tools.logging import read_jsonl

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--preset", "tiny", "--device", "cpu"]


def run(*argv, check=True):
    return testing.run_script(FOLDER, list(argv), timeout=300, check=check)


@pytest.fixture(scope="module")
def trained(synthbirds, stage1_run, tmp_path_factory):
    """Stage-II trained through the card's command (4 iterations) on the tiny Stage-I run
    (stageI/run_exp.py itself trains in TestStageICli's runs)."""
    data_dir, one = synthbirds["data_dir"], stage1_run
    two = str(tmp_path_factory.mktemp("runs") / "stageII")
    # the card's Stage-II YAML, its sizes brought down to the tiny Stage-I run's on the command line
    run("stageII/run_exp.py", "--cfg", "stageII/cfg/birds.yml", *TINY, "--data_dir", data_dir,
        "--output_dir", two, "--set", "TRAIN.PRETRAINED_MODEL", one, "TRAIN.BATCH_SIZE", "2",
        "TRAIN.MAX_ITERATIONS", "4", "GAN.GF_DIM", "4", "GAN.DF_DIM", "2", "GAN.EMBEDDING_DIM", "4",
        "Z_DIM", "8")
    return {"data_dir": data_dir, "stageI": one, "stageII": two}


def test_preprocess_script_writes_the_pickles(synthbirds, tmp_path):
    data_dir = str(tmp_path / "birds")
    shutil.copytree(synthbirds["data_dir"], data_dir)
    for split in ("train", "test"):
        for name in ("76images.pickle", "19images.pickle"):
            os.remove(os.path.join(data_dir, split, name))
    proc = run("misc/preprocess_birds.py", "--data_dir", data_dir, "--cub_dir",
               synthbirds["cub_dir"], "--load_size", "76")
    assert "9 images of 76x76" in proc.stdout and "3 images of 19x19" in proc.stdout
    for split in ("train", "test"):
        for name in ("76images.pickle", "19images.pickle"):
            assert os.path.getsize(os.path.join(data_dir, split, name)) > 0


def test_both_stages_train_and_write_their_run_folders(trained):
    for stage in ("stageI", "stageII"):
        run_dir = trained[stage]
        for name in ("config.json", "checkpoints/model_4.ckpt.index", "samples/4-images.png",
                     "run_summary.json"):
            assert os.path.exists(os.path.join(run_dir, name)), f"{stage}: {name}"
        records = read_jsonl(os.path.join(run_dir, "train_log.jsonl"))
        assert [r["step"] for r in records] == [1, 2, 3, 4]
        assert all(r["loss/D"] > 0 and r["loss/G"] > 0 and "loss/KL" in r for r in records)
    from common_tools import runs
    from stackgan.config import StackGANConfig

    two = runs.load_config(StackGANConfig, trained["stageII"])
    assert (two.stage, two.image_size, two.start_epoch, two.lr_decay_epoch) == (2, 64, 600, 100)
    assert read_jsonl(os.path.join(trained["stageII"], "train_log.jsonl"))[0]["epoch"] == 600


def test_inference_writes_grids_and_single_samples(trained, tmp_path):
    # in this process (stageII/run_exp.py as a subprocess: the fixture's training, the bad inputs)
    from stackgan import cli

    out = str(tmp_path / "eval")
    assert cli.main(2, ["--cfg", os.path.join(FOLDER, "stageII/cfg/birds.yml"), "--device", "cpu",
                        "--data_dir", trained["data_dir"], "--output_dir", out,
                        "--set", "TRAIN.FLAG", "False", "TRAIN.PRETRAINED_MODEL", trained["stageII"]]) == 0
    from PIL import Image

    grids = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(out, "test")) for f in fs)
    singles = [f for _, _, fs in os.walk(os.path.join(out, "test_single")) for f in fs]
    assert len(grids) == 3 and len(singles) == 3 * 4                  # TRAIN.NUM_COPY 4 of the YAML
    # a real 64 px column then 4 samples, on two lines: Stage-I (enlarged) above Stage-II
    assert Image.open(grids[0]).size == (5 * 66 + 2, 2 * 66 + 2)
    captions = open(os.path.join(out, "captions.txt")).read().splitlines()
    assert len(captions) == 3 and all("\t" in c and len(c.split("\t")[1]) > 10 for c in captions)


def test_demo_generates_from_a_sentence(trained, tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("stackgan_demo", os.path.join(FOLDER, "demo", "demo.py"))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    out = str(tmp_path / "demo")
    assert demo.main(["--checkpoint", trained["stageII"], "--caption", "a small red bird with a black crown",
                      "--num_copy", "2", "--out", out, "--device", "cpu"]) == 0
    assert "wrote 1 caption grids of 2 samples" in capsys.readouterr().out
    assert sorted(os.listdir(out)) == ["caption0.png", "caption0_0.png", "caption0_1.png", "captions.txt"]


@pytest.mark.parametrize("script", ["stageI/run_exp.py", "stageII/run_exp.py", "misc/preprocess_birds.py",
                                    "misc/preprocess_flowers.py", "demo/demo.py", "file2bin.py",
                                    "bin2img.py", "inception_score.py"])
def test_help_has_an_example(script):
    proc = run(script, "--help")
    assert "Example" in proc.stdout and "python " in proc.stdout


class TestStageICli(testing.CliContract):
    folder = FOLDER

    @pytest.fixture(autouse=True)
    def _data(self, synthbirds, trained):
        self.data_dir, self.trained = synthbirds["data_dir"], trained

    def train_argv(self, run_dir, steps):
        return ["stageI/run_exp.py", *TINY, "--data_dir", self.data_dir, "--output_dir", run_dir,
                "--set", "TRAIN.MAX_ITERATIONS", str(steps), "TRAIN.SNAPSHOT_INTERVAL", "1"]

    def bad_inputs(self, tmp_path):
        evil = tmp_path / "evil" / "birds"
        shutil.copytree(self.data_dir, evil)

        class Evil:
            def __reduce__(self):
                return (os.system, (f"touch {tmp_path / 'pwned'}",))

        with open(evil / "train" / "char-CNN-RNN-embeddings.pickle", "wb") as f:
            pickle.dump(Evil(), f, protocol=2)
        out = ["--output_dir", str(tmp_path / "out")]
        train1 = ["stageI/run_exp.py", *TINY, *out]
        return [
            (train1 + ["--data_dir", str(evil)], "refused to load"),
            (train1 + ["--data_dir", str(tmp_path / "nowhere")], "is not a folder"),
            (train1 + ["--data_dir", self.data_dir, "--set", "TRAIN.EPOCHS", "2"],
             "TRAIN.EPOCHS is not a valid config key"),
            (train1 + ["--data_dir", self.data_dir, "--set", "TRAIN.BATCH_SIZE", "64"],
             "fewer than batch_size 64"),
            (["stageII/run_exp.py", *TINY, *out, "--data_dir", self.data_dir, "--set",
              "TRAIN.PRETRAINED_MODEL", str(tmp_path / "no_stage1")],
             f"TRAIN.PRETRAINED_MODEL {tmp_path / 'no_stage1'}: checkpoint not found"),
            (["stageII/run_exp.py", *TINY, "--data_dir", self.data_dir, "--set", "TRAIN.FLAG",
              "False", "TRAIN.PRETRAINED_MODEL", self.trained["stageI"]], "is a Stage-I run"),
            (["stageI/run_exp.py", "--cfg", str(tmp_path / "missing.yml")], "--cfg"),
            (["demo/demo.py", "--checkpoint", self.trained["stageII"], "--out", str(tmp_path / "d")],
             "no captions"),
        ]

    def test_bad_inputs_give_one_line(self, tmp_path):
        super().test_bad_inputs_give_one_line(tmp_path)
        assert not (tmp_path / "pwned").exists()          # the malicious pickle ran nothing


def test_modelzoo_launchers_need_data_path_and_read_the_log(trained):
    import subprocess

    from common_tools.modelzoo import summarize

    for launcher in ("test/train_full_1p.sh", "test/train_performance_1p.sh"):
        proc = subprocess.run(["bash", launcher], cwd=FOLDER, capture_output=True, text=True, timeout=30)
        assert proc.returncode == 2 and "--data_path=" in proc.stderr
    assert "--loss_key loss/G" in open(os.path.join(FOLDER, "test", "common_1p.sh")).read()
    records = read_jsonl(os.path.join(trained["stageII"], "train_log.jsonl"))
    assert summarize(records, 2, loss_key="loss/G")
