"""Config: presets, stage schedules, field roles and help, the reference's YAML keys, --set."""

import dataclasses
import os

import pytest

from common_tools import runs
from common_tools.errors import UserError
from stackgan import cli
from stackgan.config import YAML_KEYS, StackGANConfig
from stackgan.step import learning_rate

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CFG_FILES = [os.path.join(FOLDER, f"stage{s}", "cfg", f"{d}.yml")
             for s in ("I", "II") for d in ("birds", "flowers")]


def test_paper_stages_are_the_reference():
    one = StackGANConfig.paper()
    assert (one.stage, one.image_size, one.load_size, one.start_epoch) == (1, 64, 76, 0)
    assert (one.batch_size, one.max_epoch, one.lr_decay_epoch, one.kl_coeff) == (64, 600, 50, 2.0)
    assert (one.generator_lr, one.discriminator_lr, one.beta1, one.num_embedding) == (2e-4, 2e-4, 0.5, 4)
    two = one.for_stage(2)
    assert (two.stage, two.image_size, two.load_size, two.hr_size) == (2, 256, 304, 256)
    assert (two.start_epoch, two.max_epoch, two.lr_decay_epoch) == (600, 1200, 100)
    assert two.for_stage(2) is two and two.for_stage(1) == one
    tiny = StackGANConfig.tiny()
    assert (tiny.image_size, tiny.load_size, tiny.for_stage(2).image_size,
            tiny.for_stage(2).load_size) == (16, 19, 64, 76)


def test_every_field_has_a_role_and_a_comment():
    docs = runs.field_docs(StackGANConfig)
    for f in dataclasses.fields(StackGANConfig):
        assert runs.ROLE in f.metadata, f.name
        assert docs.get(f.name), f"{f.name} has no comment (its --help)"
    assert runs.field_role(StackGANConfig, "gf_dim") == runs.ARCHITECTURE
    assert runs.field_role(StackGANConfig, "generator_lr") == runs.SCHEDULE
    # every field but the stage (the script's) is settable from the YAML / --set
    assert sorted(YAML_KEYS.values()) == sorted(f.name for f in dataclasses.fields(StackGANConfig)
                                                 if f.name != "stage")


@pytest.mark.parametrize("bad, match", [
    (dict(stage=3), "stage must be 1 or 2"), (dict(lr_size=40), "multiple of 16"),
    (dict(gf_dim=6), "multiple of 4"), (dict(batch_size=0), "batch_size must be >= 1"),
    (dict(stage=2, max_epoch=600, pretrained_epoch=600), "max_epoch must be larger"),
])
def test_bad_values_are_one_line(bad, match):
    with pytest.raises(UserError, match=match):
        StackGANConfig(**bad)


def test_learning_rate_halvings_per_stage():
    one = StackGANConfig.paper()
    assert [learning_rate(2e-4, e, one) for e in (0, 49, 50, 99, 100, 599)] == \
        [2e-4, 2e-4, 1e-4, 1e-4, 5e-5, 2e-4 / 2 ** 11]
    two = one.for_stage(2)   # halved when epoch % 100 == 0 and epoch > 600 (stageII/trainer.py)
    assert [learning_rate(2e-4, e, two) for e in (600, 699, 700, 800, 1199)] == \
        [2e-4, 2e-4, 1e-4, 5e-5, 2e-4 / 2 ** 5]


def _args(stage, *argv):
    return cli.build_parser(stage).parse_args(list(argv))


@pytest.mark.parametrize("path", CFG_FILES, ids=os.path.basename)
def test_card_yaml_gives_the_paper_config(path, tmp_path):
    settings = cli.read_yaml(path)
    stage = 2 if "stageII" in path else 1
    args = _args(stage, "--output_dir", str(tmp_path / "run"))
    cfg, run_dir, data_dir = cli.resolve_config(stage, args, settings)
    expected = StackGANConfig.paper().for_stage(stage).replace(
        dataset_name=settings["DATASET_NAME"], pretrained_model=settings["TRAIN.PRETRAINED_MODEL"])
    assert cfg == expected
    assert data_dir == os.path.join("Data", settings["DATASET_NAME"])
    assert settings["TRAIN.FLAG"] is True and settings["CONFIG_NAME"] == f"stage{'I' * stage}"
    default = cli.resolve_config(stage, _args(stage), settings)[1]
    assert default == os.path.join("ckt_logs", settings["DATASET_NAME"], f"stage{'I' * stage}")
    # the plain-YAML fallback parser reads these files exactly as yaml.safe_load
    import yaml

    with open(path) as f:
        text = f.read()
    assert cli._mini_yaml(text, path) == yaml.safe_load(text)


def test_set_overrides_yaml_and_refuses_unknown_keys(tmp_path):
    settings = cli.read_yaml(CFG_FILES[0])
    settings.update(cli.parse_set([["TRAIN.FLAG", "False", "TRAIN.MAX_EPOCH", "7"],
                                   ["GAN.GF_DIM=8"]]))
    assert settings["TRAIN.FLAG"] is False and settings["TRAIN.MAX_EPOCH"] == 7
    cfg = cli.resolve_config(1, _args(1, "--output_dir", str(tmp_path)), settings)[0]
    assert (cfg.max_epoch, cfg.gf_dim) == (7, 8)
    with pytest.raises(UserError, match="TRAIN.MAX_EPOCHS is not a valid config key"):
        cli.parse_set([["TRAIN.MAX_EPOCHS", "3"]])
    with pytest.raises(UserError, match="expected KEY VALUE pairs"):
        cli.parse_set([["TRAIN.FLAG"]])
    bad = tmp_path / "bad.yml"
    bad.write_text("TRAIN:\n    FLAG: True\n    EPOCHS: 3\n")
    with pytest.raises(UserError, match="TRAIN.EPOCHS is not a valid config key"):
        cli.read_yaml(str(bad))
    bad.write_text("TRAIN: [1, 2\n")
    with pytest.raises(UserError, match="not valid YAML at line"):
        cli.read_yaml(str(bad))


def test_a_run_folder_keeps_its_config_and_refuses_the_other_stage(tmp_path):
    cfg = StackGANConfig.tiny()
    runs.save_config(cfg, str(tmp_path))
    again = cli.resolve_config(1, _args(1, "--output_dir", str(tmp_path)), {})[0]
    assert again == cfg                                  # a rerun resumes with what it trained with
    with pytest.raises(UserError, match="holds a Stage-I run"):
        cli.resolve_config(2, _args(2, "--output_dir", str(tmp_path)), {})


def test_gpu_flag_sets_cuda_visible_devices(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert cli._setup_gpu(_args(1, "--gpu", "-1"), {}) == "cpu"                # -1: CPU only
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "-1"
    assert cli._setup_gpu(_args(1, "--gpu", "3"), {"GPU_ID": 0}) == "auto"     # the flag wins
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert cli._setup_gpu(_args(1, "--device", "gpu"), {"GPU_ID": 1}) == "gpu"  # else the YAML's
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "1"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert cli._setup_gpu(_args(1), {}) == "auto" and "CUDA_VISIBLE_DEVICES" not in os.environ
    with pytest.raises(UserError, match="GPU_ID must be an integer"):
        cli._setup_gpu(_args(1), {"GPU_ID": "zero"})
