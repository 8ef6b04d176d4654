"""Checkpoints that resume: weights, optimizer slots, the step counter and the random state.

Built on ``tf.train.Checkpoint`` (TensorFlow is imported inside the functions that need it;
:func:`find_checkpoint` needs none). Each save writes ``<directory>/<name>`` (``.index`` and
``.data-*``), a sidecar ``<name>.rng.json`` with numpy's and python's global RNG state, then
atomically rewrites ``checkpoint_state.json`` ``{"latest", "all", "step"}`` and TF's own
``checkpoint`` file (so ``tf.train.latest_checkpoint`` works too). Only the last ``max_to_keep``
are kept. A ``tf.random.Generator`` passed as a trackable resumes with the rest.

    keeper = CheckpointKeeper(run_dir / "checkpoints", G=G, D=D, g_opt=g_opt, d_opt=d_opt, rng=gen)
    start = keeper.restore() or 0            # build the models and optimizers first
    ...
    keeper.save(step)                        # checkpoints/model-<step>
    CheckpointKeeper(..., name_fn=lambda step: f"Epoch_{step}.ckpt")   # a card's own names

Keras models (and layers) are held by their variables, keyed by each variable's path inside the
model (``res0.conv1.kernel``): ``tf.train.Checkpoint`` does not follow layers a Keras 3 model keeps
in plain Python lists, so passing the model object would silently save only some of its weights.
One key layout for every model; inference code restores G alone with :func:`restore_for_inference`
without building the training step.

Keras 3 restores only variables that exist, so build models (call them once) and optimizers
(``opt.build(model.trainable_variables)``) before :meth:`CheckpointKeeper.restore`; it refuses
unbuilt ones rather than silently skipping their values.

In a data-parallel group every worker saves (the multi-worker pattern: a save may read mirrored
variables collectively), but only the chief's keeper (``chief=True``, the default) writes into
``directory``; the others (``chief=False``) write each save into a throw-away folder that is
removed at once, never touch ``directory``, and restore from it: the chief's checkpoints.

A damaged newest checkpoint is skipped for the next older intact one (said in one line); the
``<name>_temp/`` folders a kill during a save leaves behind are removed; a folder that holds only
an incomplete first save is said to restart from step 0.
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


def _is_keras_layer(obj) -> bool:
    try:
        import keras
    except ImportError:
        return False
    return isinstance(obj, keras.layers.Layer)


def model_variables(model) -> dict:
    """``{"res0.conv1.kernel": variable, ...}``: a Keras model's variables keyed by their path
    inside the model (the model's own name dropped), the layout every checkpoint here uses."""
    out = {}
    for v in model.weights:
        key = v.path.split("/", 1)[-1].replace("/", ".")
        if key in out:
            raise ValueError(f"two variables of {model.name} are both named {key}: give its layers "
                             "unique names")
        out[key] = v
    return out


def _check_built(trackables: dict) -> None:
    for key, obj in trackables.items():
        if getattr(obj, "built", True) is False:
            raise ValueError(f"build {key!r} before restoring a checkpoint into it (call the model "
                             "once / opt.build(model.trainable_variables)); Keras 3 would skip it")


def _as_trackables(trackables: dict) -> dict:
    """Keras models and layers -> dicts of their variables; anything else as it is."""
    _check_built(trackables)
    return {k: (model_variables(v) if _is_keras_layer(v) else v) for k, v in trackables.items()}


def _check_tracked(checkpoint, trackables: dict) -> None:
    """Refuse a checkpoint that would silently miss variables of an object it was given (an
    object other than a Keras model, e.g. a custom module keeping layers in lists)."""
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
                f"{key!r} (e.g. {names}): pass a Keras model, or its variables as a dict")


class DamagedCheckpoint(UserError):
    """The checkpoint files are missing, truncated or corrupt (an older one may still be intact)."""


def _read(checkpoint, prefix: str, partial: bool) -> None:
    import tensorflow as tf

    status = None
    try:
        status = checkpoint.read(prefix)
        if partial:
            status.expect_partial()
        status.assert_existing_objects_matched()
    except (ValueError, AssertionError, tf.errors.InvalidArgumentError) as exc:
        _quiet(status)
        raise UserError(f"checkpoint {prefix} does not match this config/model: {_first_line(exc)}") \
            from None
    except (tf.errors.OpError, IndexError, OSError) as exc:  # truncated/corrupt files read as these
        _quiet(status)
        raise DamagedCheckpoint(f"checkpoint {prefix} is missing or damaged: {_first_line(exc)}") \
            from None


_UNRESTORED_NOTES = ("Value in checkpoint could not be found", "with unrestored values")


def _drop_unrestored_notes(record) -> bool:
    return not any(note in record.getMessage() for note in _UNRESTORED_NOTES)


def _quiet(status) -> None:
    """A failed read must not be followed, at exit, by TF's 'Value in checkpoint could not be
    found' warning for every variable. When ``read`` itself raised (e.g. a shape mismatch) there
    is no status to mark partial, so those notes are filtered out of TF's logger instead."""
    if status is not None:
        try:
            status.expect_partial()
        except Exception:  # noqa: BLE001 - best effort on an already failed read
            pass
        return
    import logging

    logger = logging.getLogger("tensorflow")
    if _drop_unrestored_notes not in logger.filters:
        logger.addFilter(_drop_unrestored_notes)


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
    """Restore only ``trackables`` (e.g. ``G=generator``, a Keras model) from a training checkpoint.

    Other saved objects (discriminator, optimizers) are ignored; the given ones must all match.
    Returns the checkpoint's step when it has one. For test and freeze scripts: no training code
    is needed to load a generator.
    """
    import tensorflow as tf

    if not trackables:
        raise ValueError("restore_for_inference needs at least one trackable, e.g. G=generator")
    prefix = find_checkpoint(path_or_dir, base_dir=base_dir)
    _read(tf.train.Checkpoint(**_as_trackables(trackables)), prefix, partial=True)
    return _saved_step(prefix)


def remove_temp_folders(directory: str) -> list:
    """Remove the ``<name>_temp/`` folders a kill during a save leaves in ``directory`` (any
    framework's keeper writes through one); returns their names."""
    import shutil

    if not os.path.isdir(directory):
        return []
    removed = []
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        if entry.endswith("_temp") and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(entry)
    return removed


def _say(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)


# the keeper

class CheckpointKeeper:
    """Save, keep the last ``max_to_keep`` and restore ``trackables`` plus the step and RNG state.

    ``name_fn(step) -> str`` names each checkpoint (default ``<prefix>-<step>``); ``say`` prints
    the keeper's one-line notes (fallbacks, clean-ups); ``chief=False``: a non-chief worker of a
    group (saves go to a throw-away folder, restores read ``directory``, the chief's).
    """

    def __init__(self, directory, prefix: str = "model", max_to_keep: Optional[int] = 5,
                 name_fn=None, say=_say, chief: bool = True, **trackables):
        import tensorflow as tf

        if "step" in trackables:
            raise ValueError("'step' is tracked by CheckpointKeeper itself; pass it to save(step)")
        self.directory = os.fspath(directory)
        self.prefix = prefix
        self.max_to_keep = max_to_keep
        self.name_fn = name_fn
        self.say = say
        self.chief = bool(chief)
        self.trackables = dict(trackables)
        self._step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self._held = None          # the Keras models' variable dicts, made once they are built
        self.checkpoint = None
        state = _read_state(self.directory) or {}
        self._all = [n for n in state.get("all", []) if isinstance(n, str)]

    def _ckpt(self):
        if self.checkpoint is None:
            import tensorflow as tf

            self._held = _as_trackables(self.trackables)
            self.checkpoint = tf.train.Checkpoint(step=self._step, **self._held)
            _check_tracked(self.checkpoint, self._held)
        return self.checkpoint

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

    def count_variables(self) -> int:
        """How many variables a save writes (the step counter included)."""
        import tensorflow as tf

        return sum(1 for obj in tf.train.TrackableView(self._ckpt()).descendants()
                   if isinstance(obj, tf.Variable) or isinstance(getattr(obj, "value", None), tf.Variable))

    def save(self, step: int, name: Optional[str] = None) -> str:
        """Write ``<directory>/<name>`` (default ``name_fn(step)`` or ``<prefix>-<step>``); returns
        the prefix path. The state file moves to it only once every file is written. A non-chief
        writes into a throw-away folder (removed at once) and returns the chief's path."""
        step = int(step)
        base = name or (self.name_fn(step) if self.name_fn else f"{self.prefix}-{step}")
        if os.sep in base or (os.altsep and os.altsep in base):
            raise ValueError(f"checkpoint name must be a file name, not a path: {base!r}")
        checkpoint = self._ckpt()
        self._step.assign(step)
        if not self.chief:
            import shutil
            import tempfile

            scratch = tempfile.mkdtemp(prefix="worker-checkpoint-")
            try:
                checkpoint.write(os.path.join(scratch, base))
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            return os.path.join(self.directory, base)
        os.makedirs(self.directory, exist_ok=True)
        path = checkpoint.write(os.path.join(self.directory, base))
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

    def _clean_leftovers(self) -> list:
        return remove_temp_folders(self.directory)

    def _candidates(self) -> list:
        """Kept checkpoints, newest first: the state file's list, then any others on disk."""
        names = list(reversed(self._all))
        latest = latest_checkpoint(self.directory)
        if latest and os.path.basename(latest) not in names:
            names.insert(0, os.path.basename(latest))
        return [os.path.join(self.directory, n) for n in names if _is_prefix(os.path.join(self.directory, n))]

    def restore(self, path=None) -> Optional[int]:
        """Restore the latest intact checkpoint (or ``path``: a prefix, a name in the directory, a
        folder). Returns the restored step, or None when there is nothing to restore and ``path``
        is None. A damaged newest checkpoint falls back to the next older one, said in one line.
        """
        if path is not None:
            prefix = find_checkpoint(path, base_dir=self.directory)
            _read(self._ckpt(), prefix, partial=False)
            _restore_rng_sidecar(prefix)
            return self.step
        leftovers = self._clean_leftovers() if self.chief else []   # the chief's folder to clean
        if not self.chief:
            self._all = [n for n in (_read_state(self.directory) or {}).get("all", [])
                         if isinstance(n, str)]
        candidates = self._candidates()
        if not candidates:
            if leftovers or (os.path.isdir(self.directory) and any(
                    e.endswith((".index", RNG_SUFFIX)) or _DATA_RE.search(e) for e in os.listdir(self.directory))):
                self.say(f"note: {self.directory} holds only an incomplete checkpoint (a save was "
                         "interrupted); starting from step 0")
            return None
        self._ckpt()
        errors = []
        for prefix in candidates:
            try:
                _read(self.checkpoint, prefix, partial=False)
            except DamagedCheckpoint as exc:
                errors.append(str(exc))
                continue
            if errors:
                self.say(f"note: {errors[-1]}; resumed from the older {os.path.basename(prefix)} "
                         "instead")
            _restore_rng_sidecar(prefix)
            return self.step
        raise DamagedCheckpoint(f"every checkpoint in {self.directory} is damaged ({errors[0]}); "
                                "move the folder away to start again")
