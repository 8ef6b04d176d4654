"""A model demo as a list of timed stages, and the one ``summary.json`` every demo writes.

A demo script names its stages; this module times them, prints one line per stage for people,
and writes ``<out_dir>/summary.json`` for :mod:`common_tools.report`::

    from common_tools.stages import Demo

    with Demo(out, model="mygan", title="MyGAN on SynthFaces (CPU)",
              command="make -C MyGAN_for_TensorFlow demo", plan=("data", "train", "om")) as demo:
        with demo.stage("data") as st:
            if os.path.isfile(attrs):
                st.skip("SynthFaces already there")
            else:
                generate(data_dir, 2000, seed=0)
        with demo.stage("train"):
            result = train(cfg, data_dir, out)
        demo.number("iterations", result["end"])
        demo.number("psnr_db", 27.14, target=(">=", 25.0), paper=28.3)
        demo.image("test_grid.png", "input, then each attribute flipped")
        demo.skip("om", "no Ascend toolkit here: `make om` prints the ATC command")
        demo.note("trained 200 steps on 2000 SynthFaces, CPU")
    # summary.json is written when the block ends, and also when a stage fails (then re-raised)

The schema (version 1)::

    {"schema": 1, "model": str, "title": str,
     "command": str,                       # the exact command that reproduces the demo
     "stages": [{"name": str, "seconds": float, "status": "done"|"skipped"|"failed",
                 "note": str (optional)}],
     "seconds_total": float,               # since Demo() was created
     "numbers": {...},                     # nested; leaves are numbers, text, bool, null or lists
     "targets": {"a.b": {"op": ">="|"<=", "value": float}},   # keyed by dotted number key
     "paper": {"a.b": float or str},       # the paper's figure for a number, by dotted key
     "images": [{"path": "relative/to/out_dir.png", "caption": str,
                 "columns": [str | {"label": str, "px": int}] (optional: labels over the image's
                             columns, equal widths for strings, px source pixels each otherwise),
                 "command": str (optional: the command that reproduces this image)}],
     "notes": [str],
     "log": "train_log.jsonl",             # relative to out_dir
     "loss_keys": ["loss/D", "loss/G"]}    # the log's scalars to plot (one naming: "loss/...")

:func:`load_summary` reads it back and turns anything off-schema into one-line ``UserError``.
"""

from __future__ import annotations

import contextlib
import json
import math
import numbers as _numbers
import os
import posixpath
import shlex
import sys
import time
from typing import IO, Iterator, Optional, Sequence

from .errors import UserError, check_output_dir
from .logging import JSONL_NAME

SCHEMA = 1
SUMMARY_NAME = "summary.json"
STATUSES = ("done", "skipped", "failed")
OPS = (">=", "<=")
LOSS_PREFIX = "loss/"
_KEYS = ("schema", "model", "title", "command", "stages", "seconds_total", "numbers", "targets",
         "paper", "images", "notes", "log", "loss_keys")


def script_command(argv: Optional[Sequence[str]] = None, python: str = "python") -> str:
    """``python demo.py --out runs/demo/x``: this process's script and arguments, shell-quoted."""
    argv = sys.argv if argv is None else [sys.argv[0], *argv]
    return shlex.join([python, os.path.basename(argv[0]), *argv[1:]])


def clean_value(value):
    """A JSON-safe copy: numpy/tensor scalars to Python, tuples to lists, NaN/inf to None."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, dict):
        return {str(k): clean_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_value(v) for v in value]
    if isinstance(value, _numbers.Integral):
        return int(value)
    if isinstance(value, _numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else None
    if hasattr(value, "numpy"):           # eager TF tensor
        value = value.numpy()
    elif hasattr(value, "asnumpy"):       # MindSpore tensor
        value = value.asnumpy()
    if hasattr(value, "tolist"):          # numpy scalar or array
        return clean_value(value.tolist())
    raise TypeError(f"cannot store {type(value).__name__} in summary.json: {value!r}")


def flatten_numbers(numbers, prefix: str = "") -> list:
    """``{"fid": {"value": 1.5}}`` -> ``[("fid.value", 1.5)]`` (insertion order kept)."""
    rows = []
    if isinstance(numbers, dict):
        for key, value in numbers.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                rows += flatten_numbers(value, name)
            else:
                rows.append((name, value))
    return rows


def target_met(value, op: str, bound: float) -> Optional[bool]:
    """True/False when ``value`` is a number compared with ``bound``; None when not measured."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value >= bound if op == ">=" else value <= bound


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class Stage:
    """What a ``with demo.stage(name) as st:`` block can say about itself."""

    def __init__(self, name: str):
        self.name = name
        self.status = "done"
        self.text: Optional[str] = None

    def skip(self, note: str) -> None:
        """Mark the stage skipped (its output was already there, or it cannot run here)."""
        self.status, self.text = "skipped", str(note)

    def note(self, text: str) -> None:
        """One line shown beside the stage's timing."""
        self.text = str(text)


class Demo:
    """The stages, numbers, images and notes of one demo run; ``write()`` -> summary.json.

    ``plan`` (optional) lists the stage names in order: the progress lines then read
    ``[2/9] train`` and a name outside the plan is refused (a typo). ``loss_keys`` defaults to
    every ``loss/...`` scalar found in the log when the summary is written.
    """

    def __init__(self, out_dir: str, model: str, title: str, command: Optional[str] = None, *,
                 plan: Optional[Sequence[str]] = None, log: str = JSONL_NAME,
                 loss_keys: Optional[Sequence[str]] = None, stream: Optional[IO] = sys.stderr):
        if not model or not title:
            raise ValueError("Demo needs a model name and a title")
        self.out_dir = os.path.abspath(check_output_dir(out_dir, what="demo folder"))
        self.model, self.title = str(model), str(title)
        self.command = script_command() if command is None else str(command)
        self.plan = list(plan) if plan is not None else None
        self.log, self.loss_keys = str(log), (list(loss_keys) if loss_keys is not None else None)
        self.stream = stream
        self.stages: list = []
        self.numbers: dict = {}
        self.targets: dict = {}
        self.paper_figures: dict = {}
        self.images: list = []
        self.notes: list = []
        self._t0 = time.perf_counter()

    # stages ---------------------------------------------------------------------------------
    def _check_name(self, name: str) -> None:
        if any(s["name"] == name for s in self.stages):
            raise ValueError(f"stage {name!r} was already run in this demo")
        if self.plan is not None and name not in self.plan:
            raise ValueError(f"stage {name!r} is not in the plan {self.plan}")

    def _record(self, name: str, seconds: float, status: str, note: Optional[str]) -> None:
        rec = {"name": name, "seconds": round(seconds, 2), "status": status}
        if note:
            rec["note"] = note
        self.stages.append(rec)
        if self.stream is not None:
            where = f"[{self.plan.index(name) + 1}/{len(self.plan)}] " if self.plan else ""
            tail = f" ({note})" if note else ""
            print(f"{self.model} demo {where}{name}: {status} in {seconds:.1f} s{tail}",
                  file=self.stream, flush=True)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[Stage]:
        """Time the block as stage ``name``. An exception marks it failed, writes summary.json
        with what was done so far, and is re-raised."""
        self._check_name(name)
        st = Stage(name)
        t = time.perf_counter()
        try:
            yield st
        except BaseException as exc:
            self._record(name, time.perf_counter() - t, "failed", _one_line(exc))
            self.write()
            raise
        self._record(name, time.perf_counter() - t, st.status, st.text)

    def skip(self, name: str, note: str) -> None:
        """Record a stage that does not run at all (say why in ``note``)."""
        self._check_name(name)
        self._record(name, 0.0, "skipped", str(note))

    # results --------------------------------------------------------------------------------
    def number(self, key: str, value, *, target: Optional[tuple] = None, paper=None) -> None:
        """Store ``value`` under ``key``; a dotted key nests (``"fid.value"``). Optionally its
        ``target=(">=", 25.0)`` and the ``paper`` figure (a number or text)."""
        *parents, leaf = key.split(".")
        node = self.numbers
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"number {key!r}: {part!r} already holds a value, not a group")
        node[leaf] = clean_value(value)
        if target is not None:
            self.target(key, *target)
        if paper is not None:
            self.paper(key, paper)

    def target(self, key: str, op: str, value: float) -> None:
        """The number ``key`` should be ``op`` (">=" or "<=") ``value``; the report marks it."""
        if op not in OPS:
            raise ValueError(f"target op for {key!r} must be one of {', '.join(OPS)}, got {op!r}")
        self.targets[key] = {"op": op, "value": float(value)}

    def paper(self, key: str, value) -> None:
        """The paper's figure for the number ``key`` (a number, or text such as "27.1 (128 px)")."""
        self.paper_figures[key] = value if isinstance(value, str) else clean_value(value)

    def image(self, path: str, caption: str = "", *, columns: Optional[Sequence] = None,
              command: Optional[str] = None) -> str:
        """Add an image (a path inside out_dir, absolute or relative to it); returns it relative.

        ``columns``: the labels over its columns, e.g. ``["input", "Black_Hair", ...]`` (equal
        widths) or ``[("input", 64), ("", 12), ...]`` (label, width in pixels of the image);
        ``command``: what reproduces this image when it is not the demo's own command."""
        full = path if os.path.isabs(path) else os.path.join(self.out_dir, path)
        if not os.path.isfile(full):
            raise UserError(f"demo image not found: {full} (expected a file the demo wrote)")
        rel = os.path.relpath(os.path.abspath(full), self.out_dir)
        if rel.startswith(os.pardir):
            raise UserError(f"demo image {full} is outside the demo folder {self.out_dir}: "
                            "save it there so the report can link it")
        rel = rel.replace(os.sep, "/")
        entry = {"path": rel, "caption": str(caption)}
        if columns is not None:
            entry["columns"] = [str(c) if isinstance(c, str) else {"label": str(c[0]), "px": int(c[1])}
                                for c in columns]
        if command is not None:
            entry["command"] = str(command)
        self.images.append(entry)
        return rel

    def note(self, text: str) -> None:
        """One line of context for people (preset, data, what could not run here)."""
        self.notes.append(str(text))

    # output ---------------------------------------------------------------------------------
    def _loss_keys(self) -> list:
        if self.loss_keys is not None:
            return self.loss_keys
        path = os.path.join(self.out_dir, self.log)
        if not os.path.isfile(path):
            return []
        from .logging import read_jsonl

        found: dict = {}
        for rec in read_jsonl(path):
            for key, value in rec.items():
                if key.startswith(LOSS_PREFIX) and isinstance(value, (int, float)):
                    found[key] = True
        return sorted(found)

    def summary(self) -> dict:
        """The summary.json object as it stands now."""
        return {"schema": SCHEMA, "model": self.model, "title": self.title,
                "command": self.command, "stages": list(self.stages),
                "seconds_total": round(time.perf_counter() - self._t0, 2),
                "numbers": self.numbers, "targets": self.targets, "paper": self.paper_figures,
                "images": self.images, "notes": self.notes, "log": self.log,
                "loss_keys": self._loss_keys()}

    def write(self) -> str:
        """Write ``<out_dir>/summary.json`` (atomically) and return its path."""
        path = os.path.join(self.out_dir, SUMMARY_NAME)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.summary(), f, indent=2, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
        return path

    def __enter__(self) -> "Demo":
        return self

    def __exit__(self, *exc) -> None:
        path = self.write()
        if self.stream is not None and exc[0] is None:
            print(f"{self.model} demo: {time.perf_counter() - self._t0:.1f} s; wrote {path}",
                  file=self.stream, flush=True)


# reading ------------------------------------------------------------------------------------
def _is_leaf(value) -> bool:
    if value is None or isinstance(value, (bool, str)):
        return True
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    return isinstance(value, list) and all(_is_leaf(v) and not isinstance(v, list) for v in value)


def _check_numbers(where: str, numbers, prefix: str = "") -> None:
    for key, value in numbers.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            _check_numbers(where, value, name)
        elif not _is_leaf(value):
            raise UserError(f"{where}: numbers.{name} must be a number, text, true/false, null or "
                            f"a list of them (got {json.dumps(value)[:60]})")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate_summary(summary, where: str = SUMMARY_NAME) -> dict:
    """Check a summary object against schema 1; returns it with optional fields filled in."""
    def bad(what: str):
        raise UserError(f"{where}: {what}")

    if not isinstance(summary, dict):
        bad("must hold a JSON object (schema 1: model, title, command, stages, numbers, ...)")
    if summary.get("schema") != SCHEMA:
        bad(f"'schema' must be {SCHEMA} (got {summary.get('schema')!r}): written by an older demo? "
            "rerun it (make demo)")
    unknown = sorted(set(summary) - set(_KEYS))
    if unknown:
        bad(f"unknown field(s) {', '.join(unknown)}: schema 1 has {', '.join(_KEYS)}")
    summary = {"targets": {}, "paper": {}, "notes": [], "log": JSONL_NAME, "loss_keys": [],
               **summary}
    for key in ("model", "title", "command", "log"):
        if not isinstance(summary.get(key), str) or not summary[key]:
            bad(f"'{key}' must be a non-empty string")
    if not _number(summary.get("seconds_total")):
        bad("'seconds_total' must be a number")
    stages = summary.get("stages")
    if not isinstance(stages, list):
        bad("'stages' must be a list of {name, seconds, status}")
    for i, st in enumerate(stages):
        if not isinstance(st, dict) or not isinstance(st.get("name"), str):
            bad(f"stages[{i}] must be an object with a string 'name'")
        if not _number(st.get("seconds")):
            bad(f"stages[{i}] ({st['name']}): 'seconds' must be a number")
        if st.get("status") not in STATUSES:
            bad(f"stages[{i}] ({st['name']}): 'status' must be one of {', '.join(STATUSES)} "
                f"(got {st.get('status')!r})")
        if "note" in st and not isinstance(st["note"], str):
            bad(f"stages[{i}] ({st['name']}): 'note' must be a string")
    if not isinstance(summary.get("numbers"), dict):
        bad("'numbers' must be an object (nested groups of numbers)")
    _check_numbers(where, summary["numbers"])
    if not isinstance(summary["targets"], dict):
        bad("'targets' must be an object {number_key: {op, value}}")
    for key, t in summary["targets"].items():
        if not isinstance(t, dict) or t.get("op") not in OPS or not _number(t.get("value")):
            bad(f"targets[{key!r}] must be {{\"op\": \">=\" or \"<=\", \"value\": number}}")
    if not isinstance(summary["paper"], dict):
        bad("'paper' must be an object {number_key: number or text}")
    for key, v in summary["paper"].items():
        if not (_number(v) or isinstance(v, str)):
            bad(f"paper[{key!r}] must be a number or text")
    images = summary.get("images")
    if not isinstance(images, list):
        bad("'images' must be a list of {\"path\": ..., \"caption\": ...}")
    for i, im in enumerate(images):
        if not isinstance(im, dict) or not isinstance(im.get("path"), str) \
                or not isinstance(im.get("caption", ""), str):
            bad(f"images[{i}] must be {{\"path\": str, \"caption\": str}}")
        cols = im.get("columns", [])
        if not isinstance(cols, list) or not all(
                isinstance(c, str) or (isinstance(c, dict) and isinstance(c.get("label"), str)
                                       and _number(c.get("px")) and c["px"] >= 0) for c in cols):
            bad(f"images[{i}].columns must be a list of labels or of {{\"label\": str, \"px\": number}}")
        if not isinstance(im.get("command", ""), str):
            bad(f"images[{i}].command must be a string")
        p = im["path"]
        norm = posixpath.normpath(p.replace("\\", "/")) if p else ""
        if not p or os.path.isabs(p) or norm == os.pardir or norm.startswith(os.pardir + "/"):
            bad(f"images[{i}].path must be relative to the demo folder (got {p!r})")
    for key in ("notes", "loss_keys"):
        if not isinstance(summary[key], list) or not all(isinstance(s, str) for s in summary[key]):
            bad(f"'{key}' must be a list of strings")
    return summary


def load_summary(path: str) -> dict:
    """Read and validate a summary.json (``path`` may be the file or its folder)."""
    if os.path.isdir(path):
        path = os.path.join(path, SUMMARY_NAME)
    if not os.path.isfile(path):
        raise UserError(f"summary not found: {path} (expected the {SUMMARY_NAME} a demo writes)")
    try:
        with open(path, encoding="utf-8") as f:
            summary = json.load(f)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno}): "
                        f"expected a {SUMMARY_NAME} of schema {SCHEMA}") from None
    return validate_summary(summary, path)
