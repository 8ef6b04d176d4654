"""Put PGAN_for_MindSpore/ on sys.path (pytest runs with --import-mode=importlib from the repo root);
a session-wide SynthFaces folder for the training and script tests."""

import os
import sys

import pytest

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if FOLDER not in sys.path:
    sys.path.insert(0, FOLDER)


@pytest.fixture(scope="session")
def faces(tmp_path_factory):
    """16 SynthFaces in the CelebA layout (178 x 218 JPEGs in img_align_celeba/)."""
    from common_tools.synthetic import faces as synth

    root = str(tmp_path_factory.mktemp("synthfaces"))
    synth.generate(root, num=16, seed=0)
    return root
