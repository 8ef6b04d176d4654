"""PGANConfig and the card's YAML files: every file loads, the paper's schedule, the fade-in formula
against the card's own loop, and one-line errors for bad files."""

import os
import subprocess
import sys

import pytest

from common_tools.errors import UserError
from pgan.config import FOLDER, IGNORED_KEYS, PGANConfig, from_yaml

YAMLS = ("910_config.yaml", "gpu_config.yaml", "cpu_config.yaml", "demo_config.yaml", "tiny_config.yaml")


def card_alphas(num_batch, alpha_jumps, alpha_size_jumps, device_num=1):
    """The card's cal_each_batch_alpha (train.py), as written there."""
    each_batch_alpha = []
    for index in range(len(num_batch)):
        new_batch_alpha = []
        alphas = -1
        new_jumps = alpha_jumps[index] / device_num
        for i in range(num_batch[index]):
            if i % alpha_size_jumps[index] == 0:
                alphas += 1
            if i < new_jumps * alpha_size_jumps[index]:
                new_batch_alpha.append(1 - alphas / new_jumps)
            else:
                new_batch_alpha.append(0.0)
        each_batch_alpha.append(new_batch_alpha)
    return each_batch_alpha


@pytest.mark.parametrize("name", YAMLS)
def test_every_yaml_loads(name):
    cfg, extras = from_yaml(os.path.join(FOLDER, name))
    assert cfg.num_scales == len(cfg.depth) and cfg.total_steps == sum(cfg.num_batch)
    assert set(extras) <= {"train_data_path", "ckpt_save_dir"}


def test_910_yaml_is_the_paper():
    cfg, extras = from_yaml(os.path.join(FOLDER, "910_config.yaml"))
    assert cfg == PGANConfig.paper()
    assert cfg.scales == (4, 8, 16, 32, 64, 128) and cfg.depth == (512, 512, 512, 512, 256, 128)
    assert cfg.num_batch == (48_000,) + (96_000,) * 5 and cfg.batch_size == 16 and cfg.lr == 0.001
    assert (cfg.beta1, cfg.beta2, cfg.lambda_gp, cfg.epsilon_drift, cfg.ema_decay) == (0.0, 0.99, 10.0, 0.001, 0.999)
    assert extras["ckpt_save_dir"] == "./output"


def test_gpu_yaml_has_the_cards_gpu_schedule():
    cfg, _ = from_yaml(os.path.join(FOLDER, "gpu_config.yaml"))
    assert [cfg.batch_for(k) for k in range(6)] == [16, 16, 16, 16, 16, 8]
    assert cfg.lr_for(3) == 0.002 and cfg.model_save_step == 1000


def test_presets_are_their_yaml_files():
    assert PGANConfig.preset("tiny") == from_yaml(os.path.join(FOLDER, "tiny_config.yaml"))[0]
    assert PGANConfig.preset("demo") == from_yaml(os.path.join(FOLDER, "demo_config.yaml"))[0]
    tiny = PGANConfig.tiny()
    assert tiny.scales == (4, 8) and tiny.total_steps == 5


@pytest.mark.parametrize("schedule", [
    ((48_000, 96_000), (0, 600), (32, 32)),      # the paper's first two scales
    ((5, 7, 9), (0, 3, 4), (1, 2, 2)),           # fades shorter than, and as long as, the scale
])
def test_fade_matches_the_cards_loop(schedule):
    num_batch, jumps, sizes = schedule
    cfg = PGANConfig(depth=(8,) * len(num_batch), num_batch=num_batch, alpha_jumps=jumps, alpha_size_jumps=sizes)
    expected = [a for scale in card_alphas(num_batch, jumps, sizes) for a in scale]
    got = [cfg.phase(i).alpha for i in range(cfg.total_steps)]
    assert got == pytest.approx(expected, abs=1e-12)
    assert got[num_batch[0]] == 1.0       # a new scale starts on the previous one's output


def test_phase_counts_images_and_scales():
    cfg = PGANConfig(depth=(8, 8, 8), num_batch=(2, 3, 4), alpha_jumps=(0, 1, 2), alpha_size_jumps=(1, 1, 1),
                     batch_size_list=(4, 2, 1), lr_list=(0.1, 0.2, 0.3))
    phases = [cfg.phase(i) for i in range(9)]
    assert [p.resolution for p in phases] == [4, 4, 8, 8, 8, 16, 16, 16, 16]
    assert [p.images_before for p in phases] == [0, 4, 8, 10, 12, 14, 15, 16, 17]
    assert [p.lr for p in phases] == [0.1, 0.1, 0.2, 0.2, 0.2, 0.3, 0.3, 0.3, 0.3]
    assert cfg.scale_ends() == (2, 5, 9)
    with pytest.raises(ValueError, match="outside the schedule"):
        cfg.phase(9)


def _write(tmp_path, text):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    return str(path)


def test_unknown_key_is_named_with_the_valid_ones(tmp_path):
    with pytest.raises(UserError) as err:
        from_yaml(_write(tmp_path, "depth: [8]\nnum_batch: [2]\nalpha_jumps: [0]\nalpha_size_jumps: [1]\n"
                                   "learning_rate: 0.1\n"))
    message = str(err.value)
    assert "'learning_rate'" in message and "x.yaml" in message and "lr, lr_list" in message
    assert "\n" not in message


@pytest.mark.parametrize("text, expected", [
    ("depth: [8, 8]\n", "num_batch has 6 entries but depth has 2"),
    ("batch_size: many\n", "bad value for batch_size"),
    ("scales: [4, 8]\n", "scales in"),
    ("depth: [8\n", "not valid YAML at line"),
    ("- 1\n- 2\n", "must hold a mapping"),
    ("num_batch: [10, 5, 5, 5, 5, 5]\nalpha_jumps: [0, 10, 1, 1, 1, 1]\n", "longer than its num_batch"),
    ("micro_batch: 6\n", "micro_batch must be 0 or a multiple of stddev_group (4"),
    ("micro_batch: 12\n", "micro_batch 12 does not divide the batch size 16"),
])
def test_bad_files_are_one_line(tmp_path, text, expected):
    with pytest.raises(UserError) as err:
        from_yaml(_write(tmp_path, text))
    assert expected in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(UserError, match="config file not found"):
        from_yaml(tmp_path / "none.yaml")


def test_card_infrastructure_keys_are_accepted(tmp_path):
    text = "".join(f"{k}: ''\n" for k in IGNORED_KEYS) + "lr: 0.5\n"
    cfg, _ = from_yaml(_write(tmp_path, text + "---\nlr: 'help text of the card'\n"))
    assert cfg.lr == 0.5


def test_config_imports_no_framework():
    code = ("import sys; sys.path.insert(0, %r); import pgan.config; "
            "sys.exit(int(any(m in sys.modules for m in ('mindspore', 'tensorflow'))))" % FOLDER)
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
