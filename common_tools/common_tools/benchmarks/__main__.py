"""Run the common_tools benchmarks and write their figures to a JSON file and a Markdown table.

Example:
    python -m common_tools.benchmarks --out runs/bench
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import time
from typing import Optional, Sequence

from common_tools.errors import run_cli

# Each module defines run() -> dict of figures (name -> number or string).
BENCHMARKS = ("synthetic", "fid")


def _machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}"


def _flatten(prefix: str, value, rows: list) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _flatten(f"{prefix}.{key}" if prefix else key, sub, rows)
    else:
        rows.append((prefix, value))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/bench", help="folder for common_tools.json/.md")
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, help="run only these")
    args = parser.parse_args(argv)

    results = {"machine": _machine(), "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    for name in args.only or BENCHMARKS:
        module = importlib.import_module(f"common_tools.benchmarks.{name}")
        print(f"bench: {name} ...", flush=True)
        results[name] = module.run()
        print(json.dumps(results[name], indent=1), flush=True)

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "common_tools.json"), "w") as f:
        json.dump(results, f, indent=2)
    rows: list = []
    for name in args.only or BENCHMARKS:
        _flatten(name, results[name], rows)
    with open(os.path.join(args.out, "common_tools.md"), "w") as f:
        f.write(f"common_tools benchmarks ({results['machine']}, {results['date']})\n\n")
        f.write("| figure | value |\n|---|---|\n")
        for key, value in rows:
            f.write(f"| {key} | {value} |\n")
    print(f"bench: wrote {args.out}/common_tools.json and .md")
    return 0


if __name__ == "__main__":
    run_cli(main)
