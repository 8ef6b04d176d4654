"""Train STGAN (resumes from the newest checkpoint of the experiment).

Examples:
    python train.py --preset demo --experiment_name demo          # SynthFaces, 64 px, minutes on a CPU
    python train.py --preset paper --experiment_name 128 --data_dir /data/celeba
    python train.py --preset tiny --experiment_name t --atts Bangs Male --dry_run
    python -m common_tools.launch --workers 127.0.0.1:12345,127.0.0.1:12346 -- \\
        python train.py --preset demo --experiment_name demo2 --strategy multi_worker   # 2 workers
Kill it (or Ctrl-C: it saves first) at any time; the same command continues from
output/<experiment_name>/checkpoints. Without --preset a rerun starts from the experiment's saved
config.json. On resume a changed network field (marked "fixed once trained") is refused; a changed
schedule field (lr, epochs, ...) is applied and said.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common_tools.distribute import add_strategy_args  # noqa: E402
from common_tools.errors import check_output_dir, run_cli  # noqa: E402
from common_tools.runs import add_config_args, config_for_run, print_config  # noqa: E402
from stgan.cli import add_location_args  # noqa: E402
from stgan.config import STGANConfig  # noqa: E402


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default=None, choices=STGANConfig.PRESETS,
                        help="starting config (default: the experiment's config.json, else paper); "
                             "the --<field> options below override it")
    parser.add_argument("--experiment_name", default="default", help="the run folder <output_root>/<name>")
    add_location_args(parser)
    parser.add_argument("--device", default="auto", choices=["auto", "npu", "gpu", "cpu"])
    add_strategy_args(parser)
    parser.add_argument("--dry_run", action="store_true", help="print the config and exit")
    parser.add_argument("--log_every", type=int, default=10, help="progress line every N iterations (non-tty)")
    add_config_args(parser.add_argument_group("config fields"), STGANConfig)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    run_dir = os.path.join(args.output_root, args.experiment_name)
    if not args.dry_run:
        check_output_dir(run_dir, "--output_root/--experiment_name")
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(STGANConfig)}
    cfg = config_for_run(STGANConfig, run_dir, args.preset, overrides)
    if args.dry_run:
        print_config(cfg)
        return 0
    from stgan.data import check_data_dir
    check_data_dir(args.data_dir)  # before TensorFlow starts
    from common_tools.device import select_device
    select_device(None if args.device == "auto" else args.device)
    from stgan.train import train
    summary = train(cfg, run_dir, args.data_dir, progress_every=args.log_every, strategy=args.strategy)
    print(f"{summary['status']}: {summary['end']}/{summary['total_steps']} iterations, "
          f"checkpoint {summary['checkpoint']}")
    return 0


if __name__ == "__main__":
    run_cli(main)
