"""SynthBirds: a bird data set with captions, in the CUB-200-2011 layout plus the text-to-image pickles.

``generate(out, num, seed)`` writes, as the real releases lay them out::

    <out>/CUB_200_2011/images/001.Crimson_Finch/Crimson_Finch_0001_1.jpg ...   RGB JPEG, ~280-400 x 220-320
    <out>/CUB_200_2011/images.txt            "1 001.Crimson_Finch/Crimson_Finch_0001_1.jpg", grouped by class
    <out>/CUB_200_2011/classes.txt           "1 001.Crimson_Finch" (all 20 classes)
    <out>/CUB_200_2011/image_class_labels.txt "1 1"
    <out>/CUB_200_2011/bounding_boxes.txt    "1 60.0 27.0 125.0 104.0": x y width height of the drawn bird
    <out>/CUB_200_2011/train_test_split.txt  "1 1": CUB's own per-image split (1 = train, every other
                                             image of each class), for classifiers over all classes
    <out>/text_c10/001.Crimson_Finch/Crimson_Finch_0001_1.txt   10 captions, one per line
    <out>/birds/{train,test}/char-CNN-RNN-embeddings.pickle     float32 ndarray [N, 10, 1024]
    <out>/birds/{train,test}/filenames.pickle  list of "001.Crimson_Finch/Crimson_Finch_0001_1"
    <out>/birds/{train,test}/class_info.pickle list of int class numbers (1 for 001.Crimson_Finch)

The pickles are written as Python 2 wrote the published ones (protocol 2, strings as Python 2 ``str``:
load them with ``encoding="latin1"``) and hold only lists, strings, ints and one ndarray, so
``common_tools.safe_pickle.load(path, encoding="latin1")`` loads them. The
``birds/`` split is by class, as the text-to-image split of CUB is: the 15 train classes and the 5 test
classes (numbers 4, 8, 12, 16, 20) are disjoint, and every part colour and length of a test class
also occurs in some train class, so the test classes are new combinations of seen attributes.

Embeddings: each caption through :func:`common_tools.text_encoder.encode` (hashed words and bigrams,
fixed random projection). The vectors are not those of the real char-CNN-RNN encoder: a model
trained on this data takes new sentences through the same encoder.

What is drawn (ground truth): each of the 20 :data:`CLASSES` is a fixed combination of crown (the
whole head), wing (and back), belly (breast and belly) and tail colours from :data:`PALETTE`, a beak
colour, and a short or long beak and tail. Every colour and length word in a caption is the drawn
value of the part it names ("a short orange beak", "its wings are blue"); captions name 2-4 parts
with varied wording, synonyms (head/crown, breast/chest/belly, bill/beak, gray/grey) and order.
:func:`bird` also returns the image position of a point inside each coloured part.

Nuisance variation, not labelled: facing left or right, size (bird box ~30-75 % of the image width),
position, tilt (+-12 degrees), part shading (+-6 %), background (sky, foliage, bark, water tones with
soft blotches), a perch branch, lighting direction and brightness, sensor noise, JPEG quality 75-95.

Bird ``i`` (0-based, of class ``i % 20``, the ``i // 20 + 1``-th of its class) is drawn from its own
random streams ``default_rng((seed, i, 0))`` (image) and ``(seed, i, 1)`` (captions), so it does not
depend on ``num`` and the same seed gives the same bytes.

Speed (one core of a shared 2-core machine): drawing and JPEG ~400 birds/s, captions encoded at
~19,000/s; ``--num 2000`` writes in 8-15 s (130-250 birds/s) depending on the other load.

Example::

    python -m common_tools.synthetic birds --out runs/data/synthbirds --num 2000 --seed 0
"""

from __future__ import annotations

import argparse
import functools
import io
import os
import pickle
import struct
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw

from common_tools.errors import UserError, check_output_dir

PALETTE: Dict[str, Tuple[int, int, int]] = {  # colour name -> drawn RGB (before shading and light)
    "red": (205, 35, 35),
    "orange": (238, 135, 25),
    "yellow": (236, 208, 42),
    "green": (50, 150, 60),
    "blue": (40, 90, 205),
    "brown": (120, 72, 36),
    "black": (28, 28, 28),
    "white": (242, 242, 242),
    "gray": (128, 128, 128),
}
LENGTHS = ("short", "long")
PARTS = ("crown", "wings", "belly", "beak", "tail")  # the parts captions describe
ATTRIBUTE_NAMES = ("crown", "wings", "belly", "beak", "beak_length", "tail", "tail_length")


class BirdClass(NamedTuple):
    name: str          # folder name without the number, e.g. "Crimson_Finch"
    crown: str         # colour of the head (crown)
    wings: str         # colour of the wings and back
    belly: str         # colour of breast and belly
    beak: str          # beak colour
    beak_length: str   # "short" or "long"
    tail: str          # tail colour
    tail_length: str   # "short" or "long"

    def attributes(self) -> Dict[str, str]:
        return {k: getattr(self, k) for k in ATTRIBUTE_NAMES}


#                name                    crown     wings     belly     beak      beak     tail      tail
CLASSES: Tuple[BirdClass, ...] = tuple(BirdClass(*row) for row in (
    ("Crimson_Finch",           "red",    "brown",  "red",    "gray",   "short", "brown",  "short"),
    ("Azure_Winged_Warbler",    "black",  "blue",   "yellow", "black",  "long",  "blue",   "long"),
    ("Golden_Bellied_Sparrow",  "brown",  "brown",  "yellow", "gray",   "short", "brown",  "short"),
    ("Snow_Breasted_Jay",       "blue",   "blue",   "white",  "black",  "long",  "blue",   "long"),
    ("Ember_Throated_Robin",    "gray",   "gray",   "orange", "yellow", "short", "gray",   "short"),
    ("Olive_Backed_Vireo",      "green",  "green",  "white",  "gray",   "short", "green",  "long"),
    ("Sooty_Grackle",           "black",  "black",  "black",  "black",  "long",  "black",  "long"),
    ("Amber_Crowned_Kinglet",   "orange", "green",  "yellow", "black",  "short", "green",  "short"),
    ("Ivory_Gull",              "white",  "gray",   "white",  "yellow", "long",  "white",  "short"),
    ("Rusty_Winged_Thrush",     "brown",  "orange", "white",  "yellow", "short", "brown",  "long"),
    ("Lemon_Headed_Tit",        "yellow", "gray",   "white",  "black",  "short", "black",  "long"),
    ("Slate_Bellied_Swallow",   "black",  "black",  "gray",   "black",  "short", "black",  "long"),
    ("Flame_Tailed_Flycatcher", "gray",   "gray",   "yellow", "black",  "long",  "red",    "long"),
    ("Jade_Crowned_Bunting",    "green",  "brown",  "yellow", "orange", "short", "brown",  "short"),
    ("Ash_Winged_Oriole",       "orange", "gray",   "orange", "gray",   "long",  "black",  "short"),
    ("Ruby_Bellied_Wren",       "brown",  "brown",  "red",    "gray",   "long",  "brown",  "short"),
    ("Midnight_Bluebird",       "blue",   "blue",   "orange", "black",  "short", "blue",   "short"),
    ("White_Crowned_Shrike",    "white",  "black",  "gray",   "black",  "long",  "black",  "long"),
    ("Saffron_Finch",           "yellow", "yellow", "yellow", "orange", "short", "yellow", "short"),
    ("Dusky_Redtail",           "black",  "gray",   "white",  "orange", "long",  "red",    "long"),
))
NUM_CLASSES = len(CLASSES)
TEST_CLASSES = tuple(c for c in range(NUM_CLASSES) if c % 4 == 3)  # 0-based: 3, 7, 11, 15, 19
MAX_PER_CLASS = 9999  # the 4-digit number in "Name_0001_1"


def class_folder(c: int) -> str:
    """``"001.Crimson_Finch"`` for class index ``c`` (0-based)."""
    return f"{c + 1:03d}.{CLASSES[c].name}"


def image_stem(i: int) -> str:
    """``"001.Crimson_Finch/Crimson_Finch_0001_1"`` for bird ``i`` (0-based), as in filenames.pickle."""
    c, k = i % NUM_CLASSES, i // NUM_CLASSES
    return f"{class_folder(c)}/{CLASSES[c].name}_{k + 1:04d}_{i + 1}"


# ---- captions ---------------------------------------------------------------------------------------

NOUNS = {"crown": ("crown", "head"), "wings": ("wings",), "belly": ("belly", "breast", "chest"),
         "beak": ("beak", "bill"), "tail": ("tail",)}
LENGTH_WORDS = {"short": ("short", "small", "stubby"), "long": ("long", "large")}
OPENERS = ("this bird has", "a bird with", "the bird has", "this is a bird with", "this particular bird has",
           "the bird features", "bird with")


def colour_word(colour: str, rng: np.random.Generator) -> str:
    return "grey" if colour == "gray" and rng.random() < 0.3 else colour


def _article(words: str) -> str:
    return ("an " if words[0] in "aeiou" else "a ") + words


def _part_words(part: str, attrs: Dict[str, str], rng: np.random.Generator):
    """(noun, colour word or None, length word or None) for one mention of ``part``."""
    noun = NOUNS[part][int(rng.integers(len(NOUNS[part])))]
    colour = colour_word(attrs[part], rng)
    length = None
    if part in ("beak", "tail"):
        words = LENGTH_WORDS[attrs[part + "_length"]]
        length = words[int(rng.integers(len(words)))]
        keep = int(rng.integers(3))  # 0: colour and length, 1: colour only, 2: length only
        colour, length = (colour if keep != 2 else None), (length if keep != 1 else None)
    return noun, colour, length


def _noun_phrase(noun: str, colour: Optional[str], length: Optional[str], rng: np.random.Generator) -> str:
    """ "a short orange beak", "blue wings", "a belly that is white" """
    plural = noun.endswith("s")
    if colour and length and rng.random() < 0.3:  # "a black beak that is short"
        core, tail = f"{colour} {noun}", f" that {'are' if plural else 'is'} {length}"
    elif colour and not length and rng.random() < 0.2:  # "a belly that is white"
        core, tail = noun, f" that {'are' if plural else 'is'} {colour}"
    else:
        core, tail = " ".join(w for w in (length, colour, noun) if w), ""
    return (core if plural else _article(core)) + tail


def _clause(noun: str, colour: Optional[str], length: Optional[str]) -> str:
    """ "wings are blue", "tail is long": one descriptor per clause (the colour when both were drawn)."""
    verb = "are" if noun.endswith("s") else "is"
    return f"{noun} {verb} {colour or length}" if not (colour and length) else f"{noun} {verb} {colour}"


def describe(attrs: Dict[str, str], rng: Optional[np.random.Generator] = None) -> str:
    """One caption naming 2-4 parts of a bird with attributes ``attrs`` (see :data:`ATTRIBUTE_NAMES`).

    Every colour and length word is the value of the part it stands next to: "COLOUR NOUN",
    "LENGTH COLOUR NOUN", "NOUN is/are WORD" or "NOUN that is/are WORD".

        describe(CLASSES[0].attributes(), np.random.default_rng(0))
        # e.g. 'this bird has a red crown, brown wings and a short gray beak.'
    """
    rng = rng if rng is not None else np.random.default_rng()
    k = (2, 2, 3, 3, 3, 4)[int(rng.integers(6))]  # parts named
    parts = [PARTS[j] for j in rng.permutation(len(PARTS))[:k]]
    mentions = [_part_words(p, attrs, rng) for p in parts]
    n_phrases = int(rng.integers(0, k + 1)) if rng.random() < 0.4 else k  # the rest become clauses
    phrases = [_noun_phrase(*m, rng) for m in mentions[:n_phrases]]
    clauses = [_clause(*m) for m in mentions[n_phrases:]]
    if phrases:
        listed = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
        text = OPENERS[int(rng.integers(len(OPENERS)))] + " " + listed
        for clause in clauses:
            text += (", and its ", " and its ", "; its ", ". its ", ", its ")[int(rng.integers(5))] + clause
    else:
        text = "the " + ", the ".join(clauses[:-1])
        text += (" and the ", ", and the ", " while the ")[int(rng.integers(3))] + clauses[-1]
    return text + ("." if rng.random() < 0.6 else "")


def captions(attrs: Dict[str, str], rng: np.random.Generator, n: int = 10) -> List[str]:
    """``n`` captions of one bird (the real data has 10 per image)."""
    return [describe(attrs, rng) for _ in range(n)]


# ---- drawing ----------------------------------------------------------------------------------------
# The bird is drawn in its own frame: facing +x, y down, body 0.8 long; a pose maps it to pixels.

def _ellipse(cx, cy, rx, ry, a0=0.0, a1=360.0, n=28) -> np.ndarray:
    t = np.radians(np.linspace(a0, a1, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


BODY = _ellipse(0.0, 0.0, 0.40, 0.23)
BELLY = _ellipse(0.0, 0.0, 0.40, 0.23, -15, 165, 22)      # the lower front of the body, closed by a chord
WING = _ellipse(-0.06, -0.04, 0.30, 0.13)
HEAD = _ellipse(0.36, -0.20, 0.15, 0.15, n=24)
EYE_RING = _ellipse(0.41, -0.23, 0.045, 0.045, n=12)
EYE = _ellipse(0.41, -0.23, 0.028, 0.028, n=10)
BEAK_LENGTH = {"short": 0.09, "long": 0.22}
TAIL_LENGTH = {"short": 0.28, "long": 0.55}
SAMPLE_POINTS = {"crown": (0.31, -0.28), "wings": (-0.05, -0.04), "belly": (0.10, 0.14)}  # + tail, below
SAMPLE_RADIUS = 0.03  # half size, in bird units, of a window inside the part around each point


def _tail(length: float) -> np.ndarray:
    return np.array([(-0.28, -0.08), (-0.28, 0.06), (-0.30 - length, 0.12 + 0.25 * length),
                     (-0.32 - length, 0.25 * length)])


def _tail_point(length: float) -> Tuple[float, float]:
    t = _tail(length)
    base, tip = (t[0] + t[1]) / 2, (t[2] + t[3]) / 2
    return tuple(base + 0.75 * (tip - base))


def _beak(length: float) -> np.ndarray:
    return np.array([(0.47, -0.24), (0.51 + length, -0.19), (0.47, -0.15)])


BACKGROUNDS = (  # (top colour, bottom colour) ranges of a soft vertical gradient
    ((150, 190, 225), (205, 225, 250)),   # sky
    ((60, 110, 50), (100, 160, 80)),      # foliage
    ((110, 95, 70), (165, 140, 105)),     # bark / earth
    ((100, 125, 140), (150, 170, 180)),   # water / mist
    ((185, 185, 170), (225, 220, 205)),   # pale overcast
)


NOISE_TILE_SIZE = (336, 416)  # (height, width): larger than any image


@functools.lru_cache(maxsize=1)
def _noise_tile() -> np.ndarray:
    """Unit Gaussian noise, the same in every run; each image adds a random window of it."""
    return np.random.default_rng(20111).standard_normal((*NOISE_TILE_SIZE, 3), dtype=np.float32)


def _shade(c, f: float) -> Tuple[int, int, int]:
    return tuple(int(max(0, min(255, round(x * f)))) for x in c)


def _background(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    top, bottom = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    jitter = rng.uniform(-20, 20, size=3)
    grad = np.linspace(0, 1, 4)[:, None, None]
    base = np.asarray(top, np.float32) * (1 - grad) + np.asarray(bottom, np.float32) * grad + jitter
    blobs = base + rng.normal(0.0, rng.uniform(6, 28), size=(4, 5, 3))  # (4, 5, 3) coarse blotches
    small = Image.fromarray(np.clip(blobs, 0, 255).astype(np.uint8))
    return small.resize((w, h), Image.BILINEAR)


class Bird(NamedTuple):
    index: int                        # 0-based bird number
    class_index: int                  # 0-based class (CLASSES[class_index])
    attributes: Dict[str, str]        # the drawn part colours and lengths
    captions: List[str]               # 10 captions
    image: Image.Image                # the drawn RGB image (before JPEG)
    jpeg: bytes                       # what is written to disk
    mask: Image.Image                 # "L" image, 255 where the bird is drawn (legs included)
    bbox: Tuple[int, int, int, int]   # x, y, width, height of the mask's bounding box
    points: Dict[str, Tuple[float, float]]  # part -> (x, y) pixel inside that part
    radius: float                     # half size in pixels of a window around each point inside the part


def draw_bird(attrs: Dict[str, str], rng: np.random.Generator):
    """Draw one bird with ``attrs``; returns (image, mask, bbox, points, radius, JPEG quality).

    Every random draw happens before anything is drawn.
    """
    w, h = int(rng.integers(280, 401)), int(rng.integers(220, 321))
    facing = 1.0 if rng.random() < 0.5 else -1.0
    angle = np.radians(rng.uniform(-12, 12))
    unit = rng.uniform(0.28, 0.48) * w  # pixels per bird unit; the bird is ~1.3-1.7 units long
    u_pos = rng.uniform(0, 1, size=2)
    gains = {p: rng.uniform(0.94, 1.06) for p in ("crown", "wings", "belly", "beak", "tail")}
    branch_col = _shade((95, 70, 45) if rng.random() < 0.7 else (110, 110, 105), rng.uniform(0.8, 1.2))
    branch_slope = rng.uniform(-0.15, 0.15)
    leg_col = _shade((70, 55, 45), rng.uniform(0.8, 1.2))
    light = rng.uniform(0.92, 1.06)
    gx, gy = rng.uniform(-0.06, 0.06, size=2)
    noise_sigma = rng.uniform(1.0, 4.0)
    img = _background(rng, w, h)
    noise_at = rng.integers(0, NOISE_TILE_SIZE[0] - h + 1), rng.integers(0, NOISE_TILE_SIZE[1] - w + 1)
    quality = int(rng.integers(75, 96))

    cos, sin = np.cos(angle), np.sin(angle)
    rot = np.array([[cos, -sin], [sin, cos]]) * unit
    rot[:, 0] *= facing  # mirror the bird's x before rotating

    tail, beak = _tail(TAIL_LENGTH[attrs["tail_length"]]), _beak(BEAK_LENGTH[attrs["beak_length"]])
    legs = [np.array([(0.03, 0.15), (0.06, 0.40), (0.13, 0.41)]),     # hip, foot, toe
            np.array([(-0.08, 0.15), (-0.06, 0.40), (0.01, 0.41)])]
    extent = np.concatenate([BODY, HEAD, tail, beak] + legs) @ rot.T
    lo, hi = extent.min(0), extent.max(0)
    margin = 4
    span = np.array([w, h]) - (hi - lo) - 2 * margin
    offset = np.array([margin, margin]) - lo + np.maximum(span, 0) * u_pos  # keeps the bird inside

    def px(points) -> List[Tuple[float, float]]:
        return [tuple(p) for p in (np.asarray(points, np.float64) @ rot.T + offset)]

    col = {p: _shade(PALETTE[attrs[p]], gains[p]) for p in ("crown", "wings", "belly", "beak", "tail")}
    lw = max(2, int(round(0.025 * unit)))
    d = ImageDraw.Draw(img)
    mask = Image.new("L", (w, h), 0)
    m = ImageDraw.Draw(mask)

    # the perch: a branch under the feet, across the whole image
    foot = px([(0.03, 0.42)])[0]
    y0, y1 = foot[1] - branch_slope * foot[0], foot[1] + branch_slope * (w - foot[0])
    d.line([(0, y0 + lw), (w, y1 + lw)], fill=branch_col, width=max(3, int(0.06 * unit)))

    def poly(points, fill, outline=None):
        pts = px(points)
        d.polygon(pts, fill=fill, outline=outline)
        m.polygon(pts, fill=255)

    for leg in legs:
        pts = px(leg)
        d.line(pts, fill=leg_col, width=lw, joint="curve")
        m.line(pts, fill=255, width=lw, joint="curve")
    poly(tail, col["tail"], _shade(col["tail"], 0.7))
    poly(BODY, col["wings"])
    poly(BELLY, col["belly"])
    poly(WING, col["wings"], _shade(col["wings"], 0.6) if attrs["wings"] != "black" else (90, 90, 90))
    feather = _shade(col["wings"], 0.6) if attrs["wings"] != "black" else (90, 90, 90)
    for k in range(3):  # feather lines near the wing's rear
        y = -0.09 + 0.05 * k
        d.line(px([(-0.20, y), (-0.33, y + 0.02)]), fill=feather, width=max(1, lw // 2))
    poly(HEAD, col["crown"])
    poly(EYE_RING, (235, 235, 230))
    poly(EYE, (10, 10, 10))
    poly(beak, col["beak"], _shade(col["beak"], 0.6) if attrs["beak"] != "black" else None)

    # lighting (direction, brightness) and sensor noise (a window of a fixed noise texture)
    arr = np.asarray(img, np.float32)
    shade = (light + gx * np.linspace(-1, 1, w, dtype=np.float32)[None, :]
             + gy * np.linspace(-1, 1, h, dtype=np.float32)[:, None])
    arr *= shade[..., None]
    arr += noise_sigma * _noise_tile()[noise_at[0]:noise_at[0] + h, noise_at[1]:noise_at[1] + w]
    np.clip(arr, 0, 255, out=arr)
    img = Image.fromarray(arr.astype(np.uint8))

    x0, y0b, x1, y1b = mask.getbbox()
    bbox = (x0, y0b, x1 - x0, y1b - y0b)
    local = dict(SAMPLE_POINTS, tail=_tail_point(TAIL_LENGTH[attrs["tail_length"]]))
    points = {p: px([xy])[0] for p, xy in local.items()}
    return img, mask, bbox, points, SAMPLE_RADIUS * unit, quality


def bird(seed: int, index: int) -> Bird:
    """Bird ``index`` (0-based) of the data set made with ``seed``: class, captions, image, JPEG, box."""
    c = index % NUM_CLASSES
    attrs = CLASSES[c].attributes()
    img, mask, bbox, points, radius, quality = draw_bird(attrs, np.random.default_rng((seed, index, 0)))
    texts = captions(attrs, np.random.default_rng((seed, index, 1)))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return Bird(index, c, attrs, texts, img, buf.getvalue(), mask, bbox, points, radius)


# ---- writing the data set ---------------------------------------------------------------------------

def generate(out, num: int, seed: int = 0, progress: bool = False) -> str:
    """Write ``num`` birds in the CUB-200-2011 layout with captions and embedding pickles; returns ``out``.

    Bird ``i`` belongs to class ``i % 20``; ``num`` must be at least 4 so that a test class has images.
    """
    if num < 4:
        raise UserError(f"--num must be at least 4 (so that the test classes get images), got {num}")
    if num > MAX_PER_CLASS * NUM_CLASSES:
        raise UserError(f"--num must be at most {MAX_PER_CLASS * NUM_CLASSES} (4-digit numbers per class), got {num}")
    if seed < 0:
        raise UserError(f"--seed must be 0 or more, got {seed}")
    out = check_output_dir(out, what="--out")
    try:
        return _generate(out, num, seed, progress)
    except OSError as exc:
        raise UserError(f"cannot write under {out}: {exc.strerror or exc} ({exc.filename or out})") from None


def _generate(out: str, num: int, seed: int, progress: bool) -> str:
    from common_tools import text_encoder

    cub = os.path.join(out, "CUB_200_2011")
    order = sorted(range(num), key=lambda i: (i % NUM_CLASSES, i // NUM_CLASSES))  # grouped by class, as CUB
    for c in sorted({i % NUM_CLASSES for i in order}):
        os.makedirs(os.path.join(cub, "images", class_folder(c)), exist_ok=True)
        os.makedirs(os.path.join(out, "text_c10", class_folder(c)), exist_ok=True)
    it = order
    if progress:
        from tqdm import tqdm
        it = tqdm(order, desc="SynthBirds", unit="img")
    images, labels, boxes, split, texts = [], [], [], [], {}
    for image_id, i in enumerate(it, start=1):
        b = bird(seed, i)
        stem = image_stem(i)
        _write_atomic(os.path.join(cub, "images", stem + ".jpg"), b.jpeg)
        _write_atomic(os.path.join(out, "text_c10", stem + ".txt"), "".join(t + "\n" for t in b.captions).encode())
        images.append(f"{image_id} {stem}.jpg")
        labels.append(f"{image_id} {b.class_index + 1}")
        boxes.append(f"{image_id} " + " ".join(f"{float(v):.1f}" for v in b.bbox))
        split.append(f"{image_id} {1 if (i // NUM_CLASSES) % 2 == 0 else 0}")
        texts[i] = b.captions
    for name, lines in (("images.txt", images), ("image_class_labels.txt", labels),
                        ("bounding_boxes.txt", boxes), ("train_test_split.txt", split),
                        ("classes.txt", [f"{c + 1} {class_folder(c)}" for c in range(NUM_CLASSES)])):
        _write_atomic(os.path.join(cub, name), ("\n".join(lines) + "\n").encode())
    for subset in ("train", "test"):
        chosen = [i for i in order if ((i % NUM_CLASSES) in TEST_CLASSES) == (subset == "test")]
        sentences = [t for i in chosen for t in texts[i]]
        emb = text_encoder.encode(sentences).reshape(len(chosen), 10, text_encoder.DIM)
        folder = os.path.join(out, "birds", subset)
        os.makedirs(folder, exist_ok=True)
        for name, obj in (("char-CNN-RNN-embeddings.pickle", emb),
                          ("filenames.pickle", [image_stem(i) for i in chosen]),
                          ("class_info.pickle", [i % NUM_CLASSES + 1 for i in chosen])):
            _write_atomic(os.path.join(folder, name), python2_pickle(obj))
    return out


class _Python2Pickler(pickle._Pickler):
    """Protocol 2 with strings and bytes as Python 2 ``str`` (BINSTRING opcodes), as Python 2 wrote them."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_python2_str(self, obj) -> None:
        data = obj if isinstance(obj, bytes) else obj.encode("ascii")
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        elif len(data) < 2 ** 31:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        else:
            raise UserError(f"cannot write a pickle string of {len(data)} bytes (Python 2 limit 2 GiB): "
                            "use a smaller --num")
        self.memoize(obj)

    dispatch[bytes] = save_python2_str
    dispatch[str] = save_python2_str


def python2_pickle(obj) -> bytes:
    """Pickle ``obj`` as Python 2's ``pickle.dump(obj, f, 2)`` did: loads in Python 3 with ``encoding="latin1"``.

    Like the published files, the result does not load with Python 3's default ``encoding="ASCII"``
    when it holds a numpy array, so a loader that works on it works on them.
    """
    buf = io.BytesIO()
    _Python2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def _write_atomic(path: str, data: bytes) -> None:
    """Write via a temporary name and rename, so a reader never sees half a file."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# ---- registry hook ----------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "example: python -m common_tools.synthetic birds --out runs/data/synthbirds --num 2000 --seed 0"
    parser.add_argument("--out", required=True,
                        help="output folder (CUB_200_2011/, text_c10/ and birds/{train,test}/)")
    parser.add_argument("--num", type=int, default=2000, help="number of birds, at least 4 (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed -> same bytes")
    parser.add_argument("--progress", action="store_true", help="show a progress bar")
