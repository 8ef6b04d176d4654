"""Checkpoints that resume: weights, optimizer slots, the step counter and the random state.

Built on ``tf.train.Checkpoint`` (TensorFlow is imported inside the functions that need it;
:func:`find_checkpoint` needs none). Each save writes ``<directory>/<name>`` (``.index`` and
``.data-*``), a sidecar ``<name>.rng.json`` with numpy's and python's global RNG state, then
atomically rewrites ``checkpoint_state.json`` ``{"latest", "all", "step"}`` and TF's own
``checkpoint`` file (so ``tf.train.latest_checkpoint`` works too). Only the last ``max_to_keep``
are kept. A ``tf.random.Generator`` passed as a trackable resumes with the rest.

    keeper = CheckpointKeeper(out / "checkpoint", G=G, D=D, g_opt=g_opt, d_opt=d_opt, rng=gen)
    start = keeper.restore() or 0            # build the models and optimizers first
    ...
    keeper.save(step)                        # StarGAN: checkpoint/model-<step>
    keeper.save(step, name=f"Epoch_({e})_({i}of{n}).ckpt")   # STGAN names

Keras 3 restores only variables that exist, so build models (call them once) and optimizers
(``opt.build(model.trainable_variables)``) before :meth:`CheckpointKeeper.restore`; it refuses
unbuilt ones rather than silently skipping their values.
"""

from __future__ import annotations

import json
import os
import random
import re
from typing import Optional

from .errors import UserError
from .runs import atomic_write_text

STATE_NAME = "checkpoint_state.json"
RNG_SUFFIX = ".rng.json"
_DATA_RE = re.compile(r"\.data-\d{5}-of-\d{5}$")


# finding checkpoints (no TensorFlow needed)

def _is_prefix(path: str) -> bool:
    return os.path.isfile(path + ".index")


def _strip_suffix(path: str) -> str:
    if path.endswith(".index"):
        return path[: -len(".index")]
    if path.endswith(RNG_SUFFIX):
        return path[: -len(RNG_SUFFIX)]
    return _DATA_RE.sub("", path)


def _read_state(directory: str) -> Optional[dict]:
    path = os.path.join(directory, STATE_NAME)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
    except (json.JSONDecodeError, OSError) as exc:
        raise UserError(f"{path} is unreadable ({exc}); delete it to fall back to TF's checkpoint file")
    return state if isinstance(state, dict) else None


def _tf_state_latest(directory: str) -> Optional[str]:
    """The ``model_checkpoint_path`` of TF's text ``checkpoint`` file, read without TensorFlow."""
    path = os.path.join(directory, "checkpoint")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r'\s*model_checkpoint_path:\s*"(.*)"\s*$', line)
            if m:
                value = m.group(1).encode().decode("unicode_escape")
                return value if os.path.isabs(value) else os.path.join(directory, value)
    return None


def _tf_state_text(latest: str, all_names) -> str:
    """TF's text-proto ``checkpoint`` file with paths relative to its folder (relocatable)."""
    def q(name: str) -> str:
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"model_checkpoint_path: {q(latest)}"]
    lines += [f"all_model_checkpoint_paths: {q(n)}" for n in all_names]
    return "\n".join(lines) + "\n"


def latest_checkpoint(directory: str) -> Optional[str]:
    """Prefix of the newest checkpoint in ``directory`` (our state file, else TF's), or None."""
    if not os.path.isdir(directory):
        return None
    state = _read_state(directory)
    if state and state.get("latest"):
        candidate = os.path.join(directory, state["latest"])
        if _is_prefix(candidate):
            return candidate
    candidate = _tf_state_latest(directory)
    if candidate and _is_prefix(candidate):
        return candidate
    sub = os.path.join(directory, "checkpoint")
    if os.path.isdir(sub):  # StarGAN layout: <output_dir>/checkpoint/model-<step>
        return latest_checkpoint(sub)
    return None


def find_checkpoint(path_or_dir, base_dir: Optional[str] = None) -> str:
    """Resolve a ``--checkpoint`` value to a checkpoint prefix path.

    Accepts a prefix (``runs/x/checkpoint/model-200000``), a file of it (``...index``), a bare name
    relative to ``base_dir`` (``model-200000``), or a folder (its latest checkpoint).
    """
    given = os.fspath(path_or_dir)
    candidates = [given]
    if base_dir is not None and not os.path.isabs(given):
        candidates.append(os.path.join(base_dir, given))
    for cand in candidates:
        prefix = _strip_suffix(cand)
        if _is_prefix(prefix):
            return prefix
        if os.path.isdir(cand):
            latest = latest_checkpoint(cand)
            if latest:
                return latest
            raise UserError(f"no checkpoint in folder {cand}: expected {STATE_NAME} or a TF "
                            "'checkpoint' file next to <name>.index files")
    where = f" (also looked in {base_dir})" if base_dir is not None else ""
    raise UserError(f"checkpoint not found: {given}{where}; expected a prefix such as "
                    "model-200000 (with model-200000.index beside it) or a folder of checkpoints")


# random state sidecar

def _rng_state() -> dict:
    import numpy as np

    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    version, internal, gauss_next = random.getstate()
    return {"numpy": {"name": name, "keys": [int(k) for k in keys], "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
            "python": {"version": version, "state": list(internal), "gauss_next": gauss_next}}


def _set_rng_state(state: dict) -> None:
    import numpy as np

    n = state.get("numpy")
    if n:
        np.random.set_state((n["name"], np.asarray(n["keys"], dtype=np.uint32), n["pos"],
                             n["has_gauss"], n["cached_gaussian"]))
    p = state.get("python")
    if p:
        random.setstate((p["version"], tuple(p["state"]), p["gauss_next"]))


def _restore_rng_sidecar(prefix: str) -> bool:
    path = prefix + RNG_SUFFIX
    if not os.path.isfile(path):
        return False
    with open(path, encoding="utf-8") as f:
        _set_rng_state(json.load(f))
    return True


# reading with one-line errors

def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    line = line.split(" Showing ")[0]  # TF appends reprs of every unmatched variable
    return line if len(line) <= 240 else line[:237] + "..."


def _check_built(trackables: dict) -> None:
    for key, obj in trackables.items():
        if getattr(obj, "built", True) is False:
            raise ValueError(f"build {key!r} before restoring a checkpoint into it (call the model "
                             "once / opt.build(model.trainable_variables)); Keras 3 would skip it")


def _check_tracked(checkpoint, trackables: dict) -> None:
    """Refuse a checkpoint that would silently miss variables of a model it was given.

    Keras 3 layers kept in a plain Python list are invisible to ``tf.train.Checkpoint``: their
    weights would be neither saved nor restored, and nothing else would complain.
    """
    import tensorflow as tf

    reachable = set()
    for obj in tf.train.TrackableView(checkpoint).descendants():
        reachable.add(id(obj))
        if hasattr(obj, "value") and isinstance(getattr(obj, "value", None), tf.Variable):
            reachable.add(id(obj.value))
    for key, obj in trackables.items():
        variables = getattr(obj, "variables", None)
        if not isinstance(variables, (list, tuple)):
            continue
        missing = [v for v in variables if id(v) not in reachable]
        if missing:
            names = ", ".join(getattr(v, "path", getattr(v, "name", "?")) for v in missing[:3])
            raise ValueError(
                f"the checkpoint would miss {len(missing)} of {len(variables)} variables of "
                f"{key!r} (e.g. {names}): keep sub-layers as attributes, not in plain lists, or "
                f"pass the variables as a dict")


def _read(checkpoint, prefix: str, partial: bool) -> None:
    import tensorflow as tf

    try:
        status = checkpoint.read(prefix)
        if partial:
            status.expect_partial()
        status.assert_existing_objects_matched()
    except (ValueError, AssertionError, tf.errors.InvalidArgumentError) as exc:
        raise UserError(f"checkpoint {prefix} does not match this config/model: {_first_line(exc)}") \
            from None
    except (tf.errors.OpError, IndexError, OSError) as exc:  # truncated/corrupt files read as these
        raise UserError(f"checkpoint {prefix} is missing or damaged: {_first_line(exc)}") from None


def _saved_step(prefix: str) -> Optional[int]:
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(prefix)
        if reader.has_tensor("step/.ATTRIBUTES/VARIABLE_VALUE"):
            return int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE"))
    except (tf.errors.OpError, ValueError):
        pass
    return None


def restore_for_inference(path_or_dir, base_dir: Optional[str] = None, **trackables) -> Optional[int]:
    """Restore only ``trackables`` (e.g. ``G=generator``) from a training checkpoint.

    Other saved objects (discriminator, optimizers) are ignored; the given ones must all match.
    Returns the checkpoint's step when it has one. For test and freeze scripts.
    """
    import tensorflow as tf

    if not trackables:
        raise ValueError("restore_for_inference needs at least one trackable, e.g. G=generator")
    _check_built(trackables)
    prefix = find_checkpoint(path_or_dir, base_dir=base_dir)
    _read(tf.train.Checkpoint(**trackables), prefix, partial=True)
    return _saved_step(prefix)


# the keeper

class CheckpointKeeper:
    """Save, keep the last ``max_to_keep`` and restore ``trackables`` plus the step and RNG state."""

    def __init__(self, directory, prefix: str = "model", max_to_keep: Optional[int] = 5,
                 **trackables):
        import tensorflow as tf

        if "step" in trackables:
            raise ValueError("'step' is tracked by CheckpointKeeper itself; pass it to save(step)")
        self.directory = os.fspath(directory)
        self.prefix = prefix
        self.max_to_keep = max_to_keep
        self.trackables = dict(trackables)
        self._step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.checkpoint = tf.train.Checkpoint(step=self._step, **trackables)
        state = _read_state(self.directory) or {}
        self._all = [n for n in state.get("all", []) if isinstance(n, str)]
        self._tracked_checked = False

    @property
    def step(self) -> int:
        return int(self._step.numpy())

    @property
    def all(self) -> list:
        """Prefix paths of the kept checkpoints, oldest first."""
        return [os.path.join(self.directory, n) for n in self._all]

    @property
    def latest(self) -> Optional[str]:
        return latest_checkpoint(self.directory)

    def save(self, step: int, name: Optional[str] = None) -> str:
        """Write ``<directory>/<name or prefix-step>``; returns the prefix path."""
        os.makedirs(self.directory, exist_ok=True)
        step = int(step)
        base = name or f"{self.prefix}-{step}"
        if os.sep in base or (os.altsep and os.altsep in base):
            raise ValueError(f"checkpoint name must be a file name, not a path: {base!r}")
        if not self._tracked_checked:
            _check_tracked(self.checkpoint, self.trackables)
            self._tracked_checked = True
        self._step.assign(step)
        path = self.checkpoint.write(os.path.join(self.directory, base))
        atomic_write_text(path + RNG_SUFFIX, json.dumps(_rng_state()))
        self._all = [n for n in self._all if n != base] + [base]
        dropped = []
        if self.max_to_keep is not None and len(self._all) > self.max_to_keep:
            dropped = self._all[: len(self._all) - self.max_to_keep]
            self._all = self._all[len(dropped):]
        state = {"latest": base, "all": list(self._all), "step": step}
        atomic_write_text(os.path.join(self.directory, STATE_NAME), json.dumps(state, indent=1) + "\n")
        atomic_write_text(os.path.join(self.directory, "checkpoint"), _tf_state_text(base, self._all))
        for old in dropped:
            self._delete(old)
        return path

    def _delete(self, base: str) -> None:
        stem = base + "."
        for entry in os.listdir(self.directory):
            if entry.startswith(stem) and (entry == base + ".index" or entry == base + RNG_SUFFIX
                                           or _DATA_RE.search(entry[len(base):])):
                try:
                    os.remove(os.path.join(self.directory, entry))
                except FileNotFoundError:
                    pass

    def restore(self, path=None) -> Optional[int]:
        """Restore the latest checkpoint (or ``path``: a prefix, a name in the directory, a folder).

        Returns the restored step, or None when there is nothing to restore and ``path`` is None.
        """
        if path is None:
            prefix = latest_checkpoint(self.directory)
            if prefix is None:
                return None
        else:
            prefix = find_checkpoint(path, base_dir=self.directory)
        _check_built(self.trackables)
        _check_tracked(self.checkpoint, self.trackables)
        _read(self.checkpoint, prefix, partial=False)
        _restore_rng_sidecar(prefix)
        return self.step
