"""msame / open-runner outputs -> translation grids (each row: the input, then its translations).

Example:
  python bin2img.py --bin_dir ../runs/stargan/bin --output_root ../runs/stargan/infer_out \\
      --out ../runs/stargan/offline_results

Reads the newest subfolder of --output_root (the timestamped folder msame creates) unless
--output_folder names one; input images and names come from <bin_dir>/manifest.json (img2bin.py).
The outputs are checked against that manifest first: another model's (or another run's) outputs
are refused in one line.
"""

from __future__ import annotations

import argparse
import os

from common_tools.errors import check_output_dir, run_cli


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin_dir", required=True, help="the folder img2bin.py wrote")
    p.add_argument("--output_root", required=True, help="msame's --output folder")
    p.add_argument("--output_folder", default=None,
                   help="one output subfolder of --output_root, by name (e.g. 20240101_120000) or as "
                        "a path (default: the newest)")
    p.add_argument("--out", required=True, help="where to write grid_000.png ...")
    p.add_argument("--rows_per_grid", type=int, default=8)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    check_output_dir(args.out, "--out")
    from stargan import offline

    folder = args.output_root
    if args.output_folder:
        folder = os.path.join(args.output_root, args.output_folder)   # a name, or an absolute path
        if not os.path.isdir(folder) and os.path.isdir(args.output_folder):
            folder = args.output_folder                                # a path relative to here
    rows, folder = offline.read_rows(args.bin_dir, folder)
    paths = offline.save_grids(rows, args.out, args.rows_per_grid)
    print(f"read {rows.shape[0]} x {rows.shape[1] - 1} outputs from {folder}; wrote {len(paths)} grid(s) to {args.out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
