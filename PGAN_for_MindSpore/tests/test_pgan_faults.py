"""Faults the other test files leave out: train.py killed with SIGKILL in the middle of a fade and run
again continues at the same scale, alpha and step; export.py (like eval.py) given a checkpoint of
another scale says in one line which scale it holds; eval.py's metric flags with a missing data
folder or FID without data. (Unknown YAML keys: test_pgan_config.py; a missing or empty data folder,
a folder of corrupt images: test_pgan_cli.py; one corrupt image among good ones: test_pgan_dataset.py.)"""

import importlib.util
import os

import mindspore as ms
import pytest

from common_tools import testing
from common_tools.errors import UserError
from common_tools.logging import read_jsonl

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# 4x4 for 1 iteration, then 8x8 for 6 with alpha 1, 1, 2/3, 2/3, 1/3, 1/3: steps 2..7 are all mid-fade
FADE = ["--num_batch", "1,6", "--alpha_jumps", "0,3", "--alpha_size_jumps", "1,2", "--model_save_step", "1"]
EXPECTED = [(1, 4, 0.0), (2, 8, 1.0), (3, 8, 1.0), (4, 8, 2 / 3), (5, 8, 2 / 3), (6, 8, 1 / 3), (7, 8, 1 / 3)]


def _script(name):
    """eval.py / export.py as modules, to call their main() in this process (device already set up)."""
    spec = importlib.util.spec_from_file_location(f"pgan_cli_{name}", os.path.join(FOLDER, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # MindSpore's device is set once per process; this one already runs kernels on the CPU
    module.setup_mindspore = lambda *args, **kwargs: None
    return module


def test_cli_resume_after_sigkill_mid_fade(faces, tmp_path):
    run_dir = tmp_path / "run"
    argv = ["train.py", "--train_data_path", faces, "--config_path", "tiny_config.yaml",
            "--ckpt_save_dir", str(run_dir), *FADE]
    log = run_dir / "train_log.jsonl"
    # the 8x8 graphs compile first: slow on a busy CPU
    killed_at, done = testing.kill_and_rerun(FOLDER, argv, log, 2, timeout=600)
    assert 2 <= killed_at < 7                                            # in the fade, before its end
    assert "resumed from" in done.stderr + done.stdout
    records = read_jsonl(str(log))
    resumed = [r for r in records if r["step"] > killed_at]
    # the newest checkpoint may be one step behind the last logged record: that step runs again
    assert resumed and resumed[0]["step"] >= killed_at - 1
    steps = [(r["step"], r["scale"], round(r["alpha"], 6)) for r in records]
    want = [(s, r, round(a, 6)) for s, r, a in EXPECTED]
    assert sorted(set(steps)) == want                                    # every step once, in schedule
    assert steps[-1] == want[-1] and "trained iterations" in done.stdout


def test_export_names_the_scale_a_checkpoint_holds(tmp_path):
    from common_tools.ms_checkpoint import save_cell
    from pgan.network_G import Generator

    avg8 = str(tmp_path / "AvG_8x8.ckpt")
    save_cell(Generator(depths=(8, 4), latent_dim=8, num_scales=2, conv_form="native"), avg8)
    previous = ms.get_context("mode")
    try:
        for name, extra in (("export", ["--file_name", str(tmp_path / "PGAN")]),
                            ("eval", ["--img_out_dir", str(tmp_path / "img")])):
            with pytest.raises(UserError, match=r"holds a 8x8 generator \(2 scales, depth \[8, 4\]\), not 16x16"):
                _script(name).main(["--checkpoint_g", avg8, "--scale", "16", "--device", "cpu", *extra])
        assert not os.path.exists(tmp_path / "PGAN.mindir")
        evaluate = _script("eval")
        with pytest.raises(UserError, match="is not a folder"):
            evaluate.main(["--checkpoint_g", avg8, "--img_out_dir", str(tmp_path / "img"),
                           "--metrics_data", str(tmp_path / "no_faces")])
        with pytest.raises(UserError, match="--fid needs --metrics_data"):
            evaluate.main(["--checkpoint_g", avg8, "--img_out_dir", str(tmp_path / "img"), "--fid"])
    finally:
        ms.set_context(mode=previous)
