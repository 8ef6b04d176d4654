"""Attribute labels: scaling to the generator's input, conflict rules, and the edits of each test mode.

Labels a are 0/1 (CelebA's ±1 mapped to 1/0). The generator sees scaled labels (x·2 − 1)·thres_int
(±0.5 by default) and the difference diff = scaled b − scaled a.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from common_tools import celeba
from common_tools.errors import UserError

HAIR_COLOURS = celeba.HAIR_COLOURS
ATTR_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
IMAGE_DIR = "img_align_celeba"

# The reference's face crop of the 178x218 aligned photo per image size (other sizes use the 128-px
# one): 170x170 at (row 26, col 3) for 128 px, 148x148 at (40, 15) for 64 px.
CROPS = {128: celeba.Crop(top=26, left=3, size=170), 64: celeba.Crop(top=40, left=15, size=148)}


def preprocess(img_size: int) -> celeba.Preprocess:
    """The reference's image transform at ``img_size``: its crop, TF1-style bicubic resize (no
    half-pixel centres), clip to [0, 255], /127.5 - 1; no flip."""
    return celeba.Preprocess(crop=CROPS.get(int(img_size), CROPS[128]), resize="bicubic_tf1", flip=False)


@dataclass
class LabelledImages:
    """Image files of one split of a CelebA-layout folder and their 0/1 labels [N, n_att]."""
    image_dir: str
    files: list
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.files)

    def readable(self) -> "LabelledImages":
        """The files whose header looks whole (the others are skipped and said, by name)."""
        keep, check = celeba.check_images(self.image_dir, self.files)
        if check.skipped:
            print(f"skipped {check.count} unreadable image(s): "
                  + ", ".join(f"{n} ({check.reasons.get(n, 'unreadable')})" for n in check.skipped[:10])
                  + (" ..." if check.count > 10 else ""))
        return LabelledImages(self.image_dir, [self.files[i] for i in keep], self.labels[keep])


def check_data_dir(data_dir: str) -> str:
    """``data_dir`` when it has the CelebA layout; one line saying how to make one otherwise."""
    if not os.path.isfile(os.path.join(data_dir, ATTR_FILE)) or not os.path.isdir(os.path.join(data_dir, IMAGE_DIR)):
        raise UserError(f"{data_dir} is not a CelebA folder: expected {IMAGE_DIR}/ and {ATTR_FILE} "
                        f"(make one with: python -m common_tools.synthetic faces --out {data_dir} "
                        "--num 2000 --seed 0)")
    return data_dir


def load_split(data_dir: str, atts, split: str, max_images: int = 0) -> LabelledImages:
    """Files and 0/1 labels of one split ("train", "val", "test") of a CelebA-layout folder."""
    image_dir = os.path.join(check_data_dir(data_dir), IMAGE_DIR)
    attributes = celeba.read_attributes(os.path.join(data_dir, ATTR_FILE))
    labels = attributes.labels(list(atts))
    partition = os.path.join(data_dir, PARTITION_FILE)
    index = celeba.partition_split(attributes.files, partition if os.path.isfile(partition) else None)[split]
    if max_images:
        index = index[:max_images]
    return LabelledImages(image_dir, [attributes.files[i] for i in index], labels[index])


def scale(labels, thres_int: float = 0.5) -> np.ndarray:
    """0/1 labels -> (x·2 − 1)·thres_int."""
    return (np.asarray(labels, np.float32) * 2.0 - 1.0) * thres_int


def check_names(names, valid, where: str = "attribute") -> None:
    """UserError listing the valid names when any of ``names`` is unknown."""
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise UserError(f"unknown {where} name(s) {', '.join(unknown)}; valid: {', '.join(valid)}")


def resolve_conflicts(labels, att_name: str, atts) -> np.ndarray:
    """Clear attributes that contradict ``att_name`` in the rows where it is set to 1 (a copy).

    CelebA's rules (``common_tools.celeba.CONFLICTS``): Bald or Receding_Hairline -> Bangs 0;
    Bangs -> Bald 0 and Receding_Hairline 0; a hair colour -> the other hair colours 0;
    Straight_Hair <-> Wavy_Hair.
    """
    return celeba.resolve_conflicts(labels, att_name, atts)


def conflict_matrix(atts) -> np.ndarray:
    """C [n_att, n_att] float32: C[i, j] = 1 when attribute i at 1 rules out attribute j
    (``resolve_conflicts``'s rules as a matrix, for the training step's single-flip targets)."""
    atts = list(atts)
    c = np.zeros((len(atts), len(atts)), np.float32)
    for i, name in enumerate(atts):
        for other in celeba.CONFLICTS.get(name, ()):
            if other in atts:
                c[i, atts.index(other)] = 1.0
    return c


def single_edits(a, atts, thres_int: float = 0.5, test_int: float = 1.0):
    """Single mode: the reconstruction plus one flip per attribute, conflict-checked.

    a: [B, n_att] 0/1. Returns a list of n_att + 1 scaled targets [B, n_att]; in target i ≥ 1 the
    flipped attribute's scaled value is multiplied by ``test_int`` (the paper's accuracy used 2).
    """
    atts = list(atts)
    targets = [scale(a, thres_int)]
    for i, name in enumerate(atts):
        b = np.array(a, np.float32, copy=True)
        b[:, i] = 1 - b[:, i]
        b = scale(resolve_conflicts(b, name, atts), thres_int)
        b[:, i] *= test_int
        targets.append(b)
    return targets


def multi_edit(a, atts, test_atts, test_ints, thres_int: float = 0.5):
    """Multi mode: flip every attribute of ``test_atts`` (conflicts resolved in order), each scaled
    value multiplied by its own intensity. Returns one scaled target [B, n_att]."""
    atts = list(atts)
    check_names(test_atts, atts)
    if len(test_ints) == 1:
        test_ints = list(test_ints) * len(test_atts)
    if len(test_ints) != len(test_atts):
        raise UserError(f"--test_ints has {len(test_ints)} values for {len(test_atts)} --test_atts; "
                        "give one intensity per attribute (or a single one for all)")
    b = np.array(a, np.float32, copy=True)
    for name in test_atts:
        i = atts.index(name)
        b[:, i] = 1 - b[:, i]
        b = resolve_conflicts(b, name, atts)
    b = scale(b, thres_int)
    for name, t in zip(test_atts, test_ints):
        b[:, atts.index(name)] *= t
    return b


def slide_edits(a, atts, test_att, int_min=-1.0, int_max=1.0, n_slide=10, thres_int: float = 0.5):
    """Slide mode: ``test_att`` swept over ``n_slide`` intensities t from int_min to int_max.

    The attribute's scaled target is t·thres_int (t = ±1 are the trained values ±thres_int), the
    other attributes keep their source values, and conflicts are resolved for t > 0. The released
    code sets the label to t and then applies (x·2 − 1)·thres_int again — scaling twice, which maps
    [−1, 1] to [−1.5, 0.5]: an asymmetric sweep that never goes past the trained "on" value.
    """
    atts = list(atts)
    check_names([test_att], atts)
    if n_slide < 2:
        raise UserError(f"--n_slide must be at least 2, got {n_slide}")
    i = atts.index(test_att)
    targets = []
    for t in np.linspace(int_min, int_max, n_slide):
        b = np.array(a, np.float32, copy=True)
        if t > 0:
            b[:, i] = 1
            b = resolve_conflicts(b, test_att, atts)
        b = scale(b, thres_int)
        b[:, i] = t * thres_int
        targets.append(b)
    return targets
