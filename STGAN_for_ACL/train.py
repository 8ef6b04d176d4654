"""Train STGAN (resumes from the newest checkpoint of the experiment).

Examples:
    python train.py --preset demo --experiment_name demo          # SynthFaces, 64 px, minutes on a CPU
    python train.py --preset paper --experiment_name 128 --data_dir /data/celeba
    python train.py --preset tiny --experiment_name t --epochs 1 --max_train_images 24 --dry_run
Kill it at any time; the same command continues from output/<experiment_name>/checkpoints.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common_tools.errors import UserError, run_cli  # noqa: E402
from common_tools.runs import add_config_args, config_from_args, print_config  # noqa: E402
from stgan.cli import add_location_args  # noqa: E402
from stgan.config import PRESETS, STGANConfig, preset  # noqa: E402


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="paper", choices=sorted(PRESETS),
                        help="starting config; the --<field> options below override it")
    add_location_args(parser)
    parser.add_argument("--device", default="auto", choices=["auto", "npu", "gpu", "cpu"])
    parser.add_argument("--dry_run", action="store_true", help="print the config and exit")
    parser.add_argument("--log_every", type=int, default=10, help="progress line every N iterations (non-tty)")
    add_config_args(parser.add_argument_group("config fields"), STGANConfig)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    cfg = config_from_args(preset(args.preset), args)
    if args.dry_run:
        print_config(cfg)
        return 0
    from common_tools.device import select_device
    select_device(None if args.device == "auto" else args.device)
    from stgan.train import train
    summary = train(cfg, args.data_dir, args.output_root, log_every=args.log_every)
    print(f"{summary['status']}: {summary['iterations']}/{summary['total']} iterations, "
          f"checkpoint {summary['checkpoint']}")
    if summary["status"] == "nonfinite":
        raise UserError("training stopped on a non-finite loss (see train_log.jsonl); lower --lr or "
                        f"resume from {summary['checkpoint']}")
    return 0


if __name__ == "__main__":
    run_cli(main)
