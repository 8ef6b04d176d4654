"""Run folders and typed configs: a frozen dataclass saved as ``config.json`` beside the checkpoints.

``test.py`` / ``ckpt2pb.py`` rebuild the model from the saved config with :func:`load_config`
instead of re-typed flags. CLI overrides arrive as strings; :func:`apply_overrides` coerces them to
the field's type (``"3"`` -> 3, ``"true"`` -> True, ``"Black_Hair Male"`` -> ("Black_Hair", "Male")).

    cfg = GANConfig.tiny()
    cfg = apply_overrides(cfg, batch_size="4")
    run_dir = new_run_dir("runs", "mygan")          # runs/00000-mygan
    save_config(cfg, run_dir)
    cfg2 = load_config(GANConfig, run_dir)          # == cfg
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import tempfile
import typing
from typing import Any, Mapping, Optional, TextIO

from .errors import UserError

CONFIG_NAME = "config.json"

_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off"}


def _require_dataclass_instance(cfg) -> None:
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise TypeError(f"expected a dataclass instance, got {type(cfg).__name__}")


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace`` (no torn files)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def config_to_dict(cfg) -> dict:
    """``dataclasses.asdict(cfg)`` plus ``"_class"`` (the dataclass name), JSON-ready."""
    _require_dataclass_instance(cfg)
    data = dataclasses.asdict(cfg)
    data["_class"] = type(cfg).__name__
    return data


def save_config(cfg, run_dir: str) -> str:
    """Write ``<run_dir>/config.json`` atomically; returns its path."""
    path = os.path.join(run_dir, CONFIG_NAME)
    atomic_write_text(path, json.dumps(config_to_dict(cfg), indent=2, sort_keys=False) + "\n")
    return path


def _resolve(annotation, module_globals: dict):
    """A string annotation (``from __future__ import annotations``) evaluated field by field."""
    if not isinstance(annotation, str):
        return annotation
    namespace = {**vars(typing), **module_globals}
    try:
        return eval(annotation, namespace)  # noqa: S307 - a type expression from the class source
    except Exception:
        return annotation


def _field_types(cls) -> dict:
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # e.g. a class defined in a function: resolve each field on its own
        module_globals = vars(sys.modules.get(cls.__module__, typing))
        hints = {f.name: _resolve(f.type, module_globals) for f in dataclasses.fields(cls)}
    return {f.name: hints.get(f.name, f.type) for f in dataclasses.fields(cls)}


def _strip_optional(tp):
    """``Optional[X]`` -> (X, True); anything else -> (tp, False)."""
    if typing.get_origin(tp) is typing.Union or type(tp).__name__ == "UnionType":
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _from_json(tp, value):
    """Turn a JSON value back into the field type (lists -> tuples, nested dataclasses)."""
    tp, _ = _strip_optional(tp)
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(value, Mapping):
        return _build(tp, dict(value), source=None)
    if tp is tuple or origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_json(args[0], v) for v in value)
        if args and len(args) == len(value):
            return tuple(_from_json(a, v) for a, v in zip(args, value))
        return tuple(_from_json(Any, v) if isinstance(v, list) else v for v in value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _build(cls, data: dict, source: Optional[str]):
    data = dict(data)
    data.pop("_class", None)
    types = _field_types(cls)
    where = f" in {source}" if source else ""
    unknown = [k for k in data if k not in types]
    if unknown:
        raise UserError(f"unknown config key {unknown[0]!r}{where}: "
                        f"{cls.__name__} has no such field (known: {', '.join(types)})")
    kwargs = {k: _from_json(types[k], v) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise UserError(f"config{where} does not fit {cls.__name__}: {exc}") from exc


def load_config(cls, run_dir_or_file: str):
    """Rebuild a ``cls`` instance from ``config.json`` (a run folder or the file itself).

    Fields missing from the file keep the class defaults; unknown keys are refused.
    """
    path = str(run_dir_or_file)
    if os.path.isdir(path):
        path = os.path.join(path, CONFIG_NAME)
        if not os.path.isfile(path):
            raise UserError(f"{run_dir_or_file} has no {CONFIG_NAME}: expected the run folder that "
                            "training wrote (it saves config.json beside the checkpoints)")
    elif not os.path.isfile(path):
        raise UserError(f"config not found: {path} (expected a run folder or a config.json)")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a JSON object of config fields")
    saved_class = data.get("_class")
    if saved_class and saved_class != cls.__name__:
        print(f"note: {path} was saved from {saved_class}, loading it as {cls.__name__}",
              file=sys.stderr)
    return _build(cls, data, source=path)


def _split_items(text: str) -> list:
    text = text.strip()
    if text.startswith(("[", "(")) and text.endswith(("]", ")")):
        text = text[1:-1]
    return [t for t in re.split(r"[,\s]+", text) if t]


def coerce(tp, value, name: str = "value"):
    """Coerce a CLI value (usually a string) to type ``tp``; UserError naming ``name`` if it can't."""
    tp, optional = _strip_optional(tp)
    if value is None:
        return None
    if isinstance(value, str) and optional and value.strip().lower() in {"none", "null", ""}:
        return None
    origin = typing.get_origin(tp)
    try:
        if tp is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(f"expected true/false, got {value!r}")
        if tp is int:
            if isinstance(value, bool):
                raise ValueError("expected an integer, got a bool")
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"expected an integer, got {value!r}")
            return int(value) if not isinstance(value, str) else int(value.strip().replace("_", ""))
        if tp is float:
            return float(value)
        if tp is str:
            return str(value)
        if tp is tuple or origin is tuple:
            items = _split_items(value) if isinstance(value, str) else [  # words or quoted strings
                t for v in value for t in (_split_items(v) if isinstance(v, str) else [v])]
            args = typing.get_args(tp)
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(coerce(args[0], v, name) for v in items)
            if args:
                if len(args) != len(items):
                    raise ValueError(f"expected {len(args)} items, got {len(items)}")
                return tuple(coerce(a, v, name) for a, v in zip(args, items))
            return tuple(items)
        if origin is typing.Literal:
            allowed = typing.get_args(tp)
            for a in allowed:
                if str(a) == str(value):
                    return a
            raise ValueError(f"expected one of {', '.join(map(str, allowed))}")
    except (TypeError, ValueError) as exc:
        raise UserError(f"bad value for {name}: {value!r} ({exc})") from exc
    return value


def apply_overrides(cfg, **overrides):
    """``dataclasses.replace`` with CLI strings coerced to each field's type; None values are skipped."""
    _require_dataclass_instance(cfg)
    types = _field_types(type(cfg))
    changes = {}
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in types:
            raise UserError(f"unknown config field {key!r} for {type(cfg).__name__} "
                            f"(known: {', '.join(types)})")
        changes[key] = coerce(types[key], value, name=key)
    if not changes:
        return cfg
    try:
        return dataclasses.replace(cfg, **changes)
    except (TypeError, ValueError) as exc:
        raise UserError(f"bad config override: {exc}") from exc


def parse_assignments(items, flag: str = "--set", example: str = "FIELD=VALUE") -> dict:
    """``["a=1", "b = x"]`` (repeated ``--set FIELD=VALUE`` flags) -> ``{"a": "1", "b": "x"}``, for
    ``apply_overrides``; an item without ``=`` is one error naming the flag and an example."""
    out = {}
    for item in items or ():
        field, eq, value = item.partition("=")
        if not eq or not field.strip():
            raise UserError(f"{flag} {item!r}: expected FIELD=VALUE, e.g. {flag} {example}")
        out[field.strip()] = value.strip()
    return out


def add_config_args(parser: argparse.ArgumentParser, cls, skip=(), flags=None) -> argparse.ArgumentParser:
    """Add one ``--<field>`` option per dataclass field (default None = keep the preset's value).

    The help text is the field's comment in the class source; ``flags={field: "--card_name"}``
    keeps a card's own flag name for a field (``dest`` stays the field name). A tuple field takes
    separate words, one quoted string or a comma list alike (``--atts A B`` = ``--atts "A B"``).
    """
    docs, types, flags = field_docs(cls), _field_types(cls), dict(flags or {})
    for f in dataclasses.fields(cls):
        if f.name in skip or f.name.startswith("_"):
            continue
        names = [flags[f.name]] if f.name in flags else [f"--{f.name}"]
        role = " (fixed once trained)" if f.metadata.get(ROLE, ARCHITECTURE) == ARCHITECTURE else ""
        tp = _strip_optional(types[f.name])[0]
        many = {"nargs": "+"} if tp is tuple or typing.get_origin(tp) is tuple else {}  # --a x y or --a "x y"
        parser.add_argument(*names, dest=f.name, default=None, metavar=f.name.upper(), **many,
                            help=f"{docs.get(f.name, f.name)} [{_type_name(types[f.name])}, "
                                 f"default {f.default!r}]{role}".replace("%", "%%"))
    return parser


def config_from_args(cfg, args: argparse.Namespace):
    """Apply every non-None ``args`` attribute that names a field of ``cfg``."""
    names = {f.name for f in dataclasses.fields(cfg)}
    return apply_overrides(cfg, **{k: v for k, v in vars(args).items() if k in names})


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def format_config(cfg) -> str:
    """The config as aligned ``name = value`` lines, one per field."""
    _require_dataclass_instance(cfg)
    data = dataclasses.asdict(cfg)
    width = max((len(k) for k in data), default=0)
    lines = [f"{type(cfg).__name__}:"]
    lines += [f"  {k:<{width}} = {v!r}" for k, v in data.items()]
    return "\n".join(lines)


def print_config(cfg, stream: Optional[TextIO] = None) -> None:
    """Print the config (for the start of a run and ``--dry_run``)."""
    print(format_config(cfg), file=stream or sys.stdout, flush=True)


def new_run_dir(root: str, name: str) -> str:
    """Create and return ``<root>/<NNNNN>-<name>``, numbered one past the highest existing run."""
    os.makedirs(root, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "run"
    numbers = [int(m.group(1)) for d in os.listdir(root)
               if (m := re.match(r"^(\d+)-", d)) and os.path.isdir(os.path.join(root, d))]
    n = max(numbers, default=-1) + 1
    while True:
        path = os.path.join(root, f"{n:05d}-{safe}")
        try:
            os.makedirs(path)
            return path
        except FileExistsError:  # another process took this number
            n += 1


# ---- field roles: what a resumed run may change ------------------------------------------------
# Every config field is either part of the architecture (changing it makes the saved weights
# unusable, so a resume with another value is refused) or of the schedule (lr, iterations,
# cadences: a resume applies the new value and says so). Fields not marked are architecture.

ROLE = "role"
ARCHITECTURE, SCHEDULE = "architecture", "schedule"


def arch(default, **kwargs):
    """A dataclass field that shapes the networks: ``image_size: int = arch(128)``."""
    return dataclasses.field(default=default, metadata={ROLE: ARCHITECTURE}, **kwargs)


def sched(default, **kwargs):
    """A dataclass field a resumed run may change: ``lr: float = sched(2e-4)``."""
    return dataclasses.field(default=default, metadata={ROLE: SCHEDULE}, **kwargs)


def field_role(cls, name: str) -> str:
    for f in dataclasses.fields(cls):
        if f.name == name:
            return f.metadata.get(ROLE, ARCHITECTURE)
    raise KeyError(name)


def reconcile(cfg, saved, run_dir: str = "the run folder", say=None):
    """The config a resumed run uses: ``cfg``, checked against the ``saved`` one.

    An architecture field that differs is one UserError naming the field, the saved and the new
    value; schedule fields that differ are taken from ``cfg`` and each said in one line.
    """
    say = say or (lambda m: print(m, file=sys.stderr, flush=True))
    new, old = dataclasses.asdict(cfg), dataclasses.asdict(saved)
    changed = [k for k in new if new[k] != old.get(k)]
    for name in changed:
        if field_role(type(cfg), name) == ARCHITECTURE:
            raise UserError(f"{run_dir} was trained with {name}={old[name]!r} but {name}={new[name]!r} "
                            f"was asked for: {name} shapes the networks, so its checkpoints cannot "
                            "be resumed; use a new output folder, or the saved value")
    for name in changed:
        say(f"resuming with {name} changed: {old[name]!r} -> {new[name]!r}")
    return cfg


def field_docs(cls) -> dict:
    """``{field: comment}`` from the ``# comment`` after each field in the class source: the
    dataclass's comments are the CLI's help texts, written once."""
    import inspect

    docs = {}
    try:
        lines = inspect.getsource(cls).splitlines()
    except (OSError, TypeError):
        return docs
    names = {f.name for f in dataclasses.fields(cls)}
    for line in lines:
        m = re.match(r"\s+(\w+)\s*:\s*[^=#]+(?:=[^#]*)?#\s*(.+)$", line)
        if m and m.group(1) in names:
            docs[m.group(1)] = m.group(2).strip()
    return docs


class Presets:
    """Mixin for config dataclasses: ``Cfg.preset("tiny")`` calls the classmethod named in
    ``PRESETS``; ``cfg.replace(**changes)``."""

    PRESETS: tuple = ("paper", "tiny", "demo")

    @classmethod
    def preset(cls, name: str):
        if name not in cls.PRESETS:
            raise UserError(f"unknown preset {name!r}: expected one of {', '.join(cls.PRESETS)}")
        return getattr(cls, name)()

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def config_for_run(cls, run_dir: Optional[str], preset: Optional[str] = None, overrides=None):
    """The starting config of a CLI run: the given ``preset``; else the run's saved config.json
    (so a plain rerun resumes with what it trained with); else ``paper``. Then ``overrides``
    (``{field: CLI string}``, None values skipped)."""
    saved = run_dir and os.path.isfile(os.path.join(run_dir, CONFIG_NAME))
    if preset:
        cfg = cls.preset(preset)
    elif saved:
        cfg = load_config(cls, run_dir)
    else:
        cfg = cls.preset("paper")
    return apply_overrides(cfg, **(overrides or {}))
