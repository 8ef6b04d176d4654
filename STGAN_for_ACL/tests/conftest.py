"""Put STGAN_for_ACL/ on sys.path (pytest runs with --import-mode=importlib from the repo root);
shared fixtures: a small SynthFaces set and one tiny experiment trained on it by the real driver."""

import os
import sys

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if FOLDER not in sys.path:
    sys.path.insert(0, FOLDER)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def faces_dir(tmp_path_factory):
    """40 SynthFaces (CelebA layout: 32 train, 4 val, 4 test) made by the shared generator."""
    from common_tools.synthetic.faces import generate

    out = tmp_path_factory.mktemp("synthfaces")
    generate(str(out), 40, seed=3)
    return str(out)


@pytest.fixture(scope="session")
def trained(tmp_path_factory, faces_dir):
    """(experiment folder, its train() summary): the tiny preset, 16 images, 4 iterations, trained
    in this process by stgan.train.train (the driver of train.py), eagerly (see ``eager``)."""
    import io

    import tensorflow as tf

    from stgan.config import STGANConfig
    from stgan.train import train

    exp = str(tmp_path_factory.mktemp("output") / "t")
    tf.config.run_functions_eagerly(True)
    try:
        summary = train(STGANConfig.tiny(max_train_images=16), exp, faces_dir, stream=io.StringIO(),
                        tensorboard=False)
    finally:
        tf.config.run_functions_eagerly(False)
    return exp, summary


@pytest.fixture
def eager():
    """Run the STGAN step eagerly: tests of the driver's policies build several fresh models, and
    tracing each one's step costs ~5 s of CPU. The traced step runs in test_stgan_step.py and in
    every subprocess training of test_stgan_cli.py."""
    import tensorflow as tf

    tf.config.run_functions_eagerly(True)
    yield
    tf.config.run_functions_eagerly(False)


@pytest.fixture(scope="session")
def script():
    """``script("train.py").main(argv)``: an entry script of the folder loaded by path (its own
    module name, so no other folder's train.py can stand in for it)."""
    import importlib.util

    loaded = {}

    def load(name):
        if name not in loaded:
            path = os.path.join(FOLDER, name)
            spec = importlib.util.spec_from_file_location("stgan_script_" + name.replace("/", "_")[:-3], path)
            loaded[name] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(loaded[name])
        return loaded[name]

    return load
