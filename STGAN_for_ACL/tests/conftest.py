"""Put STGAN_for_ACL/ on sys.path (pytest runs with --import-mode=importlib from the repo root)."""

import os
import sys

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if FOLDER not in sys.path:
    sys.path.insert(0, FOLDER)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def faces_dir(tmp_path_factory):
    """A small SynthFaces set (CelebA layout) made by the shared generator."""
    from common_tools.synthetic.faces import generate

    out = tmp_path_factory.mktemp("synthfaces")
    generate(str(out), 40, seed=3)
    return str(out)
