"""Defaults shared by the entry scripts: where data and experiments live (relative to the repo)."""

from __future__ import annotations

import os

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # STGAN_for_ACL/
REPO = os.path.dirname(FOLDER)
DEFAULT_DATA_DIR = os.path.join(REPO, "runs", "data", "synthfaces")
DEFAULT_OUTPUT_ROOT = os.path.join(FOLDER, "output")


def add_location_args(parser, data: bool = True):
    if data:
        parser.add_argument("--data_dir", default=DEFAULT_DATA_DIR,
                            help="CelebA-layout folder (img_align_celeba/, list_attr_celeba.txt, "
                                 "optional list_eval_partition.txt); default: <repo>/runs/data/synthfaces")
    parser.add_argument("--output_root", default=DEFAULT_OUTPUT_ROOT,
                        help="experiments live in <output_root>/<experiment_name>; default: STGAN_for_ACL/output")
    return parser
