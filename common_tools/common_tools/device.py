"""Device choice for TensorFlow 2 and MindSpore: Ascend NPU when it opens, else GPU, else CPU.

TensorFlow on Ascend goes through the ``npu_device`` plugin: its options (``precision_mode``) are
set on ``npu_device.global_options()`` BEFORE ``npu_device.open().as_default()``, and open() comes
before any model is built. The import can succeed while open() fails (no driver, device busy):
that is said in one line and the run goes on on GPU/CPU, unless the user asked for ``--device npu``.

    parser = argparse.ArgumentParser(); add_device_args(parser); args = parser.parse_args()
    device = select_device(args.device, precision_mode=args.precision_mode)   # "npu"|"gpu"|"cpu"
    policy = set_mixed_precision(args.mixed_precision, device)

Mixed precision: GPU -> Keras ``mixed_float16`` (wrap custom-loop optimizers in
``keras.optimizers.LossScaleOptimizer``); CPU -> ``mixed_bfloat16`` (bf16 keeps fp32's exponent
range, so no loss scaling; it is only faster on CPUs with AVX512-BF16/AMX, elsewhere it mainly
checks the mixed-precision code path); NPU -> the CANN ``precision_mode`` option
(``allow_mix_precision``), which must be given to :func:`select_device` since it is read at open().

TF1-style graphs (model cards run as tf.compat.v1 sessions) use :func:`npu_session_config`; MindSpore uses
:func:`setup_mindspore`. Frameworks are imported inside the functions.
"""

from __future__ import annotations

import argparse
import sys
from typing import IO, Optional

from .errors import UserError

DEVICES = ("auto", "npu", "gpu", "cpu")
PRECISION_MODES = ("allow_mix_precision", "allow_fp32_to_fp16", "force_fp16", "force_fp32",
                   "must_keep_origin_dtype", "cube_fp16in_fp32out")

# npu_device.open() must happen once per process; remember what was opened.
_npu = {"opened": False, "precision_mode": None, "handle": None}


def _say(stream: Optional[IO[str]], text: str) -> None:
    if stream is not None:
        print(text, file=stream, flush=True)


def _reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _try_npu(precision_mode: Optional[str], stream) -> tuple[bool, str]:
    """(opened, why-not). Sets options before open(); opens once per process."""
    if _npu["opened"]:
        return True, ""
    try:
        import npu_device
    except ImportError:
        return False, "no npu_device"
    try:
        if precision_mode:
            npu_device.global_options().precision_mode = precision_mode
        handle = npu_device.open()
        handle.as_default()
    except Exception as exc:  # driver missing, device busy, bad option ...
        return False, f"npu_device found but open() failed: {_reason(exc)}"
    _npu.update(opened=True, precision_mode=precision_mode, handle=handle)
    return True, ""


def _tf_gpus() -> list:
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def _tf_hide_gpus() -> None:
    import tensorflow as tf

    try:
        tf.config.set_visible_devices([], "GPU")
    except (RuntimeError, ValueError):  # runtime already initialised: nothing we can change now
        pass


def _ms_available(target: str) -> bool:
    try:
        import mindspore.hal as hal

        return bool(hal.is_available(target))
    except Exception:
        return False


def select_device(requested: Optional[str] = None, precision_mode: Optional[str] = None,
                  framework: str = "tensorflow", stream: Optional[IO[str]] = sys.stderr) -> str:
    """Pick "npu", "gpu" or "cpu" and print one ``device: ...`` line.

    ``requested``: None/"auto" (NPU, else GPU, else CPU) or a device the user insists on
    (UserError when it is not there). ``precision_mode`` is set on ``npu_device`` before open().
    ``framework="mindspore"`` asks MindSpore which backends exist instead (no TensorFlow import;
    then call :func:`setup_mindspore`).
    """
    want = (requested or "auto").lower()
    if want not in DEVICES:
        raise UserError(f"unknown device {requested!r}: expected one of {', '.join(DEVICES)}")
    if framework not in ("tensorflow", "mindspore"):
        raise ValueError(f"framework must be 'tensorflow' or 'mindspore', got {framework!r}")
    mindspore = framework == "mindspore"
    notes = []

    if want in ("auto", "npu"):
        if mindspore:
            ok, why = _ms_available("Ascend"), "MindSpore sees no Ascend device"
        else:
            ok, why = _try_npu(precision_mode, stream)
        if ok:
            mode = f", precision_mode={precision_mode}" if precision_mode else ""
            _say(stream, f"device: npu ({'mindspore Ascend' if mindspore else 'npu_device opened'}{mode})")
            return "npu"
        if want == "npu":
            raise UserError(f"--device npu requested but {why}: run on an Ascend host with CANN "
                            "and the TF plugin (npu_device), or use --device auto")
        if why.startswith("npu_device found"):
            _say(stream, f"{why}; using {'GPU' if (not mindspore and _tf_gpus()) else 'CPU'}")
        notes.append(why)

    if want in ("auto", "gpu"):
        gpus = ([] if not _ms_available("GPU") else ["GPU"]) if mindspore else _tf_gpus()
        if gpus:
            _say(stream, f"device: gpu ({len(gpus)} visible)")
            return "gpu"
        if want == "gpu":
            lib = "MindSpore" if mindspore else "TensorFlow"
            raise UserError(f"--device gpu requested but {lib} sees no GPU: check the CUDA install "
                            "or use --device cpu")
        notes.append("no GPU visible")

    if want == "cpu":
        notes.append("requested")
        if not mindspore:
            _tf_hide_gpus()
    _say(stream, f"device: cpu ({', '.join(notes)})")
    return "cpu"


def add_device_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--device``, ``--mixed_precision`` and ``--precision_mode`` to ``parser``."""
    group = parser.add_argument_group("device")
    group.add_argument("--device", choices=DEVICES, default="auto",
                       help="where to run: auto = NPU if npu_device opens, else GPU, else CPU")
    group.add_argument("--mixed_precision", action="store_true",
                       help="mixed precision: mixed_float16 on GPU, mixed_bfloat16 on CPU, "
                            "precision_mode on NPU")
    group.add_argument("--precision_mode", default=None, metavar="MODE",
                       help="Ascend precision mode, e.g. " + ", ".join(PRECISION_MODES[:3])
                            + " (default: allow_mix_precision with --mixed_precision on NPU)")
    return parser


def npu_precision_mode(mixed_precision: bool, precision_mode: Optional[str] = None) -> Optional[str]:
    """The precision_mode to pass to :func:`select_device` for these flags."""
    if precision_mode:
        return precision_mode
    return "allow_mix_precision" if mixed_precision else None


def set_mixed_precision(enabled: bool, device: str, precision_mode: Optional[str] = None) -> str:
    """Apply the mixed-precision choice for ``device``; returns the policy/mode in force.

    Returns "float32" when disabled (nothing is changed), the Keras policy name on GPU/CPU, or the
    NPU precision_mode.
    """
    if device not in ("npu", "gpu", "cpu"):
        raise UserError(f"unknown device {device!r}: expected npu, gpu or cpu")
    if device == "npu":
        mode = precision_mode or ("allow_mix_precision" if enabled else None)
        if _npu["opened"]:
            opened = _npu["precision_mode"]
            if opened is None and mode:
                print(f"note: the NPU was opened with its default precision_mode, so {mode} is not "
                      "applied; pass precision_mode=npu_precision_mode(...) to select_device",
                      file=sys.stderr, flush=True)
                return "npu default"
            if mode and mode != opened:
                raise UserError(f"precision_mode {mode} differs from {opened}, which the NPU was "
                                "opened with: it must be set before open (pass it to select_device)")
            return opened or "float32"
        if mode:  # TF before open(): set the option; MindSpore on Ascend maps it to its amp level
            try:
                import npu_device
            except ImportError:
                return mode
            npu_device.global_options().precision_mode = mode
        return mode or "float32"
    if not enabled:
        return "float32"
    import keras

    policy = "mixed_float16" if device == "gpu" else "mixed_bfloat16"
    keras.mixed_precision.set_global_policy(policy)
    return policy


def _set_param(custom_op, key: str, value) -> None:
    import tensorflow as tf

    entry = custom_op.parameter_map[key]
    if isinstance(value, bool):
        entry.b = value
    elif isinstance(value, int):
        entry.i = value
    elif isinstance(value, float):
        entry.f = value
    else:
        entry.s = tf.compat.as_bytes(str(value))


def npu_session_config(precision_mode: str = "allow_mix_precision", dynamic_input: bool = True,
                       dynamic_graph_execute_mode: str = "lazy_recompile", use_off_line: bool = True,
                       mix_compile_mode: bool = False, extra: Optional[dict] = None):
    """A ``tf.compat.v1.ConfigProto`` with the NpuOptimizer custom optimizer (TF1 session cards).

    Remapping and memory_optimization are switched OFF as the Ascend TF adapter requires.
    ``extra``: more parameter_map entries (bool -> .b, int -> .i, float -> .f, str -> .s).
    """
    import tensorflow as tf
    from tensorflow.core.protobuf.rewriter_config_pb2 import RewriterConfig

    config = tf.compat.v1.ConfigProto()
    rewrite = config.graph_options.rewrite_options
    custom_op = rewrite.custom_optimizers.add()
    custom_op.name = "NpuOptimizer"
    params = {"use_off_line": bool(use_off_line), "precision_mode": precision_mode,
              "dynamic_input": bool(dynamic_input),
              "dynamic_graph_execute_mode": dynamic_graph_execute_mode,
              "mix_compile_mode": bool(mix_compile_mode)}
    params.update(extra or {})
    for key, value in params.items():
        if value is not None:
            _set_param(custom_op, key, value)
    rewrite.remapping = RewriterConfig.OFF
    # The Ascend adapter's documented setting. memory_optimization is a MemOptType field, so the
    # Toggle value OFF (2) reads back as MANUAL; the adapter compares against that same number.
    rewrite.memory_optimization = RewriterConfig.OFF
    return config


_MS_TARGETS = {"npu": "Ascend", "ascend": "Ascend", "gpu": "GPU", "cpu": "CPU"}


def setup_mindspore(device: str, device_id: int = 0, mode: str = "graph") -> str:
    """Set MindSpore's execution mode and device; returns the MindSpore target name.

    ``mode``: "graph" (GRAPH_MODE) or "pynative". Uses ``mindspore.set_device`` where it exists
    (2.5+), else ``set_context(device_target=..., device_id=...)``.
    """
    import mindspore

    target = _MS_TARGETS.get(str(device).lower())
    if target is None:
        raise UserError(f"unknown device {device!r}: expected npu, gpu or cpu")
    modes = {"graph": mindspore.GRAPH_MODE, "pynative": mindspore.PYNATIVE_MODE}
    if mode not in modes:
        raise UserError(f"unknown MindSpore mode {mode!r}: expected graph or pynative")
    mindspore.set_context(mode=modes[mode])
    if hasattr(mindspore, "set_device"):
        if target == "CPU":
            mindspore.set_device(target)
        else:
            mindspore.set_device(target, int(device_id))
    else:
        kwargs = {"device_target": target}
        if target != "CPU":
            kwargs["device_id"] = int(device_id)
        mindspore.set_context(**kwargs)
    return target
