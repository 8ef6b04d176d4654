"""Turn test images into the three .bin input folders of the offline STGAN model (input1/2/3).

Examples:
    python3 img2bin.py --data_dir ../runs/data/synthfaces --save_dir output/demo/bin --n_images 20 --img_size 64
    python3 img2bin.py --data_dir /data/celeba/ --save_dir /data/celeba_bin/            # the card: 128 px
Per image (file stem idx) and edit i (0 = reconstruction, 1..13 = one flipped attribute, its scaled
target x --test_int, default 2 as the card) it writes input1/{idx}_{i}.bin (image [1,S,S,3]),
input2/{idx}_{i}.bin (scaled target [1,13]) and input3/{idx}_{i}.bin (scaled source [1,13]).
--experiment_name takes image size, attributes and thres_int from output/<name>/config.json.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common_tools.errors import run_cli  # noqa: E402
from stgan.cli import DEFAULT_OUTPUT_ROOT  # noqa: E402
from stgan.config import PAPER_ATTS  # noqa: E402


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", required=True, help="CelebA-layout folder (img_align_celeba/, list_attr_celeba.txt)")
    p.add_argument("--save_dir", required=True, help="where input1/, input2/, input3/ are written")
    p.add_argument("--img_size", type=int, default=128)
    p.add_argument("--atts", nargs="+", default=list(PAPER_ATTS))
    p.add_argument("--thres_int", type=float, default=0.5)
    p.add_argument("--test_int", type=float, default=2.0, help="intensity of the flipped attribute (card: 2)")
    p.add_argument("--experiment_name", default=None, help="read img_size/atts/thres_int from its config.json")
    p.add_argument("--output_root", default=DEFAULT_OUTPUT_ROOT)
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--n_images", type=int, default=0, help="first N images of the split (0 = all)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    from common_tools.runs import load_config
    from stgan.config import STGANConfig
    from stgan.offline import img2bin
    from stgan.train import load_split

    img_size, atts, thres_int = args.img_size, args.atts, args.thres_int
    if args.experiment_name:
        cfg = load_config(STGANConfig, os.path.join(args.output_root, args.experiment_name))
        img_size, atts, thres_int = cfg.img_size, list(cfg.atts), cfg.thres_int
    part = load_split(args.data_dir, atts, args.split, args.n_images)
    from common_tools.celeba import check_images
    keep, check = check_images(part.image_dir, part.files)
    if check.skipped:
        print(f"skipped {check.count} unreadable image(s): {', '.join(check.skipped[:10])}")
    files = [part.files[i] for i in keep]
    n = img2bin(part.image_dir, files, part.labels[keep], atts, args.save_dir, img_size, thres_int,
                args.test_int)
    print(f"img2bin: {len(files)} images x {len(atts) + 1} edits = {n} samples in "
          f"{os.path.join(args.save_dir, 'input1')},input2,input3")
    return 0


if __name__ == "__main__":
    run_cli(main)
