"""Put StackGAN_for_TensorFlow/ on sys.path so tests import ``stackgan`` and the entry scripts;
the SynthBirds fixture every data, training and script test shares."""

import os
import subprocess
import sys

import pytest

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if FOLDER not in sys.path:
    sys.path.insert(0, FOLDER)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SYNTH_NUM = 12          # 9 train images (9 classes), 3 test images (3 other classes)


@pytest.fixture(scope="session")
def synthbirds(tmp_path_factory):
    """12 SynthBirds in the CUB + StackGAN layout, preprocessed at load size 76 (76 and 19 px
    pickles: the tiny preset's Stage-II and Stage-I sizes). {"root", "data_dir", "cub_dir"}."""
    root = str(tmp_path_factory.mktemp("synthbirds"))
    subprocess.run([sys.executable, "-m", "common_tools.synthetic", "birds", "--out", root,
                    "--num", str(SYNTH_NUM), "--seed", "0"], check=True, capture_output=True)
    from stackgan.data import preprocess_birds

    data_dir, cub_dir = os.path.join(root, "birds"), os.path.join(root, "CUB_200_2011")
    preprocess_birds(data_dir, cub_dir, load_size=76, say=lambda m: None)
    return {"root": root, "data_dir": data_dir, "cub_dir": cub_dir}


@pytest.fixture(scope="session")
def stage1_run(synthbirds, tmp_path_factory):
    """A Stage-I run of the tiny preset (4 iterations) on the SynthBirds fixture, trained in this
    process: the Stage-I checkpoint the Stage-II tests start from."""
    from stackgan.config import StackGANConfig
    from stackgan.train import train

    run_dir = str(tmp_path_factory.mktemp("stage1"))
    train(StackGANConfig.tiny(), run_dir, data_dir=synthbirds["data_dir"], tensorboard=False,
          stream=open(os.devnull, "w"))
    return run_dir
