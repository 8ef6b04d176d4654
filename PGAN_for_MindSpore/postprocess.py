"""PGAN offline inference, step 3 (the card's postprocess in run_infer_310.sh): the outputs as PNGs.

Examples:
  python postprocess.py --bin_dir ./preprocess_Result --result_path ./result_bin
  python postprocess.py --bin_dir ./preprocess_Result --result_path ./result_bin \
      --output_dir ./result_Files --time_log ./time_Result/infer.log --time_dir ./time_Result

Reads the newest output folder under --result_path (msame's / the runner's <timestamp>/, checked
against the bins' manifest first), writes <output_dir>/generated_<N>.png (one R x R face per
image, N = 0 .. NIMAGES-1) and, from the inference log, <time_dir>/test_perform_static.txt.
"""

from __future__ import annotations

import argparse
import os

from common_tools.errors import run_cli


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin_dir", default="./preprocess_Result", help="the folder preprocess.py wrote")
    p.add_argument("--result_path", default="./result_bin",
                   help="the inference's --output folder (its newest subfolder is read) or that subfolder")
    p.add_argument("--output_dir", default="./result_Files", help="folder of generated_<N>.png")
    p.add_argument("--time_log", default=None, help="the inference's printed log (Inference time: lines)")
    p.add_argument("--time_dir", default="./time_Result", help="folder of test_perform_static.txt")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from pgan.offline import inference_times, write_images, write_times

    paths = write_images(args.bin_dir, args.result_path, args.output_dir)
    print(f"wrote {len(paths)} images to {args.output_dir} (generated_0.png .. generated_{len(paths) - 1}.png)")
    if args.time_log:
        print(f"wrote {write_times(args.time_dir, inference_times(args.time_log))}")
    return 0


if __name__ == "__main__":
    run_cli(main)
