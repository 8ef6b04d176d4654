"""Make the image pickles StackGAN trains on from CUB-200-2011 (the reference's preprocess_birds.py).

For every key of Data/birds/{train,test}/filenames.pickle: the square crop around its bounding box
(CUB_200_2011/bounding_boxes.txt), resized to 304 px and 76 px, written as
Data/birds/{train,test}/304images.pickle and 76images.pickle. Every listed image is read before
anything is written; a missing one is named in one error line.

Example:
  python misc/preprocess_birds.py                                   # Data/birds, Data/birds/CUB_200_2011
  python misc/preprocess_birds.py --data_dir Data/synth/birds --cub_dir Data/synth/CUB_200_2011
  python misc/preprocess_birds.py --load_size 76                     # 76 and 19 px (small test runs)
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # no PYTHONPATH needed

from common_tools.errors import run_cli  # noqa: E402

from stackgan.data import preprocess_birds  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", default="Data/birds",
                   help="the folder with train/ and test/ (filenames.pickle in each)")
    p.add_argument("--cub_dir", default=None,
                   help="the CUB_200_2011 folder (images.txt, bounding_boxes.txt, images/); "
                        "default <data_dir>/CUB_200_2011")
    p.add_argument("--load_size", type=int, default=304,
                   help="side of the large images (the small ones are a quarter): 304 -> 304 and 76")
    args = p.parse_args(argv)
    preprocess_birds(args.data_dir, args.cub_dir, load_size=args.load_size)
    return 0


if __name__ == "__main__":
    run_cli(main)
