"""pgan/evaluate.py on common_tools.metrics: SWD per Laplacian level (real vs generated) and MS-SSIM of
generated pairs for a 16x16 generator, FID only where TensorFlow + weights exist (never imported
otherwise), and the figures a too-small generator cannot have."""

import sys

import mindspore as ms
import numpy as np
import pytest

from pgan.dataset import ImageFolder
from pgan.evaluate import fid_status, quality, real_images
from pgan.network_G import Generator


@pytest.fixture(scope="module")
def data(faces):
    return ImageFolder(faces, seed=1)


@pytest.fixture(scope="module")
def g16():
    previous = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(5)
    yield Generator(depths=(8, 8, 4), latent_dim=8, num_scales=3, conv_form="native")
    ms.set_context(mode=previous)


def test_swd_and_msssim_of_a_16px_generator(g16, data, monkeypatch):
    from common_tools.metrics.swd import swd

    from pgan import evaluate

    tf_before = "tensorflow" in sys.modules
    ok, why = fid_status()                       # looks TensorFlow up without importing it
    assert isinstance(ok, bool) and (ok or why.startswith("FID skipped"))
    assert tf_before or "tensorflow" not in sys.modules
    # FID itself (Inception on CPU, ~30 s with TensorFlow's import) is common_tools' to test; here: skipped, said
    monkeypatch.setattr(evaluate, "fid_status", lambda: (False, "FID skipped: TensorFlow is not installed"))
    figures = quality(g16, data, n=8, seed=1, fid=True)
    assert figures["resolution"] == 16 and figures["n"] == 8
    assert set(figures["swd"]) == {"swd_16", "swd_avg"}             # 16x16: one pyramid level
    # an untrained G is far from the faces; two disjoint sets of real faces are much closer
    reals_a, reals_b = real_images(data, 8, 16, start=0), real_images(data, 8, 16, start=8)
    real_vs_real = swd(reals_a, reals_b, seed=1)["swd_avg"]
    assert figures["swd"]["swd_avg"] > 1.5 * real_vs_real > 0
    assert 0.0 <= figures["msssim"] <= 1.0 and figures["msssim_pairs"] == 4
    assert 0.0 <= figures["msssim_reals"] <= 1.0
    assert figures["fid"] is None and figures["notes"] == ["FID skipped: TensorFlow is not installed"]
    assert tf_before or "tensorflow" not in sys.modules


def test_small_generators_get_no_swd(data):
    previous = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        figures = quality(Generator(depths=(4, 4), latent_dim=8, num_scales=2, conv_form="native"), data, n=4)
    finally:
        ms.set_context(mode=previous)
    assert figures["swd"] is None and figures["msssim"] is None and "need >= 16 px" in figures["notes"][0]


def test_eval_writes_metrics_json(g16, faces, tmp_path):
    import importlib.util
    import json
    import os

    from common_tools.ms_checkpoint import save_cell

    save_cell(g16, str(tmp_path / "AvG_16.ckpt"))
    folder = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location("pgan_cli_eval", os.path.join(folder, "eval.py"))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    cli.setup_mindspore = lambda *args, **kwargs: None     # MindSpore's device is set once per process
    previous = ms.get_context("mode")
    try:
        cli.main(["--checkpoint_g", str(tmp_path / "AvG_16.ckpt"), "--img_out_dir", str(tmp_path / "img"),  # one batch shape: one compile
                  "--n_images", "6", "--tile_size", "16", "--metrics_data", faces, "--n_metrics", "6",
                  "--device", "cpu"])
    finally:
        ms.set_context(mode=previous)
    figures = json.loads((tmp_path / "img" / "metrics.json").read_text())
    assert figures["resolution"] == 16 and figures["n"] == 6 and figures["msssim_pairs"] == 3
    assert figures["swd"]["swd_16"] == figures["swd"]["swd_avg"] > 0 and figures["fid"] is None
