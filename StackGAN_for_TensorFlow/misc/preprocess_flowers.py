"""Make the image pickles StackGAN trains on from Oxford-102 (the reference's preprocess_flowers.py).

For every key of Data/flowers/{train,test}/filenames.pickle ("jpg/image_00001"): the image
Data/flowers/jpg/image_00001.jpg, resized whole to 304 px and 76 px, written as
Data/flowers/{train,test}/304images.pickle and 76images.pickle.

Example:
  python misc/preprocess_flowers.py
  python misc/preprocess_flowers.py --data_dir Data/flowers --image_dir /data/oxford102
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # no PYTHONPATH needed

from common_tools.errors import run_cli  # noqa: E402

from stackgan.data import preprocess_flowers  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", default="Data/flowers",
                   help="the folder with train/ and test/ (filenames.pickle in each)")
    p.add_argument("--image_dir", default=None,
                   help="the folder the keys are relative to (it holds jpg/); default <data_dir>")
    p.add_argument("--load_size", type=int, default=304,
                   help="side of the large images (the small ones are a quarter): 304 -> 304 and 76")
    args = p.parse_args(argv)
    preprocess_flowers(args.data_dir, args.image_dir, load_size=args.load_size)
    return 0


if __name__ == "__main__":
    run_cli(main)
