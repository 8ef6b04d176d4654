"""TensorFlow's C++ start-up lines stay out of the console of every CLI (common_tools._quiet)."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("tensorflow")

CODE = "import common_tools, tensorflow as tf; print(int(tf.constant(1) + 1))"


def _run(env):
    return subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=180,
                          env=env)


def test_tensorflow_import_prints_nothing():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = _run(env)
    assert proc.stdout.strip() == "2"
    assert proc.stderr == "", proc.stderr


def test_user_can_ask_for_the_logs_back():
    proc = _run({**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"})
    assert proc.stdout.strip() == "2" and "oneDNN" in proc.stderr
