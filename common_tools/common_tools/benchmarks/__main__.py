"""Run the common_tools benchmarks, each in its own process, and write common_tools.json and .md.

Example:
    python -m common_tools.benchmarks --out runs/bench
    python -m common_tools.benchmarks --out /tmp/bench --only synthetic

Each module of this package defines ``run() -> dict`` of measured figures; :mod:`common_tools.bench`
runs it in a child process (so each gets its own peak RSS) and writes the JSON and the Markdown table.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Optional, Sequence

from common_tools.bench import Config, entries, flatten_figures, markdown, markdown_table, run_bench
from common_tools.errors import run_cli

# Each module defines run() -> dict of figures (name -> number or string).
BENCHMARKS = ("synthetic", "fid")


def table(result: dict) -> str:
    """| benchmark | figure | value | over every figure of every benchmark that ran."""
    rows = [[e["name"], key, value] for e in entries(result, ok_only=True)
            for key, value in flatten_figures(e["result"])]
    return markdown_table(["benchmark", "figure", "value"], rows)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/bench", help="folder for common_tools.json/.md")
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, help="run only these")
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    configs = [Config(name, f"common_tools.benchmarks.{name}:run") for name in args.only or BENCHMARKS]
    result = run_bench("common_tools", "common_tools benchmarks", configs, args.out, table=table,
                       command=shlex.join(["python", "-m", "common_tools.benchmarks", *argv]))
    print(markdown(result, table))
    print(f"bench: wrote {' and '.join(result['files'])}")
    failed = [e["name"] for e in result["entries"] if e["status"] != "ok"]
    if failed:
        print(f"bench: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    run_cli(main)
