"""The real msame binary (Ascend/tools): build its command, run it, read what it printed.

msame exits 0 after many errors, so success here means exit 0 AND no ``[ERROR]`` line. It writes its
outputs into a new timestamped subfolder of ``--output`` and prints that folder's path; the name
format changed between releases, so downstream steps take the newest subfolder
(:func:`latest_output_dir`) rather than rebuilding the name. On a machine without msame use the
drop-in runner (``msame-onnx``, :mod:`common_tools.runner`) with an .onnx or .pb model.

For shell launchers, ``python -m common_tools.msame`` takes msame's own flags, runs it and exits
non-zero with one ``error:`` line when msame printed ``[ERROR]`` or failed (msame itself exits 0
after many errors); without msame it says so and exits 2:

    python -m common_tools.msame --model om/model.om --input bin/input1,bin/input2,bin/input3 \
        --output out --outfmt BIN          # --msame PATH (or $MSAME) picks the binary
"""

from __future__ import annotations

import os
import argparse
import re
import shlex
import shutil
import subprocess
import sys
from typing import Mapping, Sequence

from .errors import UserError, check_output_dir, run_cli

_TIME = re.compile(r"^Inference time:\s*([0-9.eE+-]+)\s*ms")
_AVERAGE = re.compile(r"^Inference average time\s?:\s*([0-9.eE+-]+|nan|inf)\s*ms")
# older msame: 20211104_165416; newer: unpadded fields and microseconds, e.g. 2021114_9_5_3_123456
_STAMP = re.compile(r"^\d{6,8}_\d{1,6}(_\d+)*$")


def _join_inputs(inputs) -> str:
    if isinstance(inputs, (str, os.PathLike)):
        return os.fspath(inputs)
    return ",".join(os.fspath(p) for p in inputs)


def build_msame_command(msame, model, inputs, output, outfmt: str = "BIN", loop: int = 1,
                        device: int = 0, extra: Mapping[str, object] | Sequence[str] | None = None) -> list[str]:
    """The msame argument list. ``inputs`` is None (zeros), one path, or a list (comma-joined).

    ``extra`` adds flags: a mapping ``{"dymBatch": 4}`` -> ``--dymBatch 4``, or raw argument strings.
    """
    if ".om" not in os.path.basename(os.fspath(model)):
        raise UserError(f"{model}: msame runs .om models only; run an .onnx or .pb with msame-onnx "
                        f"(python -m common_tools.runner)")
    cmd = [os.fspath(msame), "--model", os.fspath(model)]
    if inputs:
        cmd += ["--input", _join_inputs(inputs)]
    cmd += ["--output", os.fspath(output), "--outfmt", outfmt, "--loop", str(int(loop)),
            "--device", str(int(device))]
    if extra:
        if isinstance(extra, Mapping):
            for key, value in extra.items():
                cmd += [f"--{key.lstrip('-')}", str(value)]
        else:
            cmd += [str(e) for e in extra]
    return cmd


def parse_msame_output(text: str) -> dict:
    """Read msame's printout: ``times_ms`` (each "Inference time"), ``average_ms`` (None when absent),
    ``output_dir`` (the timestamped folder it printed, None when absent), ``errors`` (``[ERROR]`` lines).
    """
    times, average, output_dir, errors = [], None, None, []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("[ERROR]"):
            errors.append(line)
        elif (m := _TIME.match(line)):
            times.append(float(m.group(1)))
        elif (m := _AVERAGE.match(line)):
            average = float(m.group(1))
        elif not line.startswith("[") and _STAMP.match(os.path.basename(line.rstrip("/"))):
            output_dir = line
    return {"times_ms": times, "average_ms": average, "output_dir": output_dir, "errors": errors}


def run_msame(model, output, inputs=None, outfmt: str = "BIN", loop: int = 1, device: int = 0,
              extra=None, msame: str = "msame") -> dict:
    """Run msame, echo its output, and return :func:`parse_msame_output`'s dict.

    Raises UserError when msame is not on PATH (after printing the command), when it exits non-zero,
    or when it printed an ``[ERROR]`` line (msame often exits 0 on errors).
    """
    cmd = build_msame_command(msame, model, inputs, output, outfmt=outfmt, loop=loop, device=device,
                              extra=extra)
    printable = shlex.join(cmd)
    if shutil.which(cmd[0]) is None:
        print(printable, flush=True)
        raise UserError(f"{cmd[0]} not found on PATH (build it from Ascend/tools msame on an Ascend host, "
                        f"or run the .onnx with msame-onnx); the command is printed above")
    check_output_dir(output, what="msame --output")
    print(printable, flush=True)
    lines: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace") as proc:
        assert proc.stdout is not None
        for line in proc.stdout:  # echo as it runs: --loop 100 on a big model takes a while
            sys.stdout.write(line)
            lines.append(line)
        rc = proc.wait()
    text = "".join(lines)
    parsed = parse_msame_output(text)
    if parsed["errors"]:
        raise UserError(f"msame reported an error (exit {rc}): {parsed['errors'][0]}")
    if rc != 0:
        last = text.strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"msame failed (exit {rc}): {last[0]}")
    if parsed["output_dir"] is None:
        parsed["output_dir"] = latest_output_dir(output)
    return parsed


def latest_output_dir(root) -> str:
    """The newest non-hidden subfolder of ``root`` (by mtime, then name): where msame wrote last."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise UserError(f"msame output folder not found: {root}")
    subdirs = [e for e in os.scandir(root) if e.is_dir() and not e.name.startswith(".")]
    if not subdirs:
        raise UserError(f"no output subfolder in {root}: expected the timestamped folder msame creates")
    newest = max(subdirs, key=lambda e: (e.stat().st_mtime, e.name))
    return newest.path


# ---- command line --------------------------------------------------------------------------------

PASS_THROUGH = ("debug", "profiler", "dump", "outputSize", "dymBatch", "dymHW", "dymDims", "dymShape")
NOT_INSTALLED = ("{msame} is not installed here (not found on PATH); `python -m common_tools.runner` "
                 "takes the same flags on the .onnx")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m common_tools.msame",
        description="Run the real msame with its own flags; exit non-zero when it printed [ERROR] or failed.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  python -m common_tools.msame --model om/model.om --input bin/input1,bin/input2,"
               "bin/input3 --output out --outfmt BIN\nWithout msame, python -m common_tools.runner takes "
               "the same flags on the .onnx (or frozen .pb).")
    p.add_argument("--model", required=True, help="the .om model")
    p.add_argument("--input", default=None, help="comma-separated .bin files or folders; none: zeros")
    p.add_argument("--output", required=True, help="folder that gets msame's timestamped subfolder")
    p.add_argument("--outfmt", default="BIN", help="BIN or TXT")
    p.add_argument("--loop", type=int, default=1, help="runs in file mode, 1..100")
    p.add_argument("--device", type=int, default=0, help="Ascend device id")
    for flag in PASS_THROUGH:
        p.add_argument(f"--{flag}", default=None, help="passed to msame as given")
    p.add_argument("--msame", default=os.environ.get("MSAME") or "msame",
                   help="the msame executable (default: $MSAME, else msame on PATH)")
    return p


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 1 <= args.loop <= 100:
        raise UserError(f"--loop {args.loop}: expected an integer from 1 to 100")
    extra = {flag: getattr(args, flag) for flag in PASS_THROUGH if getattr(args, flag) is not None}
    build_msame_command(args.msame, args.model, args.input, args.output)  # an .onnx is refused here
    if shutil.which(args.msame) is None:
        if os.sep in args.msame:
            raise UserError(f"--msame {args.msame} is not an executable file; without msame, "
                            f"`python -m common_tools.runner` takes the same flags on the .onnx")
        raise UserError(NOT_INSTALLED.format(msame=args.msame))
    result = run_msame(args.model, args.output, inputs=args.input, outfmt=args.outfmt, loop=args.loop,
                       device=args.device, extra=extra, msame=args.msame)
    print(f"msame: outputs in {result['output_dir']}", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m common_tools.msame``: one ``error:`` line and exit 2 on any msame error."""
    run_cli(_main, argv)


if __name__ == "__main__":
    main()
