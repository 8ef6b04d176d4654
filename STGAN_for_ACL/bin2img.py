"""Turn the offline model's .bin outputs back into the card's side-by-side PNG strips.

Examples:
    python3 bin2img.py --data_dir ../runs/data/synthfaces --bin_dir output/demo/msame_out --save_dir output/demo/om_testing --img_size 64
    python3 bin2img.py --data_dir /data/celeba/ --bin_dir ./output/1024/msame_out/20211104_165416 --save_dir ./output/1024/om_testing
--bin_dir may be msame's --output folder (the newest timestamped subfolder is used) or the subfolder
itself. Each strip: the input crop, a 12-px gap, then outputs {idx}_0 (reconstruction) ... {idx}_13.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common_tools.errors import run_cli  # noqa: E402
from stgan.cli import DEFAULT_OUTPUT_ROOT  # noqa: E402


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", required=True, help="the CelebA-layout folder img2bin read")
    p.add_argument("--bin_dir", required=True, help="msame --output folder or its timestamped subfolder")
    p.add_argument("--save_dir", required=True)
    p.add_argument("--img_size", type=int, default=128)
    p.add_argument("--experiment_name", default=None, help="read img_size from its config.json")
    p.add_argument("--output_root", default=DEFAULT_OUTPUT_ROOT)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    from common_tools import celeba
    from common_tools.errors import UserError
    from stgan.offline import bin2img
    from stgan.train import ATTR_FILE, IMAGE_DIR

    img_size = args.img_size
    if args.experiment_name:
        from common_tools.runs import load_config
        from stgan.config import STGANConfig
        img_size = load_config(STGANConfig, os.path.join(args.output_root, args.experiment_name)).img_size
    attr_path = os.path.join(args.data_dir, ATTR_FILE)
    if not os.path.isfile(attr_path):
        raise UserError(f"{args.data_dir} is not a CelebA folder: expected {IMAGE_DIR}/ and {ATTR_FILE}")
    files = celeba.read_attributes(attr_path).files
    written = bin2img(os.path.join(args.data_dir, IMAGE_DIR), files, args.bin_dir, args.save_dir, img_size)
    print(f"bin2img: wrote {len(written)} strip(s) to {args.save_dir}")
    return 0


if __name__ == "__main__":
    run_cli(main)
