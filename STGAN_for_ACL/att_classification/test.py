"""Attribute-editing accuracy of STGAN strips (per attribute and mean), the card's att_classification test.

Examples:
    python test.py --img_dir ../output/demo/om_testing
    python test.py --img_dir ../output/128/sample_testing --data_dir /data/celeba --classifier_dir ./classifier_128
Each strip is input | gap | reconstruction | 13 flips; a flip counts as a success when the classifier
gives the flipped attribute its target value. The classifier's size follows the strips' height
(default common_tools.metrics.default_classifier_dir(size): <repo>/runs/demo/classifier_<size>, made by
att_classification/train.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common_tools.errors import check_output_file, run_cli  # noqa: E402
from stgan.cli import DEFAULT_DATA_DIR, add_atts_arg, words  # noqa: E402
from stgan.config import PAPER_ATTS  # noqa: E402


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--img_dir", required=True, help="folder of strips (om_testing or sample_testing)")
    p.add_argument("--data_dir", default=DEFAULT_DATA_DIR, help="the data set the strips came from")
    add_atts_arg(p, default=list(PAPER_ATTS), help="the attributes the strips flip, in order")
    p.add_argument("--classifier_dir", default=None)
    p.add_argument("--json", default=None, help="also write the result here")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.json:
        check_output_file(args.json, "--json")
    from common_tools.errors import UserError
    from common_tools.metrics.attr_classifier import META_FILE, AttributeClassifier, default_classifier_dir
    from stgan.evaluate import editing_accuracy_of_strips
    from stgan.strips import strip_size

    size = strip_size(args.img_dir)
    clf_dir = args.classifier_dir or default_classifier_dir(size)
    if not os.path.isfile(os.path.join(clf_dir, META_FILE)):
        raise UserError(f"no trained classifier in {clf_dir}: run att_classification/train.py "
                        f"--img_size {size} first (or pass --classifier_dir)")
    result = editing_accuracy_of_strips(args.img_dir, args.data_dir, words(args.atts),
                                        AttributeClassifier.load(clf_dir))
    for name, acc in result["per_attribute"].items():
        print(f"{name:<20} {100 * acc:6.2f} %")
    print(f"{'mean':<20} {100 * result['mean']:6.2f} %   (others changed {100 * result['others_changed']:.2f} %, "
          f"{result['n']} edits)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    run_cli(main)
