"""Write an embedded data set in its real on-disk format.

Examples:
    python -m common_tools.synthetic faces --out runs/data/synthfaces --num 2000 --seed 0
    python -m common_tools.synthetic faces-grid --out docs/images/synthfaces_grid.png
"""

from __future__ import annotations

import argparse
import time
from typing import Optional, Sequence

from common_tools.errors import run_cli
from common_tools.synthetic import GENERATORS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m common_tools.synthetic", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="generator", metavar="GENERATOR", required=True,
                                help="one of: " + ", ".join(GENERATORS))
    for name, (function, add_arguments) in GENERATORS.items():
        summary = (function.__doc__ or "").strip().splitlines()[0].replace("``", "") if function.__doc__ else ""
        add_arguments(sub.add_parser(name, help=summary, description=summary,
                                     formatter_class=argparse.RawDescriptionHelpFormatter))
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    function, _ = GENERATORS[args.generator]
    options = {k: v for k, v in vars(args).items() if k != "generator"}
    start = time.perf_counter()
    result = function(**options)
    print(f"{args.generator}: wrote {result} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    run_cli(main)
