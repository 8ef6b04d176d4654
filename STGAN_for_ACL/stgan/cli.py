"""Defaults shared by the entry scripts: where data and experiments live, attribute lists.

No TensorFlow here: the scripts check their arguments and output paths before importing it.
"""

from __future__ import annotations

import os

from common_tools import runs

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


def add_atts_arg(parser, flag: str = "--atts", default=None, help: str = "attribute names"):
    """An attribute list flag that takes separate words, one quoted string or a comma list, as
    train.py's --atts does (``--atts Bangs Male`` = ``--atts "Bangs Male"`` = ``--atts Bangs,Male``)."""
    parser.add_argument(flag, nargs="+", default=default, metavar="ATT",
                        help=f"{help}: separate words, a quoted string or a comma list")
    return parser


def words(values, flag: str = "--atts"):
    """The names of an :func:`add_atts_arg` value as a tuple (None stays None)."""
    return None if values is None else runs.coerce(tuple[str, ...], values, name=flag)
