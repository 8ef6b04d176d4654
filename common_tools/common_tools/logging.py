"""Step logging twice over: one JSONL record per step for programs, one progress line for people.

    log = StepLogger(run_dir, total_steps=cfg.num_iters, start_step=restored_step or 0)
    for step in range(log.start_step + 1, cfg.num_iters + 1):
        losses = train_step(...)
        log.log(step, images=cfg.batch_size, **losses)     # {"loss/G": 1.2, "loss/D": 0.4, ...}
    log.close()

Each record is ``{"step", "time" (unix s), "elapsed" (s since this logger started),
"images_per_sec" (when ``images`` is given), **scalars}``, flushed at once so a killed run leaves a
readable log (:func:`read_jsonl` skips a torn last line). A non-finite scalar is written as ``null``
and named in a ``"nonfinite"`` list, so the file stays valid JSON. On resume (``start_step`` > 0)
records after ``start_step`` - written after the last checkpoint by the killed run - are dropped so
the steps continue without duplicates.

TensorBoard scalars and images go to ``<run_dir>/summaries`` through ``tf.summary`` (TensorFlow is
imported when the logger starts; where it is not installed, or in a MindSpore process that has
not imported it, TensorBoard is skipped with one note). ``tensorboard=False`` turns it off.

This module is ``common_tools.logging``; it shadows nothing because the package uses absolute
imports, and it does not need the standard library ``logging``.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import sys
import time
from typing import IO, Iterable, Optional

from .errors import UserError

JSONL_NAME = "train_log.jsonl"


def _to_python(value):
    """A scalar (python, numpy, TF/MindSpore tensor) as a python float/int/bool/str."""
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if hasattr(value, "numpy"):  # eager TF tensor
        value = value.numpy()
    elif hasattr(value, "asnumpy"):  # MindSpore tensor
        value = value.asnumpy()
    try:
        import numpy as np

        arr = np.asarray(value)
        if arr.size == 1:
            item = arr.reshape(()).item()
            return item if isinstance(item, (bool, int, float, str)) else float(item)
    except (TypeError, ValueError):
        pass
    return str(value)


def _format_duration(seconds: Optional[float]) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def _format_value(value) -> str:
    if value is None:
        return "nan"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _tb_metadata(plugin: str, data_class: int):
    """SummaryMetadata for TensorBoard's ``scalars`` (class 1) / ``images`` (class 3) plugins.

    Written with ``tf.summary.write`` so no ``tensorboard`` package is needed to produce the files
    (tensorflow-cpu does not install it; ``tf.summary.scalar`` would fail without it).
    """
    from tensorflow.core.framework import summary_pb2

    meta = summary_pb2.SummaryMetadata()
    meta.plugin_data.plugin_name = plugin
    meta.data_class = data_class
    return meta


def read_jsonl(path: str) -> list:
    """Read a JSONL log into a list of dicts; a torn last line (a killed writer) is skipped."""
    if not os.path.isfile(path):
        raise UserError(f"log not found: {path} (expected the train_log.jsonl a training run writes)")
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    records = []
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if i == last:
                break
            raise UserError(f"{path} line {i + 1} is not valid JSON: expected one record per line")
        if isinstance(rec, dict):
            records.append(rec)
    return records


def _truncate_after(path: str, start_step: int) -> int:
    """Keep records with step <= start_step (dropping a torn tail); returns how many were dropped."""
    if not os.path.isfile(path):
        return 0
    records = read_jsonl(path)
    kept = [r for r in records if isinstance(r.get("step"), (int, float)) and r["step"] <= start_step]
    with open(path, "rb") as f:
        raw = f.read()
    intact = raw.endswith(b"\n") or not raw
    if len(kept) == len(records) and intact:
        return 0
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for r in kept:
            f.write(json.dumps(r, allow_nan=False) + "\n")
    os.replace(tmp, path)
    return len(records) - len(kept)


class StepLogger:
    """Append one JSONL record per :meth:`log` call and keep one progress line up to date.

    ``every``: when the stream is not a terminal, print a plain progress line every ``every`` steps
    (and at the last step); on a terminal the line is redrawn in place with ``\\r``.
    """

    def __init__(self, run_dir: str, total_steps: int, start_step: int = 0, every: int = 1,
                 stream: Optional[IO[str]] = sys.stderr, jsonl_name: str = JSONL_NAME,
                 tensorboard: bool = True):
        self.run_dir = str(run_dir)
        self.total_steps = int(total_steps)
        self.start_step = int(start_step)
        self.every = max(1, int(every))
        self.stream = stream
        self.path = os.path.join(self.run_dir, jsonl_name)
        self.tensorboard = bool(tensorboard)
        os.makedirs(self.run_dir, exist_ok=True)
        _truncate_after(self.path, self.start_step)
        self._file = open(self.path, "a", encoding="utf-8")
        self._t0 = time.time()
        self._last_time = self._t0
        self._last_step = self.start_step
        self._last_draw = 0.0
        self._line_open = False
        self._line_width = 0
        self._writer = None
        self._tb_failed = False
        if self.tensorboard:
            self._tb()  # import TensorFlow now, so its start-up cost is not counted as step time
        self._t0 = self._last_time = time.time()
        try:
            self._tty = bool(stream is not None and stream.isatty())
        except (AttributeError, ValueError):
            self._tty = False

    # JSONL
    def log(self, step: int, images: Optional[int] = None, **scalars) -> dict:
        """Record ``scalars`` for ``step``; ``images`` = images per step (the batch size).

        Returns the record written.
        """
        now = time.time()
        step = int(step)
        record = {"step": step, "time": round(now, 3), "elapsed": round(now - self._t0, 3)}
        dt = now - self._last_time
        steps_done = max(step - self._last_step, 1)
        if images is not None:
            record["images_per_sec"] = round(images * steps_done / dt, 3) if dt > 0 else None
        nonfinite = []
        for key, value in scalars.items():
            value = _to_python(value)
            if isinstance(value, float) and not math.isfinite(value):
                nonfinite.append(key)
                value = None
            record[key] = value
        if record.get("images_per_sec") is None and "images_per_sec" in record:
            record.pop("images_per_sec")
        if nonfinite:
            record["nonfinite"] = nonfinite
        self._file.write(json.dumps(record, allow_nan=False) + "\n")
        self._file.flush()
        self._last_time, self._last_step = now, step
        if self.tensorboard:
            self._tb_scalars(step, {k: v for k, v in record.items()
                                    if k in scalars or k == "images_per_sec"})
        self._progress(step, record, scalars)
        return record

    # progress line
    def rate(self, step: int) -> Optional[float]:
        """Steps per second since this logger started (None before the first step)."""
        elapsed = time.time() - self._t0
        done = step - self.start_step
        return done / elapsed if done > 0 and elapsed > 0 else None

    def format_line(self, step: int, record: dict, scalars: dict) -> str:
        total = self.total_steps
        pct = f" ({100.0 * step / total:.1f}%)" if total > 0 else ""
        rate = self.rate(step)
        eta = (total - step) / rate if rate and total >= step else None
        parts = [f"step {step}/{total}{pct}"]
        speed = f"{rate:.2f} it/s" if rate else "? it/s"
        if "images_per_sec" in record:
            speed += f" {record['images_per_sec']:.1f} img/s"
        parts.append(speed)
        parts.append(f"ETA {_format_duration(eta)}")
        keys = [k for k in scalars if "loss" in k.lower()] or list(scalars)
        shown = " ".join(f"{k} {_format_value(record.get(k))}" for k in keys[:6])
        if shown:
            parts.append(shown)
        if record.get("nonfinite"):
            parts.append("NON-FINITE: " + ",".join(record["nonfinite"]))
        return " | ".join(parts)

    def _progress(self, step: int, record: dict, scalars: dict) -> None:
        if self.stream is None:
            return
        last = step >= self.total_steps
        if self._tty:
            now = time.monotonic()
            if not last and now - self._last_draw < 0.1:
                return
            self._last_draw = now
            line = self.format_line(step, record, scalars)
            pad = max(self._line_width - len(line), 0)
            self.stream.write("\r" + line + " " * pad)
            self._line_width = len(line)
            self._line_open = True
        else:
            if not last and step % self.every != 0:
                return
            self.stream.write(self.format_line(step, record, scalars) + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        """Print a line without breaking the progress line."""
        if self.stream is None:
            return
        if self._line_open:
            self.stream.write("\n")
            self._line_open = False
            self._line_width = 0
        self.stream.write(text + "\n")
        self.stream.flush()

    # TensorBoard
    def _tb(self):
        if self._writer is None and not self._tb_failed:
            if "tensorflow" not in sys.modules and "mindspore" in sys.modules:
                self._tb_failed = True  # never pull TensorFlow into a MindSpore process
                self.message("note: TensorBoard summaries need TensorFlow; off in a MindSpore run")
                return None
            try:
                import tensorflow as tf
            except ImportError:
                self._tb_failed = True
                self.message("note: TensorFlow is not installed; TensorBoard summaries are off")
                return None
            self._writer = tf.summary.create_file_writer(os.path.join(self.run_dir, "summaries"))
        return self._writer

    def _tb_scalars(self, step: int, values: dict) -> None:
        writer = self._tb()
        if writer is None:
            return
        import tensorflow as tf

        with writer.as_default():
            for key, value in values.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    tf.summary.write(key, tf.constant(float(value), tf.float32), step=step,
                                     metadata=_tb_metadata("scalars", 1))
        writer.flush()

    def image(self, step: int, name: str, grid_uint8) -> None:
        """Write one image (HxWx3 uint8 grid, e.g. from ``grids.make_grid``) to TensorBoard."""
        if not self.tensorboard:
            return
        writer = self._tb()
        if writer is None:
            return
        import numpy as np
        import tensorflow as tf

        from .grids import to_uint8

        arr = to_uint8(grid_uint8)
        arr = arr[None] if arr.ndim == 3 else arr
        if arr.ndim == 3 + 1 and arr.shape[-1] not in (1, 3, 4):
            raise ValueError(f"image {name!r} must be HxWxC with C in 1,3,4, got {arr.shape}")
        pngs = [tf.io.encode_png(np.ascontiguousarray(a)) for a in arr]
        h, w = arr.shape[1:3]
        tensor = tf.stack([tf.constant(str(w)), tf.constant(str(h)), *pngs])
        with writer.as_default():
            tf.summary.write(name, tensor, step=int(step), metadata=_tb_metadata("images", 3))
        writer.flush()

    def close(self) -> None:
        if self._line_open and self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()
            self._line_open = False
        if not self._file.closed:
            self._file.close()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> "StepLogger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress(iterable: Optional[Iterable] = None, total: Optional[int] = None, desc: str = ""):
    """A tqdm bar for demos and evaluation loops (``for x in progress(items, desc="eval")``)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc or None, dynamic_ncols=True, leave=True)
