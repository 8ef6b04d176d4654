"""Turn test images into the three .bin input folders of the offline STGAN model (input1/2/3).

Examples:
    python3 img2bin.py --data_dir ../runs/data/synthfaces --save_dir output/demo/bin --n_images 20 --img_size 64
    python3 img2bin.py --data_dir /data/celeba/ --save_dir /data/celeba_bin/            # the card: 128 px
Per image (file stem idx) and edit i (0 = reconstruction, 1..13 = one flipped attribute, its scaled
target x --test_int, default 2 as the card) it writes sample stgan_{idx}_{i}: input1/ (image
[1,S,S,3]), input2/ (scaled target [1,13]), input3/ (scaled source [1,13]), and manifest.json
(what the model must write back; bin2img.py checks the outputs against it).
--experiment_name takes image size, attributes and thres_int from output/<name>/config.json.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common_tools.errors import check_output_dir, run_cli  # noqa: E402
from stgan.cli import DEFAULT_OUTPUT_ROOT, add_atts_arg, words  # noqa: E402
from stgan.config import PAPER_ATTS  # noqa: E402


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", required=True, help="CelebA-layout folder (img_align_celeba/, list_attr_celeba.txt)")
    p.add_argument("--save_dir", required=True, help="where input1/, input2/, input3/ and manifest.json are written")
    p.add_argument("--img_size", type=int, default=128)
    add_atts_arg(p, default=list(PAPER_ATTS), help="attributes (the model's input2/input3 columns)")
    p.add_argument("--thres_int", type=float, default=0.5)
    p.add_argument("--test_int", type=float, default=2.0, help="intensity of the flipped attribute (card: 2)")
    p.add_argument("--experiment_name", default=None, help="read img_size/atts/thres_int from its config.json")
    p.add_argument("--output_root", default=DEFAULT_OUTPUT_ROOT)
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--n_images", type=int, default=0, help="first N images of the split (0 = all)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    check_output_dir(args.save_dir, "--save_dir")
    from common_tools.runs import load_config
    from stgan.config import STGANConfig
    from stgan.data import load_split

    img_size, atts, thres_int = args.img_size, words(args.atts), args.thres_int
    if args.experiment_name:
        cfg = load_config(STGANConfig, os.path.join(args.output_root, args.experiment_name))
        img_size, atts, thres_int = cfg.img_size, cfg.atts, cfg.thres_int
    part = load_split(args.data_dir, atts, args.split, args.n_images).readable()
    from stgan.offline import img2bin

    n = img2bin(part.image_dir, part.files, part.labels, atts, args.save_dir, img_size, thres_int,
                args.test_int)
    print(f"img2bin: {len(part.files)} images x {len(atts) + 1} edits = {n} samples in "
          f"{os.path.join(args.save_dir, 'input1')},input2,input3 (+ manifest.json)")
    return 0


if __name__ == "__main__":
    run_cli(main)
