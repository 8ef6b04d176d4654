"""Attribute-editing accuracy of the strips test.py / bin2img.py write (the card's att_classification).

For a strip of image idx: input | gap | reconstruction | flip of attribute 1 ... flip of attribute n.
The source labels come from the data set's attribute file (by file stem); the target of flip i is the
source with attribute i flipped and conflicts resolved. common_tools.metrics.attr_classifier scores it.
"""

from __future__ import annotations

import os

import numpy as np

from common_tools import celeba
from common_tools.errors import UserError

from . import data as data_lib
from .strips import read_strips, strip_size


def editing_accuracy_of_strips(img_dir: str, data_dir: str, atts, classifier) -> dict:
    from common_tools.metrics.attr_classifier import editing_accuracy

    atts = list(atts)
    size = strip_size(img_dir)
    stems, _, results = read_strips(img_dir, size, n_results=len(atts) + 1)
    table = celeba.read_attributes(os.path.join(data_dir, data_lib.ATTR_FILE))
    by_stem = {os.path.splitext(f)[0]: i for i, f in enumerate(table.files)}
    missing = [s for s in stems if s not in by_stem]
    if missing:
        raise UserError(f"strip(s) {', '.join(missing[:5])} of {img_dir} are not images of {data_dir}")
    a = table.labels(atts)[[by_stem[s] for s in stems]]
    targets = data_lib.single_edits(a, atts, 0.5, 1.0)[1:]  # n_att x [N, n_att], > 0 = has it
    edited = results[:, 1:].reshape(-1, size, size, 3).astype(np.float32) / 127.5 - 1.0  # [N*n_att]
    target = np.stack(targets, axis=1).reshape(-1, len(atts))
    source = np.repeat(a, len(atts), axis=0)
    index = np.tile(np.arange(len(atts)), len(stems))
    return editing_accuracy(classifier, edited, target, source, index, attrs=atts)
