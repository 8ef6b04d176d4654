"""MindSpore checkpoints that resume: cells (networks, optimizers), the step, random and extra state.

The MindSpore counterpart of :mod:`common_tools.checkpoint`, implementing the driver's
:class:`common_tools.training.Checkpointer` protocol. MindSpore is imported inside the functions.

    keeper = MSCheckpointKeeper(run.checkpoint_dir, name_fn=str,
                                G=G, D=D, opt_g=opt_g, rng=np.random.default_rng(0))
    start = keeper.restore() or 0            # newest intact checkpoint, None when there is none
    keeper.save(step)                        # checkpoints/G_<step>.ckpt, D_<step>.ckpt, ..., <step>.manifest.json

One save of checkpoint ``<name>`` (``name_fn(step)``, default ``<prefix>-<step>``) writes

    <directory>/<key>_<name>.ckpt          one plain MindSpore checkpoint per cell (``file_fn(key, name)``)
    <directory>/<name>.manifest.json       step, each file's size and CRC-32, the states below
    <directory>/checkpoint_state.json      {"latest", "all", "step"}, rewritten atomically last

What each keyword object is:

- an ``nn.Cell`` (network, optimizer, any cell with Parameters): its Parameters keyed by their
  path inside the cell (``parameters_and_names()``: ``scale_layers.0.conv1.weight``), not by
  ``Parameter.name``, which MindSpore rewrites when a cell is compiled inside another one. A file
  loads into a freshly built cell with ``ms.load_param_into_net`` or :func:`load_cell`;
- a zero-argument callable returning a cell, resolved at every save and restore: for models that
  rebuild cells (a network that grows, a new optimizer per stage);
- ``numpy.random.Generator`` / ``numpy.random.RandomState`` / ``random.Random``: their state;
- any object with ``state_dict() -> JSON-able`` and ``load_state_dict(state)``.

Every save also records numpy's and python's global RNG and MindSpore's default generator
(``get_rng_state``, ``get_seed``). :meth:`MSCheckpointKeeper.restore` restores the states first,
in the order given, then resolves the callables and loads the cells: a model that must rebuild
its cells at a saved size passes an object whose ``load_state_dict`` does that before the cells.

Files are written into ``<name>_temp/`` and moved into place; the manifest is written only when
every file is in place, the state file after it, so a kill during a save leaves the previous
checkpoint the newest intact one. Restore checks sizes and CRCs before anything is loaded: a
damaged newest checkpoint falls back to the next older intact one (said in one line); the
``_temp`` leftovers of a killed save are removed. Only the last ``max_to_keep`` are kept.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import time
import zlib
from typing import Callable, Optional

from .checkpoint import remove_temp_folders
from .errors import UserError
from .runs import atomic_write_text

STATE_NAME = "checkpoint_state.json"
MANIFEST_SUFFIX = ".manifest.json"
FORMAT = 1


class DamagedCheckpoint(UserError):
    """A checkpoint's files are missing, truncated or corrupt (an older one may still be intact)."""


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _default_file(key: str, name: str) -> str:
    return f"{key}_{name}.ckpt"


def _crc32(path: str) -> int:
    crc = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            crc = zlib.crc32(block, crc)
    return crc & 0xFFFFFFFF


def _is_cell(obj) -> bool:
    try:
        from mindspore import nn
    except ImportError:  # pragma: no cover - the keeper is for MindSpore projects
        return False
    return isinstance(obj, nn.Cell)


def _kind(key: str, obj) -> str:
    import numpy as np

    if _is_cell(obj):
        return "cell"
    if isinstance(obj, (np.random.Generator, np.random.RandomState, random.Random)):
        return "rng"
    if hasattr(obj, "state_dict") and hasattr(obj, "load_state_dict"):
        return "state"
    if callable(obj):
        return "cell_fn"
    raise TypeError(f"{key!r}: expected a mindspore Cell, a callable returning one, a numpy/python "
                    f"random generator or an object with state_dict/load_state_dict, got {type(obj).__name__}")


# ---- random state ---------------------------------------------------------------------------------

def _rng_state(obj):
    import numpy as np

    if isinstance(obj, np.random.Generator):
        return {"type": "numpy.Generator", "state": obj.bit_generator.state}
    if isinstance(obj, np.random.RandomState):
        name, keys, pos, has_gauss, cached = obj.get_state(legacy=True)
        return {"type": "numpy.RandomState", "state": [name, [int(k) for k in keys], int(pos),
                                                       int(has_gauss), float(cached)]}
    version, internal, gauss_next = obj.getstate()
    return {"type": "random.Random", "state": [version, list(internal), gauss_next]}


def _set_rng_state(obj, saved) -> None:
    import numpy as np

    state = saved["state"]
    if isinstance(obj, np.random.Generator):
        obj.bit_generator.state = state
    elif isinstance(obj, np.random.RandomState):
        obj.set_state((state[0], np.asarray(state[1], dtype=np.uint32), state[2], state[3], state[4]))
    else:
        obj.setstate((state[0], tuple(state[1]), state[2]))


def global_rng_state() -> dict:
    """numpy's and python's global RNG and MindSpore's default generator, JSON-able."""
    import numpy as np

    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    version, internal, gauss_next = random.getstate()
    out = {"numpy": [name, [int(k) for k in keys], int(pos), int(has_gauss), float(cached)],
           "python": [version, list(internal), gauss_next], "mindspore": None}
    try:
        import mindspore as ms

        out["mindspore"] = {"seed": ms.get_seed(),
                            "state": [int(v) for v in ms.get_rng_state().asnumpy().ravel()]}
    except Exception:  # noqa: BLE001 - a MindSpore without a default generator: nothing to keep
        pass
    return out


def set_global_rng_state(state: dict) -> None:
    """Undo :func:`global_rng_state`'s snapshot. MindSpore's first: its ``set_seed`` also reseeds
    numpy's global generator, which is then set to the saved state."""
    import numpy as np

    saved = state.get("mindspore")
    if saved:
        try:
            import mindspore as ms

            if saved.get("seed") is not None:
                ms.set_seed(int(saved["seed"]))
            current = ms.get_rng_state()
            value = np.asarray(saved["state"], dtype=current.asnumpy().dtype).reshape(current.shape)
            ms.set_rng_state(ms.Tensor(value))
        except Exception:  # noqa: BLE001 - best effort, as when it was saved
            pass
    if state.get("numpy"):
        n = state["numpy"]
        np.random.set_state((n[0], np.asarray(n[1], dtype=np.uint32), n[2], n[3], n[4]))
    if state.get("python"):
        p = state["python"]
        random.setstate((p[0], tuple(p[1]), p[2]))


# ---- reading and writing one cell -----------------------------------------------------------------

class _QuietMindSpore:
    """MindSpore logs an [ERROR] line before raising on an unreadable file; our error says it once."""

    def __enter__(self):
        import logging

        self.logger = None
        try:
            from mindspore import log

            self.logger = log._get_logger()
            self.level = self.logger.level
            self.logger.setLevel(logging.CRITICAL + 1)
        except Exception:  # noqa: BLE001 - no quieting possible: the error line still comes
            self.logger = None
        return self

    def __exit__(self, *exc):
        if self.logger is not None:
            self.logger.setLevel(self.level)
        return False


def cell_parameters(cell) -> dict:
    """``{path inside the cell: Parameter}``: the key layout of every file this module writes."""
    return {name: param for name, param in cell.parameters_and_names()}


def save_cell(cell, path: str) -> int:
    """Write ``cell``'s Parameters (keyed by path) to the MindSpore checkpoint ``path``; their count."""
    import mindspore as ms

    params = cell_parameters(cell)
    ms.save_checkpoint([{"name": k, "data": p} for k, p in params.items()], path)
    return len(params)


def read_checkpoint(path, what: str = "checkpoint") -> dict:
    """``{name: Parameter}`` of a MindSpore checkpoint file; one-line UserError when it is missing,
    empty or unreadable."""
    import mindspore as ms

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f"{what} not found: {path} (expected a MindSpore .ckpt file)")
    if os.path.getsize(path) == 0:
        raise DamagedCheckpoint(f"{what} {path} is empty")
    try:
        with _QuietMindSpore():
            params = ms.load_checkpoint(path)
    except (ValueError, RuntimeError, OSError, TypeError) as exc:
        raise DamagedCheckpoint(f"{what} {path} is not a readable MindSpore checkpoint "
                                f"({str(exc).strip().splitlines()[0][:160]})") from None
    if not params:
        raise DamagedCheckpoint(f"{what} {path} holds no parameters")
    return params


def load_params(cell, params: dict, where: str) -> None:
    """Set every Parameter of ``cell`` (by path) from ``params``; one-line UserError naming the
    first missing, unexpected or mis-shaped entry. Nothing is changed when anything does not fit."""
    own = cell_parameters(cell)
    missing = [k for k in own if k not in params]
    unexpected = [k for k in params if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        raise UserError(f"{where} does not match this model: {', '.join(parts)} of {len(own)} parameters")
    for key, param in own.items():
        value = params[key]
        if tuple(value.shape) != tuple(param.shape):
            raise UserError(f"{where} does not match this model: {key} has shape {tuple(value.shape)} "
                            f"in the checkpoint, {tuple(param.shape)} in the model")
        if value.dtype != param.dtype:
            raise UserError(f"{where} does not match this model: {key} is {value.dtype} in the checkpoint, "
                            f"{param.dtype} in the model")
    import mindspore as ms

    for key, param in own.items():
        param.set_data(ms.Tensor(params[key].asnumpy()))


def load_cell(path, cell, what: str = "checkpoint") -> None:
    """Load a checkpoint file written by this module (or by ``ms.save_checkpoint`` of a cell whose
    Parameter names are their paths) into ``cell``, for inference and export scripts."""
    load_params(cell, read_checkpoint(path, what), f"{what} {os.fspath(path)}")


# ---- finding checkpoints --------------------------------------------------------------------------

def _read_json(path: str, what: str):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DamagedCheckpoint(f"{what} {path} is unreadable ({exc})") from None


def _read_state(directory: str) -> dict:
    path = os.path.join(directory, STATE_NAME)
    if not os.path.isfile(path):
        return {}
    try:
        state = _read_json(path, "checkpoint state")
    except DamagedCheckpoint:
        return {}  # the manifests on disk still say what there is
    return state if isinstance(state, dict) else {}


def _manifest_path(directory: str, name: str) -> str:
    return os.path.join(directory, name + MANIFEST_SUFFIX)


def _names_on_disk(directory: str) -> list:
    """Checkpoint names with a manifest in ``directory``, oldest step first."""
    if not os.path.isdir(directory):
        return []
    found = []
    for entry in os.listdir(directory):
        if entry.endswith(MANIFEST_SUFFIX):
            name = entry[: -len(MANIFEST_SUFFIX)]
            try:
                step = int(_read_json(os.path.join(directory, entry), "manifest").get("step", -1))
            except (DamagedCheckpoint, AttributeError, TypeError, ValueError):
                step = -1
            found.append((step, os.path.getmtime(os.path.join(directory, entry)), name))
    return [name for _, _, name in sorted(found)]


def latest_checkpoint(directory) -> Optional[str]:
    """The manifest path of the newest checkpoint in ``directory`` (not checked for damage), or None."""
    directory = os.fspath(directory)
    state = _read_state(directory)
    name = state.get("latest")
    if isinstance(name, str) and os.path.isfile(_manifest_path(directory, name)):
        return _manifest_path(directory, name)
    names = _names_on_disk(directory)
    return _manifest_path(directory, names[-1]) if names else None


def checkpoint_file(path_or_dir, key: str) -> str:
    """The ``key`` cell's file: ``path_or_dir`` itself when it is a .ckpt file, else that file of the
    manifest given or of the newest checkpoint in the folder given."""
    given = os.fspath(path_or_dir)
    if os.path.isfile(given) and not given.endswith(MANIFEST_SUFFIX):
        return given
    manifest = given if given.endswith(MANIFEST_SUFFIX) else None
    if manifest is None and os.path.isdir(given):
        manifest = latest_checkpoint(given)
        if manifest is None:
            raise UserError(f"no checkpoint in folder {given}: expected *{MANIFEST_SUFFIX} files "
                            "(a run's checkpoints/ folder) or a .ckpt file")
    if manifest is None or not os.path.isfile(manifest):
        raise UserError(f"checkpoint not found: {given} (expected a .ckpt file, a manifest or a folder)")
    data = _read_json(manifest, "manifest")
    files = data.get("files", {}) if isinstance(data, dict) else {}
    if key not in files:
        raise UserError(f"{manifest} has no {key!r} checkpoint (it holds {', '.join(files) or 'none'})")
    return os.path.join(os.path.dirname(manifest), files[key]["file"])


# ---- the keeper -----------------------------------------------------------------------------------

class MSCheckpointKeeper:
    """Save, keep the last ``max_to_keep`` and restore MindSpore cells plus the step and states.

    ``name_fn(step) -> str`` names each checkpoint (default ``<prefix>-<step>``; ``str`` gives the
    card-style ``G_1000.ckpt``); ``file_fn(key, name) -> str`` names each cell's file (default
    ``<key>_<name>.ckpt``); ``say`` prints the one-line notes (fallbacks, clean-ups).
    """

    def __init__(self, directory, prefix: str = "model", max_to_keep: Optional[int] = 5,
                 name_fn: Optional[Callable[[int], str]] = None,
                 file_fn: Optional[Callable[[str, str], str]] = None, say=_say, **objects):
        if not objects:
            raise ValueError("MSCheckpointKeeper needs at least one cell, e.g. G=generator")
        if "step" in objects:
            raise ValueError("'step' is kept by MSCheckpointKeeper itself; pass it to save(step)")
        self.directory = os.fspath(directory)
        self.prefix = prefix
        self.max_to_keep = max_to_keep
        self.name_fn = name_fn
        self.file_fn = file_fn or _default_file
        self.say = say
        self.objects = dict(objects)
        self.kinds = {k: _kind(k, v) for k, v in self.objects.items()}
        self.step = 0
        state = _read_state(self.directory)
        self._all = [n for n in state.get("all", []) if isinstance(n, str)]

    # ---- what is kept
    def cells(self) -> dict:
        """``{key: Cell}``, callables resolved now."""
        out = {}
        for key, kind in self.kinds.items():
            if kind in ("cell", "cell_fn"):
                cell = self.objects[key] if kind == "cell" else self.objects[key]()
                if not _is_cell(cell):
                    raise TypeError(f"{key!r} returned {type(cell).__name__}, not a mindspore Cell")
                out[key] = cell
        return out

    def count_parameters(self) -> int:
        """How many Parameters a save writes (every cell's, by path)."""
        return sum(len(cell_parameters(c)) for c in self.cells().values())

    @property
    def all(self) -> list:
        """Manifest paths of the kept checkpoints, oldest first."""
        return [_manifest_path(self.directory, n) for n in self._all]

    @property
    def latest(self) -> Optional[str]:
        return latest_checkpoint(self.directory)

    # ---- saving
    def _name(self, step: int) -> str:
        name = self.name_fn(step) if self.name_fn else f"{self.prefix}-{step}"
        name = str(name)
        if not name or os.sep in name or (os.altsep and os.altsep in name):
            raise ValueError(f"checkpoint name must be a file name, not a path: {name!r}")
        return name

    def save(self, step: int) -> str:
        """Write checkpoint ``name_fn(step)``; returns its manifest path. The state file moves to it
        only once every file is in place."""
        step = int(step)
        name = self._name(step)
        os.makedirs(self.directory, exist_ok=True)
        temp = os.path.join(self.directory, name + "_temp")
        shutil.rmtree(temp, ignore_errors=True)
        os.makedirs(temp)
        files = {}
        for key, cell in self.cells().items():
            fname = self.file_fn(key, name)
            if os.sep in fname or not fname.endswith(".ckpt"):
                raise ValueError(f"file_fn must give a .ckpt file name, got {fname!r}")
            tmp_path = os.path.join(temp, fname)
            count = save_cell(cell, tmp_path)
            files[key] = {"file": fname, "bytes": os.path.getsize(tmp_path), "crc32": _crc32(tmp_path),
                          "params": count}
        states = {}
        for key, kind in self.kinds.items():
            if kind == "rng":
                states[key] = _rng_state(self.objects[key])
            elif kind == "state":
                states[key] = self.objects[key].state_dict()
        manifest = {"format": FORMAT, "name": name, "step": step, "time": time.time(), "files": files,
                    "states": states, "rng": global_rng_state()}
        text = json.dumps(manifest, indent=1) + "\n"   # fails here, before anything moved, if not JSON-able
        for entry in files.values():
            os.replace(os.path.join(temp, entry["file"]), os.path.join(self.directory, entry["file"]))
        shutil.rmtree(temp, ignore_errors=True)
        atomic_write_text(_manifest_path(self.directory, name), text)
        self._all = [n for n in self._all if n != name] + [name]
        dropped = []
        if self.max_to_keep is not None and len(self._all) > self.max_to_keep:
            dropped = self._all[: len(self._all) - self.max_to_keep]
            self._all = self._all[len(dropped):]
        atomic_write_text(os.path.join(self.directory, STATE_NAME),
                          json.dumps({"latest": name, "all": list(self._all), "step": step}, indent=1) + "\n")
        for old in dropped:
            self._delete(old)
        self.step = step
        return _manifest_path(self.directory, name)

    def _delete(self, name: str) -> None:
        path = _manifest_path(self.directory, name)
        kept = {e["file"] for n in self._all for e in self._files_of(n)}
        for entry in self._files_of(name):
            if entry["file"] not in kept:
                try:
                    os.remove(os.path.join(self.directory, entry["file"]))
                except FileNotFoundError:
                    pass
        try:
            os.remove(path)
        except FileNotFoundError:
            pass

    def _files_of(self, name: str) -> list:
        try:
            data = _read_json(_manifest_path(self.directory, name), "manifest")
            return list(data.get("files", {}).values())
        except (DamagedCheckpoint, AttributeError):
            return []

    # ---- restoring
    def _clean_leftovers(self) -> list:
        return remove_temp_folders(self.directory)

    def _candidates(self) -> list:
        """Checkpoint names, newest first: the state file's list, then any other manifest on disk."""
        names = list(reversed(self._all))
        for name in reversed(_names_on_disk(self.directory)):
            if name not in names:
                names.append(name)
        state = _read_state(self.directory)
        latest = state.get("latest")
        if isinstance(latest, str) and latest in names:
            names.remove(latest)
            names.insert(0, latest)
        return names

    def _verify(self, name: str, directory: Optional[str] = None) -> tuple:
        """(manifest, {key: params}) of an intact checkpoint; DamagedCheckpoint otherwise."""
        directory = directory or self.directory
        path = _manifest_path(directory, name)
        if not os.path.isfile(path):
            raise DamagedCheckpoint(f"checkpoint {path} is missing")
        manifest = _read_json(path, "checkpoint manifest")
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict) \
                or not isinstance(manifest.get("step"), int):
            raise DamagedCheckpoint(f"checkpoint manifest {path} is incomplete")
        keys = {k for k, v in self.kinds.items() if v in ("cell", "cell_fn")}
        if set(manifest["files"]) != keys:
            raise UserError(f"checkpoint {path} holds {', '.join(sorted(manifest['files']))} but this "
                            f"model keeps {', '.join(sorted(keys))}")
        params = {}
        for key, entry in manifest["files"].items():
            file = os.path.join(directory, entry["file"])
            if not os.path.isfile(file):
                raise DamagedCheckpoint(f"checkpoint {name}: {file} is missing")
            size = os.path.getsize(file)
            if size != entry.get("bytes") or _crc32(file) != entry.get("crc32"):
                raise DamagedCheckpoint(f"checkpoint {name}: {file} is damaged (size or CRC differs from "
                                        "its manifest)")
            params[key] = read_checkpoint(file, f"checkpoint {name}:")
        missing_states = [k for k, v in self.kinds.items() if v in ("rng", "state")
                          and k not in manifest.get("states", {})]
        if missing_states:
            raise UserError(f"checkpoint {path} has no state for {', '.join(missing_states)}")
        return manifest, params

    def _apply(self, manifest: dict, params: dict) -> int:
        for key, kind in self.kinds.items():
            if kind == "rng":
                _set_rng_state(self.objects[key], manifest["states"][key])
            elif kind == "state":
                self.objects[key].load_state_dict(manifest["states"][key])
        for key, cell in self.cells().items():
            load_params(cell, params[key], f"checkpoint {manifest.get('name')} ({key})")
        if manifest.get("rng"):
            set_global_rng_state(manifest["rng"])
        self.step = int(manifest["step"])
        return self.step

    def restore(self, path=None) -> Optional[int]:
        """Restore the newest intact checkpoint (or ``path``: a manifest, or a checkpoint name in the
        directory); returns its step, None when there is nothing to restore. A damaged newest one
        falls back to the next older intact one, said in one line."""
        if path is not None:
            given = os.fspath(path)
            if given.endswith(MANIFEST_SUFFIX):
                name = os.path.basename(given)[: -len(MANIFEST_SUFFIX)]
                return self._apply(*self._verify(name, os.path.dirname(given) or self.directory))
            return self._apply(*self._verify(given))
        leftovers = self._clean_leftovers()
        candidates = self._candidates()
        if not candidates:
            if leftovers:
                self.say(f"note: {self.directory} holds only an incomplete checkpoint (a save was "
                         "interrupted); starting from step 0")
            return None
        errors = []
        for name in candidates:
            try:
                verified = self._verify(name)
            except DamagedCheckpoint as exc:
                errors.append(str(exc))
                continue
            if errors:
                self.say(f"note: {errors[-1]}; resumed from the older {name} instead")
            self._all = [n for n in self._all if n not in set(candidates[: candidates.index(name)])]
            return self._apply(*verified)
        raise DamagedCheckpoint(f"every checkpoint in {self.directory} is damaged ({errors[0]}); "
                                "move the folder away to start again")
