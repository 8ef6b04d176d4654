"""Train the attribute classifier of the editing-accuracy protocol (common_tools.metrics.attr_classifier).

Examples:
    python train.py --data_dir ../../runs/data/synthfaces --img_size 64            # -> <repo>/runs/demo/classifier_64
    python train.py --data_dir /data/celeba --img_size 128 --steps 20000 --out_dir ./classifier_128
Reuses a classifier already trained on the same attributes, size and data (the StarGAN demo shares it).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common_tools.errors import check_output_dir, run_cli  # noqa: E402
from stgan.cli import DEFAULT_DATA_DIR, add_atts_arg, words  # noqa: E402
from stgan.config import PAPER_ATTS  # noqa: E402


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", default=DEFAULT_DATA_DIR)
    p.add_argument("--img_size", type=int, default=64)
    add_atts_arg(p, default=list(PAPER_ATTS), help="attributes the classifier predicts")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--out_dir", default=None, help="default: <repo>/runs/demo/classifier_<img_size> "
                   "(common_tools.metrics.default_classifier_dir)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    from common_tools.metrics.attr_classifier import default_classifier_dir, ensure_classifier

    out = check_output_dir(args.out_dir or default_classifier_dir(args.img_size), "--out_dir")
    clf = ensure_classifier(args.data_dir, list(words(args.atts)), out, image_size=args.img_size,
                            steps=args.steps)
    acc = (clf.meta or {}).get("test_accuracy") if hasattr(clf, "meta") else None
    print(f"classifier: {out}" + (f" (test-split mean accuracy {acc['mean']:.4f})" if acc else ""))
    return 0


if __name__ == "__main__":
    run_cli(main)
