"""runs: config.json round trip, CLI overrides with type coercion, run folders."""

import dataclasses
import json
import os
from typing import Optional

import pytest

from common_tools.errors import UserError
from common_tools.runs import (apply_overrides, format_config, load_config, new_run_dir,
                               print_config, save_config)


@dataclasses.dataclass(frozen=True)
class TinyConfig:
    image_size: int = 128                                   # pixels
    g_lr: float = 1e-4
    use_bn: bool = True
    attrs: tuple[str, ...] = ("Black_Hair", "Male")
    kernel: tuple[int, int] = (4, 4)
    max_steps: Optional[int] = None
    name: str = "stargan"
    seed: int | None = None


def test_save_load_round_trip_restores_tuples_and_class(tmp_path):
    cfg = TinyConfig(image_size=64, attrs=("Young",), max_steps=10)
    path = save_config(cfg, tmp_path)
    data = json.loads(open(path).read())
    assert data["_class"] == "TinyConfig" and data["attrs"] == ["Young"]
    assert [p for p in os.listdir(tmp_path)] == ["config.json"]  # no temp file left behind
    loaded = load_config(TinyConfig, tmp_path)
    assert loaded == cfg and isinstance(loaded.attrs, tuple) and isinstance(loaded.kernel, tuple)
    assert load_config(TinyConfig, path) == cfg  # the file itself works too


def test_load_refuses_unknown_key_naming_file_and_key(tmp_path):
    save_config(TinyConfig(), tmp_path)
    data = json.loads((tmp_path / "config.json").read_text())
    data["d_lrr"] = 0.1
    (tmp_path / "config.json").write_text(json.dumps(data))
    with pytest.raises(UserError) as err:
        load_config(TinyConfig, tmp_path)
    msg = str(err.value)
    assert "d_lrr" in msg and "config.json" in msg and "\n" not in msg


def test_load_missing_config_names_the_folder(tmp_path):
    with pytest.raises(UserError, match=f"{tmp_path} has no config.json"):
        load_config(TinyConfig, tmp_path)


def test_overrides_coerce_cli_strings():
    cfg = apply_overrides(TinyConfig(), image_size="32", g_lr="2e-4", use_bn="false",
                          attrs="Blond_Hair,Male Young", kernel="3 3", max_steps="none", name=None)
    assert cfg == TinyConfig(image_size=32, g_lr=2e-4, use_bn=False,
                             attrs=("Blond_Hair", "Male", "Young"), kernel=(3, 3), max_steps=None)
    assert apply_overrides(TinyConfig(), max_steps="7", seed="3") == TinyConfig(max_steps=7, seed=3)


def test_string_annotations_of_a_local_class_still_coerce(tmp_path):
    @dataclasses.dataclass(frozen=True)
    class Local:
        steps: "int" = 1
        attrs: "tuple[str, ...]" = ()
        note: "LocalAlias" = None  # noqa: F821 - unresolvable: get_type_hints fails for the class

    cfg = apply_overrides(Local(), steps="5", attrs="A,B")
    assert cfg == Local(steps=5, attrs=("A", "B"))
    save_config(cfg, tmp_path)
    assert load_config(Local, tmp_path) == cfg


@pytest.mark.parametrize("field,value", [("image_size", "12.5"), ("use_bn", "maybe"),
                                         ("kernel", "3"), ("no_such_field", "1")])
def test_bad_override_is_a_user_error(field, value):
    with pytest.raises(UserError, match=field):
        apply_overrides(TinyConfig(), **{field: value})


def test_print_config_and_new_run_dir(tmp_path, capsys):
    print_config(TinyConfig())
    out = capsys.readouterr().out
    assert out.startswith("TinyConfig:") and "image_size = 128" in out and "attrs" in out
    assert format_config(TinyConfig()).count("\n") == len(dataclasses.fields(TinyConfig))
    first = new_run_dir(tmp_path, "stargan tiny")
    second = new_run_dir(tmp_path, "stargan")
    assert os.path.basename(first) == "00000-stargan-tiny"
    assert os.path.basename(second) == "00001-stargan" and os.path.isdir(second)


def test_tuple_fields_take_separate_words_or_one_quoted_string():
    import argparse

    from common_tools.runs import add_config_args, config_from_args

    parser = add_config_args(argparse.ArgumentParser(), TinyConfig)
    for argv in (["--attrs", "Bangs", "Male"], ["--attrs", "Bangs Male"], ["--attrs", "Bangs,Male"]):
        cfg = config_from_args(TinyConfig(), parser.parse_args([*argv, "--kernel", "3", "5"]))
        assert cfg.attrs == ("Bangs", "Male") and cfg.kernel == (3, 5), argv
    assert apply_overrides(TinyConfig(), attrs=["Young Male", "Bald"]).attrs == ("Young", "Male", "Bald")


def test_parse_assignments_reads_repeated_set_flags_and_names_a_bad_one():
    from common_tools.runs import parse_assignments

    assert parse_assignments(["lr=0.5", " n_d = 2 "]) == {"lr": "0.5", "n_d": "2"}
    assert parse_assignments(None) == {}
    with pytest.raises(UserError, match=r"--set 'lr0.5': expected FIELD=VALUE, e.g. --set n_d=2"):
        parse_assignments(["lr0.5"], example="n_d=2")
    with pytest.raises(UserError, match="--set '=3'"):
        parse_assignments(["=3"])
