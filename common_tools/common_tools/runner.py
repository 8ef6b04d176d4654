"""msame-onnx: a drop-in for msame that runs an .onnx (ONNX Runtime) or a frozen .pb (TensorFlow).

    msame-onnx --model runs/mygan/G.onnx --input runs/mygan/bin/x_real,runs/mygan/bin/c_trg \\
        --output runs/mygan/onnx_out --outfmt BIN

Same flags, input reading, output folder and file names as msame (Ascend/tools):
- file mode (the first --input entry contains ".bin"): the model runs --loop times on those files
  and writes ``<model name>_output_<i>.bin`` once;
- folder mode (otherwise): the non-hidden files of the FIRST folder, sorted by name, each read under
  the same name from every folder, one inference per name (--loop ignored), outputs
  ``<file name without last extension>_output_<i>.bin``;
- no --input: one input of zeros per model input, run --loop times.
Outputs go to one new subfolder of --output named by --timestamp_format (msame's older
``%Y%m%d_%H%M%S``); its path is printed. Where msame would reuse a folder made in the same second,
this runner never overwrites: it appends ``_1``, ``_2``, ... to the new folder's name.
BIN holds the raw bytes in the model's output dtype; TXT (``_output_<i>.txt``, as msame names it)
holds each value followed by a space and a newline after every innermost-dimension row.

Unlike msame, every error exits non-zero; it also prints an ``[ERROR]`` line as msame does.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .binio import expected_nbytes, read_bin, write_bin
from .errors import UserError, run_cli

DEFAULT_TIMESTAMP = "%Y%m%d_%H%M%S"
IGNORED_FLAGS = ("outputSize", "dymBatch", "dymHW", "dymDims", "dymShape")


@dataclass
class RunResult:
    """What one runner call did: the folder it wrote, each inference time, and the files written."""

    output_dir: str
    times_ms: list[float] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    mode: str = "file"


class _PbModel:
    """A frozen .pb behind the same face as :class:`common_tools.export.OnnxModel`."""

    def __init__(self, path: str, outputs: Sequence[str] | None = None):
        from .export import FrozenGraph

        self.graph = FrozenGraph(path, outputs=outputs)
        self.path = path
        self.inputs = self.graph.inputs
        self.outputs = self.graph.outputs

    def run(self, feed):
        return self.graph.run(feed)


def load_model(path, provider: str = "cpu", device: int = 0, out_nodes: Sequence[str] | None = None):
    """Open an .onnx (ONNX Runtime) or a .pb (TensorFlow) model once, for every inference after."""
    from .export import OnnxModel

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f"model not found: {path}")
    base = os.path.basename(path).lower()
    if base.endswith(".om"):
        raise UserError(f"{path}: an .om runs only on an Ascend host with msame; give this runner the "
                        f".onnx or the frozen .pb")
    if ".onnx" in base:
        if out_nodes:
            raise UserError("--out_nodes applies to .pb models only; an .onnx runs all its outputs")
        return OnnxModel(path, provider=provider, device_id=device)
    if ".pb" in base:
        if provider != "cpu":
            print(f"[WARNING] --provider {provider} is for .onnx models; a .pb runs on TensorFlow's "
                  f"default device", flush=True)
        return _PbModel(path, outputs=out_nodes)
    raise UserError(f"{path}: expected an .onnx or a frozen .pb model")


def _model_name(path: str) -> str:
    """msame's model name: the basename up to its last dot."""
    base = os.path.basename(path)
    return base[: base.rfind(".")] if "." in base else base


def _file_stem(name: str) -> str:
    """msame's output prefix in folder mode: the file name up to its last dot."""
    return name[: name.rfind(".")] if "." in name else name


def _input_dims(path: str, name: str, shape: Sequence[int], dtype) -> list[int]:
    """The shape of ``path`` as input ``name``: checks the file's size; a dynamic first dimension
    takes the batch from the size."""
    if not os.path.isfile(path):
        raise UserError(f".bin file not found: {path}")
    dims = [int(d) for d in shape]
    if dims and dims[0] < 0 and all(d >= 0 for d in dims[1:]):
        per_item = expected_nbytes(dims[1:], dtype)
        size = os.path.getsize(path)
        if per_item == 0 or size == 0 or size % per_item:
            raise UserError(f"{path}: {size} bytes is not a whole number of {name} items of shape "
                            f"{dims[1:]} {np.dtype(dtype).name} ({per_item} bytes each)")
        dims[0] = size // per_item
    elif any(d < 0 for d in dims):
        raise UserError(f"input {name!r} has shape {dims}: only a dynamic first (batch) dimension is "
                        f"supported; export the model with a fixed shape")
    want, got = expected_nbytes(dims, dtype), os.path.getsize(path)
    if want != got:
        raise UserError(f"{path}: expected {want} bytes for input {name!r} of shape {dims} "
                        f"{np.dtype(dtype).name}, got {got} bytes")
    return dims


def _read_input(path: str, name: str, shape: Sequence[int], dtype) -> np.ndarray:
    return read_bin(path, _input_dims(path, name, shape, dtype), dtype)


def _zeros(name: str, shape: Sequence[int], dtype) -> np.ndarray:
    dims = [int(d) for d in shape]
    if dims and dims[0] < 0:
        dims[0] = 1
    if any(d < 0 for d in dims):
        raise UserError(f"input {name!r} has shape {dims}: cannot make zeros for dynamic dimensions; "
                        f"pass --input")
    return np.zeros(dims, dtype=dtype)


def make_output_dir(root: str, timestamp_format: str = DEFAULT_TIMESTAMP) -> str:
    """Create ``root/<timestamp>``; if that exists already, ``<timestamp>_1``, ``_2``, ..."""
    stamp = _dt.datetime.now().strftime(timestamp_format)
    if not stamp or os.sep in stamp or stamp in (".", ".."):
        raise UserError(f"--timestamp_format {timestamp_format!r} must give a plain folder name")
    try:
        os.makedirs(root, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create output folder {root}: {exc.strerror}") from exc
    for k in range(10000):
        path = os.path.join(root, stamp if k == 0 else f"{stamp}_{k}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise UserError(f"cannot create output folder {path}: {exc.strerror}") from exc
    raise UserError(f"{root}: too many output folders named {stamp}_*")


def format_txt(array: np.ndarray) -> str:
    """msame's TXT layout: each value then a space; a newline after each innermost-dimension row.

    Floats print like C++ ``ostream <<`` (6 significant digits, as ``%g``); fp16 prints as float.
    """
    arr = np.asarray(array)
    row = arr.shape[-1] if arr.ndim else 1
    flat = arr.reshape(-1)
    if np.issubdtype(flat.dtype, np.floating):
        cells = [format(v, "g") for v in flat.astype(np.float64).tolist()]
    else:
        cells = [str(int(v)) for v in flat.tolist()]
    if row == 0:
        return ""
    lines = (" ".join(cells[i:i + row]) + " \n" for i in range(0, len(cells), row))
    return "".join(lines)


def _write_outputs(outputs: Sequence[np.ndarray], out_dir: str, prefix: str, outfmt: str) -> list[str]:
    written = []
    for i, value in enumerate(outputs):
        if outfmt == "TXT":
            path = os.path.join(out_dir, f"{prefix}_output_{i}.txt")
            with open(path, "w") as f:
                f.write(format_txt(value))
        else:
            path = os.path.join(out_dir, f"{prefix}_output_{i}.bin")
            write_bin(path, value)
        written.append(path)
    return written


def _split_inputs(inputs) -> list[str]:
    if inputs is None:
        return []
    if isinstance(inputs, (str, os.PathLike)):
        return [p for p in os.fspath(inputs).split(",") if p]
    return [os.fspath(p) for p in inputs]


def _fmt_ms(ms: float) -> str:
    """C++ ``cout << double``: six significant digits."""
    return format(ms, "g")


def _timed(model, feed) -> tuple[list[np.ndarray], float]:
    start = time.perf_counter()
    outputs = model.run(feed)
    return outputs, (time.perf_counter() - start) * 1000.0


def _folder_names(entries: Sequence[str], signatures) -> list[str]:
    """Folder mode: the sorted non-hidden file names of the first folder, each checked in every folder."""
    for entry in entries:
        if not os.path.isdir(entry):
            what = "is a file" if os.path.isfile(entry) else "does not exist"
            raise UserError(f"--input {entry} {what}: folder mode expects folders (or give files "
                            f"ending in .bin)")
    names = sorted(e.name for e in os.scandir(entries[0]) if e.is_file() and not e.name.startswith("."))
    if not names:
        raise UserError(f"no input files in {entries[0]}")
    for entry in entries[1:]:
        missing = [n for n in names if not os.path.isfile(os.path.join(entry, n))]
        if missing:
            raise UserError(f"{os.path.join(entry, missing[0])} not found: every folder must hold "
                            f"the files of {entries[0]} ({len(missing)} missing)")
    for name in names:  # every size checked before the first inference
        for entry, (in_name, shape, dtype) in zip(entries, signatures):
            _input_dims(os.path.join(entry, name), in_name, shape, dtype)
    return names


def _run_folders(model, entries, names, out_dir, outfmt, say, result: RunResult) -> None:
    """One inference per file name; outputs named after the file."""
    for name in names:
        feed = {}
        for entry, (in_name, shape, dtype) in zip(entries, model.inputs):
            say(f"[INFO] start to process file:{entry}/{name}")
            feed[in_name] = _read_input(os.path.join(entry, name), in_name, shape, dtype)
        outputs, ms = _timed(model, feed)
        say(f"Inference time: {_fmt_ms(ms)}ms")
        result.times_ms.append(ms)
        result.files += _write_outputs(outputs, out_dir, _file_stem(name), outfmt)
        say("[INFO] output data success")
    times = result.times_ms
    say(f"Inference average time : {sum(times) / len(times):.2f} ms")
    if len(times) > 1:
        say(f"Inference average time without first time: {sum(times[1:]) / (len(times) - 1):.2f} ms")


def _run_files(model, entries, loop, out_dir, outfmt, say, result: RunResult) -> None:
    """The same inputs (files, or zeros) ``loop`` times; outputs named after the model, written once."""
    if entries:
        feed = {}
        for entry, (in_name, shape, dtype) in zip(entries, model.inputs):
            say(f"[INFO] start to process file:{entry}")
            feed[in_name] = _read_input(entry, in_name, shape, dtype)
    else:
        feed = {n: _zeros(n, s, d) for n, s, d in model.inputs}
    outputs: list[np.ndarray] = []
    for _ in range(loop):
        outputs, ms = _timed(model, feed)
        say(f"Inference time: {_fmt_ms(ms)}ms")
        result.times_ms.append(ms)
    result.files = _write_outputs(outputs, out_dir, _model_name(model.path), outfmt)
    say("[INFO] output data success")
    times = result.times_ms
    say(f"Inference average time: {sum(times) / len(times):f} ms")
    if len(times) > 1:
        say(f"Inference average time without first time: {sum(times[1:]) / (len(times) - 1):f} ms")


def run(model, inputs=None, output: str = ".", outfmt: str = "BIN", loop: int = 1,
        timestamp_format: str = DEFAULT_TIMESTAMP, provider: str = "cpu", device: int = 0,
        out_nodes: Sequence[str] | None = None, log: Callable[[str], None] | None = None) -> RunResult:
    """Run ``model`` (a path, or a model from :func:`load_model`) the way msame does; see the module doc.

    ``inputs``: None (zeros), a comma-separated string, or a list of .bin files or folders. All input
    files are checked (presence, size) before the output folder is made. ``log`` gets each printed
    line (default: print).
    """
    say = log or (lambda line: print(line, flush=True))
    if outfmt not in ("BIN", "TXT"):
        say(f"[WARNING] --outfmt {outfmt} is not TXT: writing BIN, as msame does")
    outfmt = "TXT" if outfmt == "TXT" else "BIN"
    loop = int(loop)
    if not 1 <= loop <= 100:
        raise UserError(f"--loop {loop}: expected an integer from 1 to 100")
    entries = _split_inputs(inputs)
    if isinstance(model, (str, os.PathLike)):
        model = load_model(os.fspath(model), provider=provider, device=device, out_nodes=out_nodes)
        say(f"[INFO] load model {model.path} success")
    names = [n for n, _, _ in model.inputs]
    if entries and len(entries) != len(names):
        raise UserError(f"{model.path} has {len(names)} input(s) {names}, but --input gives "
                        f"{len(entries)}: {','.join(entries)}")
    folder_mode = bool(entries) and ".bin" not in entries[0]
    if folder_mode:
        files = _folder_names(entries, model.inputs)
    else:
        for entry, (in_name, shape, dtype) in zip(entries, model.inputs):
            _input_dims(entry, in_name, shape, dtype)
    say("[INFO] create model description success")
    out_dir = make_output_dir(os.fspath(output), timestamp_format)
    say(out_dir)
    result = RunResult(output_dir=out_dir, mode="folder" if folder_mode else "file")
    if folder_mode:
        _run_folders(model, entries, files, out_dir, outfmt, say, result)
    else:
        _run_files(model, entries, loop, out_dir, outfmt, say, result)
    say("[INFO] unload model success")
    say("[INFO] Execute sample success")
    return result


def run_folder(model, inputs=None, output: str = ".", outfmt: str = "BIN", loop: int = 1,
               timestamp_format: str = DEFAULT_TIMESTAMP, provider: str = "cpu", device: int = 0,
               out_nodes: Sequence[str] | None = None, log: Callable[[str], None] | None = None) -> str:
    """In-process msame-onnx: run ``model`` on ``inputs`` (folders, .bin files, or None) -> output folder."""
    return run(model, inputs, output, outfmt=outfmt, loop=loop, timestamp_format=timestamp_format,
               provider=provider, device=device, out_nodes=out_nodes, log=log).output_dir


def _bool_flag(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return text.lower() == "true"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="msame-onnx",
        description="msame-compatible offline inference for .onnx (ONNX Runtime) and frozen .pb models.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  msame-onnx --model runs/mygan/G.onnx --input runs/mygan/bin/x_real,"
               "runs/mygan/bin/c_trg --output runs/mygan/onnx_out --outfmt BIN\n"
               "  python -m common_tools.runner --model model.onnx --output out --loop 10   # zeros input\n"
               "Folder mode writes <file name>_output_<i>.bin; file mode <model name>_output_<i>.bin.\n"
               "A second run in the same second gets <timestamp>_1 (msame would reuse the folder).")
    p.add_argument("--model", required=True, help="an .onnx or a frozen .pb model")
    p.add_argument("--input", default=None,
                   help="comma-separated .bin files (file mode) or folders (folder mode); none: zeros")
    p.add_argument("--output", required=True, help="folder that gets a new timestamped subfolder")
    p.add_argument("--outfmt", default="BIN", help="BIN or TXT (anything but TXT means BIN)")
    p.add_argument("--loop", type=int, default=1, help="runs in file mode, 1..100 (ignored in folder mode)")
    p.add_argument("--device", type=int, default=0, help="device id (CUDA provider)")
    p.add_argument("--provider", choices=("cpu", "cuda"), default="cpu", help="ONNX Runtime provider")
    p.add_argument("--timestamp_format", default=DEFAULT_TIMESTAMP,
                   help="strftime format of the output subfolder (default %%Y%%m%%d_%%H%%M%%S)")
    p.add_argument("--out_nodes", default=None,
                   help="for a .pb: comma-separated output tensors, e.g. G/Tanh:0 (default: the "
                        "tensors nothing else consumes)")
    for flag in ("debug", "profiler", "dump"):
        p.add_argument(f"--{flag}", type=_bool_flag, default=False, help="accepted and ignored")
    for flag in IGNORED_FLAGS:
        p.add_argument(f"--{flag}", default=None, help="accepted and ignored")
    return p


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for flag in ("debug", "profiler", "dump") + IGNORED_FLAGS:
        if getattr(args, flag):
            print(f"[WARNING] --{flag} is accepted for msame compatibility and ignored", flush=True)
    out_nodes = [n for n in args.out_nodes.split(",") if n] if args.out_nodes else None
    try:
        run(args.model, args.input, args.output, outfmt=args.outfmt, loop=args.loop,
            timestamp_format=args.timestamp_format, provider=args.provider, device=args.device,
            out_nodes=out_nodes)
    except UserError as exc:
        print(f"[ERROR] {exc}", flush=True)
        raise
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry ``msame-onnx``: one ``error:`` line and exit 2 on bad input."""
    run_cli(_main, argv)


if __name__ == "__main__":
    main()
