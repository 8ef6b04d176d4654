"""The top-level Makefile: model targets refuse unknown or unnamed models in one line, and a second
`make setup` has nothing to do."""

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make(*args):
    return subprocess.run(["make", "--no-print-directory", "-s", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


FOLDERS = {"stargan": "StarGAN_for_TensorFlow", "stgan": "STGAN_for_ACL", "stackgan": "StackGAN_for_TensorFlow",
           "bigbigan": "BigbiGAN_for_ACL", "pgan": "PGAN_for_MindSpore"}

def test_unknown_model_lists_the_valid_ones():
    result = make("onnx", "MODEL=dcgan")
    assert result.returncode != 0
    assert "unknown MODEL=dcgan" in result.stdout + result.stderr
    assert "stargan" in result.stdout + result.stderr


def test_no_model_named():
    result = make("infer")
    assert result.returncode != 0
    assert "name a model" in result.stdout + result.stderr


def test_second_setup_is_a_no_op():
    # `make test` ran setup before pytest started, so the stamp must be up to date now
    result = subprocess.run(["make", "-q", "setup"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, "make setup would run again: " + result.stdout + result.stderr


@pytest.mark.parametrize("target,folder", [("demo", "StarGAN_for_TensorFlow"), ("demo", "STGAN_for_ACL"),
                                           ("bench", "StarGAN_for_TensorFlow"), ("bench", "STGAN_for_ACL")])
def test_demo_and_bench_reach_every_model_folder(target, folder):
    result = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"-C {folder} {target} " in result.stdout, result.stdout


def test_bundle_holds_the_model_folder_and_common_tools(tmp_path):
    import tarfile

    result = make("bundle", "MODEL=stargan")
    assert result.returncode == 0, result.stderr
    with tarfile.open(os.path.join(ROOT, "dist", "StarGAN_for_TensorFlow.tar.gz")) as tar:
        names = set(tar.getnames())
    assert {"StarGAN_for_TensorFlow/main.py", "StarGAN_for_TensorFlow/frozen_graph.py",
            "common_tools/pyproject.toml", "common_tools/common_tools/runner.py"} <= names
    assert not any("__pycache__" in n or n.startswith("StarGAN_for_TensorFlow/output/") for n in names)


def test_demo_of_one_model_runs_only_that_model():
    result = subprocess.run(["make", "-n", "demo", "MODEL=stgan"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "-C STGAN_for_ACL demo " in result.stdout
    assert "-C StarGAN_for_TensorFlow demo " not in result.stdout


@pytest.mark.parametrize("model,long_args", [
    ("stargan", "--preset long"), ("stgan", "--preset long"), ("bigbigan", "--preset long"),
    ("stackgan", "--num 2000 --iterations1 12000 --iterations2 3000"),   # the README's quality run
    ("pgan", "no longer preset yet")])                                   # none yet: said in one line
def test_long_demo_runs_the_longer_run_its_readme_quotes(model, long_args):
    def dry_run(*extra):
        result = subprocess.run(["make", "-n", "demo", f"MODEL={model}", *extra], cwd=ROOT,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    long, short = dry_run("LONG=1"), dry_run()
    assert long_args in long and f"runs/long/{model}" in long, long
    assert long_args not in short and f"runs/demo/{model}" in short, short
