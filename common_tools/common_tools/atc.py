"""ATC, the Ascend model converter: build its exact command line, run it when it is installed.

    python -m common_tools.atc --model runs/mygan/G.pb --output runs/mygan/om/G \\
        --soc_version Ascend310 --input_format NHWC --output_type FP32 --out_nodes G/Tanh:0 --dry_run

The command uses ATC's ``--k=v`` form. ``--framework`` is 3 for a frozen TensorFlow .pb and 5 for
.onnx. Without ``--input_shape`` the shapes are read from the model's inputs (the .pb's Placeholder
nodes), e.g. ``x_real:1,128,128,3;c_trg:1,5``. Without ``atc`` on PATH the command is printed and
the step fails with one line saying so; nothing is faked.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from typing import Mapping, Sequence

from .errors import UserError, require_file, run_cli

FRAMEWORKS = {".pb": 3, ".onnx": 5}
SUCCESS_TEXT = "ATC run success"
_ECODE = re.compile(r"\bE[0-9A-Z]\d{4}\b")  # E10001, EZ3002, ...


def read_pb_inputs(pb_path) -> list[tuple[str, tuple[int, ...], object]]:
    """The Placeholder nodes of a frozen .pb as (name, shape, dtype); unknown dims are -1."""
    from .export import load_graph_def, placeholders

    return placeholders(load_graph_def(pb_path))


def read_onnx_inputs(onnx_path) -> list[tuple[str, tuple[int, ...], object]]:
    """The graph inputs of an .onnx file (initializers excluded) as (name, shape, dtype)."""
    import onnx
    from onnx import helper

    require_file(onnx_path, "ONNX model")
    try:
        model = onnx.load(os.fspath(onnx_path), load_external_data=False)
    except Exception as exc:
        raise UserError(f"{onnx_path}: not a readable ONNX model ({type(exc).__name__})") from exc
    initializers = {init.name for init in model.graph.initializer}
    found = []
    for value in model.graph.input:
        if value.name in initializers:
            continue
        tensor = value.type.tensor_type
        shape = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim)
        found.append((value.name, shape, helper.tensor_dtype_to_np_dtype(tensor.elem_type)))
    return found


def format_input_shape(inputs) -> str:
    """``[("x_real", (1,128,128,3)), ("c_trg", (1,5))]`` or a dict -> ``"x_real:1,128,128,3;c_trg:1,5"``."""
    items = inputs.items() if isinstance(inputs, Mapping) else [(i[0], i[1]) for i in inputs]
    return ";".join(f"{name}:{','.join(str(int(d)) for d in shape)}" for name, shape in items)


def _framework_for(model: str) -> int:
    ext = os.path.splitext(model)[1].lower()
    if ext not in FRAMEWORKS:
        raise UserError(f"{model}: expected a frozen TensorFlow .pb (framework 3) or an .onnx "
                        f"(framework 5); a MindSpore MindIR is not an ATC input")
    return FRAMEWORKS[ext]


def _shapes_from_model(model: str, framework: int) -> str:
    inputs = read_pb_inputs(model) if framework == 3 else read_onnx_inputs(model)
    if not inputs:
        raise UserError(f"{model}: no graph inputs found; pass --input_shape explicitly")
    for name, shape, _ in inputs:
        if any(d < 0 for d in shape) or not shape:
            raise UserError(f"{model}: input {name!r} has shape {list(shape)} with unknown dimensions; "
                            f"pass --input_shape, e.g. \"{name}:1,...\"")
    return format_input_shape([(n, s) for n, s, _ in inputs])


def build_atc_command(model, output, soc_version: str, input_shape=None, framework: int | None = None,
                      input_format: str | None = None, out_nodes=None, output_type: str | None = None,
                      precision_mode: str | None = None, log: str | None = None,
                      extra: Mapping[str, object] | Sequence[str] | None = None,
                      atc: str = "atc") -> list[str]:
    """The atc argument list, every option in ``--k=v`` form.

    ``framework`` defaults from the extension (3 for .pb, 5 for .onnx). ``input_shape`` is a string
    (``"a:1,2;b:1,3"``), a mapping name -> shape, or ``None`` to read it from the model.
    ``out_nodes`` is a string or a list (joined with ``;``). ``extra`` adds ``--k=v`` options, given
    as a mapping or as ``"k=v"`` strings (e.g. ``op_select_implmode=high_precision``).
    """
    model = os.fspath(model)
    require_file(model, "model for ATC")
    if framework is None:
        framework = _framework_for(model)
    if input_shape is None:
        input_shape = _shapes_from_model(model, framework)
    elif not isinstance(input_shape, str):
        input_shape = format_input_shape(input_shape)
    cmd = [atc, f"--model={model}", f"--framework={framework}", f"--output={os.fspath(output)}",
           f"--soc_version={soc_version}", f"--input_shape={input_shape}"]
    if input_format:
        cmd.append(f"--input_format={input_format}")
    if out_nodes:
        nodes = out_nodes if isinstance(out_nodes, str) else ";".join(out_nodes)
        cmd.append(f"--out_nodes={nodes}")
    if output_type:
        cmd.append(f"--output_type={output_type}")
    if precision_mode:
        cmd.append(f"--precision_mode={precision_mode}")
    if log:
        cmd.append(f"--log={log}")
    if extra:
        pairs = extra.items() if isinstance(extra, Mapping) else [_split_kv(e) for e in extra]
        cmd.extend(f"--{k.lstrip('-')}={v}" for k, v in pairs)
    return cmd


def _split_kv(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UserError(f"extra ATC option {text!r}: expected key=value, e.g. op_select_implmode=high_precision")
    return key, value


def _option(cmd: Sequence[str], key: str) -> str | None:
    prefix = f"--{key}="
    for arg in cmd:
        if arg.startswith(prefix):
            return arg[len(prefix):]
    return None


def find_om(output, since: float | None = None) -> str:
    """The .om ATC wrote for ``--output=output``: ``output.om`` or, with newer CANN, ``output*.om``.

    With ``since`` (a time.time() value), files older than it are ignored. The newest one wins.
    """
    output = os.fspath(output)
    candidates = [p for p in glob.glob(glob.escape(output) + "*.om")
                  if since is None or os.path.getmtime(p) >= since - 1.0]
    if not candidates:
        raise UserError(f"ATC reported success but no new {output}*.om was written")
    return max(candidates, key=lambda p: (os.path.getmtime(p), p))


def run_atc(cmd: Sequence[str]) -> str:
    """Run an atc command line; returns the path of the .om it wrote.

    Success means "ATC run success" in its output AND exit status 0; anything else raises UserError
    with the E-code line ATC printed.
    """
    cmd = [os.fspath(c) for c in cmd]
    printable = shlex.join(cmd)
    if shutil.which(cmd[0]) is None:
        print(printable, flush=True)
        raise UserError(f"{cmd[0]} not found on PATH (ATC comes with the Ascend CANN toolkit; source its "
                        f"set_env.sh); the command is printed above")
    output = _option(cmd, "output")
    if output and os.path.dirname(output):
        os.makedirs(os.path.dirname(output), exist_ok=True)
    print(printable, flush=True)
    started = time.time()
    lines: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace") as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            lines.append(line.rstrip("\n"))
        rc = proc.wait()
    text = "\n".join(lines)
    if rc != 0 or SUCCESS_TEXT not in text:
        ecode = next((l.strip() for l in lines if _ECODE.search(l)), None)
        failed = next((l.strip() for l in lines if "ATC run failed" in l), None)
        last = next((l.strip() for l in reversed(lines) if l.strip()), "no output")
        detail = ecode or failed or last
        raise UserError(f"atc failed (exit {rc}): {detail}")
    if not output:
        raise UserError("atc command has no --output=...; cannot locate the .om")
    return find_om(output, since=started)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m common_tools.atc",
        description="Build (and, where atc is installed, run) the ATC command that turns a frozen .pb "
                    "or an .onnx into an Ascend .om.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  python -m common_tools.atc --model runs/mygan/G.pb "
               "--output runs/mygan/om/G --soc_version Ascend310 --input_format NHWC "
               "--output_type FP32 --out_nodes G/Tanh:0 --dry_run")
    p.add_argument("--model", required=True, help="frozen .pb (framework 3) or .onnx (framework 5)")
    p.add_argument("--output", required=True, help="output path without .om, e.g. DIR/name")
    p.add_argument("--soc_version", required=True, help="Ascend310, Ascend910, Ascend310P3, ...")
    p.add_argument("--framework", type=int, default=None, help="default: 3 for .pb, 5 for .onnx")
    p.add_argument("--input_shape", default=None,
                   help='"name1:1,128,128,3;name2:1,13" (default: read from the model)')
    p.add_argument("--input_format", default=None, help="e.g. NHWC for TensorFlow models")
    p.add_argument("--out_nodes", default=None, help='e.g. "G/Tanh:0"')
    p.add_argument("--output_type", default=None, help="e.g. FP32")
    p.add_argument("--precision_mode", default=None,
                   help="force_fp16 | allow_fp32_to_fp16 | must_keep_origin_dtype | allow_mix_precision")
    p.add_argument("--log", default=None, help="ATC log level, e.g. info")
    p.add_argument("--extra", action="append", default=[], metavar="KEY=VALUE",
                   help="more --KEY=VALUE options for atc (repeatable), e.g. op_select_implmode=high_precision")
    p.add_argument("--atc", default="atc", help="the atc executable (default: atc on PATH)")
    p.add_argument("--dry_run", action="store_true", help="print the command and exit")
    return p


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cmd = build_atc_command(args.model, args.output, args.soc_version, input_shape=args.input_shape,
                            framework=args.framework, input_format=args.input_format,
                            out_nodes=args.out_nodes, output_type=args.output_type,
                            precision_mode=args.precision_mode, log=args.log, extra=args.extra,
                            atc=args.atc)
    if args.dry_run:
        print(shlex.join(cmd))
        return 0
    om = run_atc(cmd)
    print(f"om: {om}")
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    run_cli(_main, argv)


if __name__ == "__main__":
    main()
