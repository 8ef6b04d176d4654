"""The demo's own helpers (the demo itself runs end to end in `make demo`): the caption panels
(caption above, Stage-I enlarged beside Stage-II) and the steady training rate from the log."""

import json
import os

import numpy as np

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _demo():
    import importlib.util

    spec = importlib.util.spec_from_file_location("stackgan_demo_stages", os.path.join(FOLDER, "demo.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_caption_grid_puts_stage1_beside_stage2(tmp_path):
    from PIL import Image

    lo = np.full((4, 8, 8, 3), -1.0, np.float32)           # black Stage-I
    hi = np.full((4, 32, 32, 3), 1.0, np.float32)          # white Stage-II
    hi[:, :, :, 1:] = -1                                    # ... red
    path = _demo().caption_grid(str(tmp_path / "g.png"), ["a red bird"] * 4, lo, hi)
    img = np.asarray(Image.open(path))
    assert img.shape == (18 + 2 * (32 + 44 + 8), 3 * (2 * 32 + 24), 3)
    y = 18 + 44 + 16                                        # the middle row of the first panel
    assert (img[y, 8 + 16] == 0).all() and list(img[y, 2 * 8 + 32 + 16]) == [255, 0, 0]


def test_steady_rate_skips_the_tracing(tmp_path):
    log = tmp_path / "train_log.jsonl"
    log.write_text("".join(json.dumps({"step": s, "elapsed": e}) + "\n"
                           for s, e in ((10, 30.0), (20, 32.0), (30, 34.0))))
    assert _demo().steady_rate(str(log)) == {"it_per_s": 5.0, "s_per_it": 0.2}
