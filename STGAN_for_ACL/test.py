"""Edit test images with a trained STGAN: single (default), multi or slide mode.

Examples:
    python test.py --experiment_name demo                                   # 13 flips + reconstruction
    python test.py --experiment_name 128 --test_int 2 --data_dir /data/celeba  # the paper's accuracy setting
    python test.py --experiment_name demo --test_atts Bangs Male --test_ints 0.5 0.5
    python test.py --experiment_name demo --test_att Male --test_int_min -1 --test_int_max 1 --n_slide 10
The generator is rebuilt from output/<experiment_name>/config.json and its newest checkpoint
(or --ckpt_path). Strips go to output/<experiment_name>/sample_testing[_multi_A_B|_slide_A]/.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common_tools.errors import run_cli  # noqa: E402
from stgan.cli import add_atts_arg, add_location_args, words  # noqa: E402


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--experiment_name", required=True)
    add_location_args(p)
    p.add_argument("--ckpt_path", default=None, help="a checkpoint prefix (default: the newest)")
    p.add_argument("--n_images", type=int, default=0, help="first N test images (0 = all)")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--save_dir", default=None, help="default: output/<experiment_name>/sample_testing...")
    p.add_argument("--test_int", type=float, default=1.0, help="single mode: intensity of the flipped attribute")
    add_atts_arg(p, "--test_atts", help="multi mode: attributes to flip together")
    p.add_argument("--test_ints", nargs="+", type=float, default=None, help="multi mode: their intensities")
    p.add_argument("--test_att", default=None, help="slide mode: the attribute to sweep")
    p.add_argument("--test_int_min", type=float, default=-1.0)
    p.add_argument("--test_int_max", type=float, default=1.0)
    p.add_argument("--n_slide", type=int, default=10)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    test_atts = words(args.test_atts, "--test_atts")
    if test_atts:
        mode, mode_args = "multi", {"test_atts": test_atts, "test_ints": args.test_ints or [1.0]}
    elif args.test_att:
        mode, mode_args = "slide", {"test_att": args.test_att, "int_min": args.test_int_min,
                                    "int_max": args.test_int_max, "n_slide": args.n_slide}
    else:
        mode, mode_args = "single", {"test_int": args.test_int}
    from stgan import test as test_lib

    exp_dir = os.path.join(args.output_root, args.experiment_name)
    test_lib.run(args.ckpt_path or exp_dir, args.data_dir, mode, n_images=args.n_images, split=args.split,
                 save_dir=args.save_dir, **mode_args)
    return 0


if __name__ == "__main__":
    run_cli(main)
