"""SynthFaces: a CelebA-format face data set drawn from known attributes.

``generate(out, num, seed)`` writes, exactly as the aligned CelebA release lays them out::

    <out>/img_align_celeba/000001.jpg ...   178 wide x 218 high RGB JPEG, face centred
    <out>/list_attr_celeba.txt              count line, the 40 names, rows "000001.jpg -1  1 ..."
    <out>/list_eval_partition.txt           "000001.jpg 0|1|2": first 80 % train, next 10 % val, rest test

Each image is drawn with PIL from its own random stream ``default_rng((seed, index))``, so the same
seed gives identical bytes and any single face can be redrawn alone. :func:`draw_face` takes every
random draw before it draws anything, so ``face(seed, index, overrides={"Eyeglasses": 1})`` is the
same face, same pose, light and noise, with only that attribute changed: the exact ground truth of
an edit.

Drawn attributes (the label says exactly what is drawn; rates are for 2,000 faces, seed 0):

- Male (46 %): square, wider jaw and short hair; women have narrower oval faces and long hair to
  the shoulders. Facial hair, Bald and Receding_Hairline only on men; lipstick/make-up only on women.
- Hair colour: at most one of Black_Hair, Blond_Hair, Brown_Hair, Gray_Hair is 1 (each 14-24 %);
  the rest have auburn hair with none of the four. Gray hair is likelier on old faces.
- Bald (17 %): no hair at all, a bare skin dome with a highlight. Bald sets every hair colour,
  Bangs, Receding_Hairline and Wearing_Hat to -1; a bald man's brows and facial hair are dark brown.
- Bangs (30 %): a jagged fringe with strands down to the brows. Receding_Hairline (~7 %): hair only
  on the crown behind an M-shaped line, bare temples; it excludes Bangs. Wearing_Hat (~6 %): a hat
  over the hair line; it excludes Bald, Bangs and Receding_Hairline (they would be hidden).
- Bushy_Eyebrows (23 %): thick, long brows (thin lines otherwise); Arched_Eyebrows: arched thin
  brows. Brows are always darker than the skin.
- Eyeglasses (25 %): thick frames round both eyes with bridge, temples and a glare; dark frames on
  light skin, light frames on dark skin.
- Mouth_Slightly_Open (46 %): a dark open "O" with teeth; Smiling (45 %): a wide upturned mouth,
  creases at its corners and crescent "smiling eyes" (open and smiling: a wide "D" with teeth).
- Mustache (20 %): a thick chevron over the upper lip. No_Beard = -1 (21 %): a beard over jaw and
  chin below the lower lip. Facial hair takes the hair colour, lightened or darkened when it would
  be too close to the skin.
- Pale_Skin (22 %): a very light skin tone, far from the five other tones drawn.
- Young (50 %); old faces get forehead lines, nasolabial and marionette folds, crow's feet and
  under-eye lines (dark on light skin, light on dark skin); Bags_Under_Eyes only on old faces.
- Also drawn: Big_Nose, Narrow_Eyes, Rosy_Cheeks, Wearing_Lipstick (red lips), Heavy_Makeup
  (lipstick plus eye shadow), Wearing_Earrings, Wearing_Necklace, Wearing_Necktie, Blurry (a
  Gaussian blur of the whole image, 4 %).

Not drawn, always -1: 5_o_Clock_Shadow, Attractive, Big_Lips, Chubby, Double_Chin, Goatee,
High_Cheekbones, Oval_Face, Pointy_Nose, Sideburns, Straight_Hair, Wavy_Hair.

Nuisance variation, not labelled: face position (+-6 px) and size (+-10 %), skin tone, background
colour, blotches and stripes, eye colour, clothing colour, lighting direction and brightness,
sensor noise and JPEG quality (75-95).
"""

from __future__ import annotations

import argparse
import io
import os
from typing import Dict, List, Optional

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from common_tools.celeba import ATTRIBUTE_NAMES
from common_tools.errors import UserError

WIDTH, HEIGHT = 178, 218

# The attributes face-editing models edit (the 13 of the attribute-editing accuracy protocol plus
# Gray_Hair), then cheap extras.
EDITED = ("Bald", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair", "Bushy_Eyebrows",
          "Eyeglasses", "Male", "Mouth_Slightly_Open", "Mustache", "No_Beard", "Pale_Skin", "Young")
EXTRAS = ("Smiling", "Wearing_Hat", "Receding_Hairline")

HAIR_COLOURS = {  # base RGB per hair attribute; "auburn" has no CelebA label
    "Black_Hair": (28, 24, 24),
    "Blond_Hair": (232, 196, 104),
    "Brown_Hair": (112, 66, 34),
    "Gray_Hair": (192, 192, 198),
    "auburn": (160, 62, 30),
}
PALE_SKIN = (250, 232, 222)
SKIN_TONES = ((226, 178, 142), (206, 150, 112), (176, 120, 86), (128, 86, 60), (92, 62, 44))
DARK_FRAMES = ((15, 15, 15), (60, 35, 20), (20, 30, 80), (120, 20, 30))
LIGHT_FRAMES = ((228, 228, 235), (235, 195, 70), (225, 70, 70))


def _p(rng: np.random.Generator, prob: float) -> bool:
    return bool(rng.random() < prob)


def sample_attributes(rng: np.random.Generator) -> Dict[str, int]:
    """Draw one consistent set of the 40 CelebA labels (+1 / -1)."""
    a = {name: -1 for name in ATTRIBUTE_NAMES}
    on = set()
    male = _p(rng, 0.45)
    young = _p(rng, 0.5)
    if male:
        on.add("Male")
    if young:
        on.add("Young")
    bald = male and _p(rng, 0.25 if young else 0.45)
    if bald:
        on.add("Bald")
    else:
        hat = _p(rng, 0.07)
        if hat:
            on.add("Wearing_Hat")
        if young:
            colours = (("Black_Hair", 0.35), ("Brown_Hair", 0.30), ("Blond_Hair", 0.25),
                       ("Gray_Hair", 0.03), ("auburn", 0.07))
        else:
            colours = (("Black_Hair", 0.20), ("Brown_Hair", 0.15), ("Blond_Hair", 0.10),
                       ("Gray_Hair", 0.45), ("auburn", 0.10))
        names = [c for c, _ in colours]
        probs = np.array([p for _, p in colours])
        hair = names[int(rng.choice(len(names), p=probs / probs.sum()))]
        if hair != "auburn":
            on.add(hair)
        if not hat:
            if male and _p(rng, 0.35 if not young else 0.15):
                on.add("Receding_Hairline")
            elif _p(rng, 0.3 if male else 0.5):
                on.add("Bangs")
    if _p(rng, 0.35 if male else 0.15):
        on.add("Bushy_Eyebrows")
    elif not male and _p(rng, 0.4):
        on.add("Arched_Eyebrows")
    if _p(rng, 0.15 if young else 0.35):
        on.add("Eyeglasses")
    if _p(rng, 0.45):
        on.add("Mouth_Slightly_Open")
    if _p(rng, 0.45):
        on.add("Smiling")
    if male and _p(rng, 0.45):
        on.add("Mustache")
    if not (male and _p(rng, 0.5)):
        on.add("No_Beard")
    if _p(rng, 0.22):
        on.add("Pale_Skin")
    if not young and _p(rng, 0.5):
        on.add("Bags_Under_Eyes")
    if _p(rng, 0.25 if male else 0.1):
        on.add("Big_Nose")
    if _p(rng, 0.1):
        on.add("Narrow_Eyes")
    if _p(rng, 0.12):
        on.add("Rosy_Cheeks")
    if not male and _p(rng, 0.6):
        on.add("Wearing_Lipstick")
        if _p(rng, 0.6):
            on.add("Heavy_Makeup")
    if not male and _p(rng, 0.3):
        on.add("Wearing_Earrings")
    if not male and _p(rng, 0.2):
        on.add("Wearing_Necklace")
    if male and _p(rng, 0.25):
        on.add("Wearing_Necktie")
    if _p(rng, 0.04):
        on.add("Blurry")
    for name in on:
        a[name] = 1
    return a


def _mix(c1, c2, t: float):
    return tuple(int(round(x * (1 - t) + y * t)) for x, y in zip(c1, c2))


def _scale(c, f: float):
    return tuple(int(max(0, min(255, round(x * f)))) for x in c)


def _background(rng: np.random.Generator) -> Image.Image:
    base = rng.uniform(25, 235, size=3)
    blobs = rng.normal(0.0, rng.uniform(10, 40), size=(4, 4, 3)) + base
    bg = np.asarray(Image.fromarray(np.clip(blobs, 0, 255).astype(np.uint8)).resize(
        (WIDTH, HEIGHT), Image.BILINEAR), dtype=np.float32)
    if _p(rng, 0.35):  # stripes or a soft grid: texture a model must ignore
        period = rng.uniform(6, 24)
        angle = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
        wave = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
        bg += (rng.uniform(8, 25) * wave)[..., None]
    return Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))


def _ellipse_cap(cx, cy, rx, ry, y_cut, n=40):
    """Polygon of the part of an ellipse above the line y = y_cut."""
    t = np.linspace(np.pi, 2 * np.pi, n)
    xs, ys = cx + rx * np.cos(t), cy + ry * np.sin(t)
    keep = ys <= y_cut
    if keep.sum() < 2:
        return []
    xs, ys = xs[keep], ys[keep]
    # close along the cut line
    pts = [(float(xs[0]), float(y_cut))] + list(zip(xs.tolist(), ys.tolist())) + [(float(xs[-1]), float(y_cut))]
    return pts


def draw_face(attrs: Dict[str, int], rng: np.random.Generator) -> Image.Image:
    """Draw one 178x218 RGB face showing ``attrs`` (from :func:`sample_attributes`)."""
    on = lambda name: attrs[name] == 1  # noqa: E731
    male, young, bald = on("Male"), on("Young"), on("Bald")
    img = _background(rng)
    d = ImageDraw.Draw(img)

    s = rng.uniform(0.9, 1.1)  # face size
    cx = WIDTH / 2 + rng.uniform(-6, 6)
    cy = 118 + rng.uniform(-6, 6)  # face centre; the eyes sit ~8 px above
    fw = (41 if male else 35) * s  # half width
    ft = cy - 56 * s  # top of the forehead
    chin = cy + (50 if male else 52) * s
    lw = max(2, int(round(3 * s)))  # line width of drawn features

    # every random draw happens here, whatever the attributes, so flipping one attribute
    # changes only what that attribute draws
    tone = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))]
    skin = _scale(PALE_SKIN if on("Pale_Skin") else tone, rng.uniform(0.95, 1.04))
    hair_gain = rng.uniform(0.9, 1.08)
    cloth, tie, hat = (tuple(int(c) for c in rng.integers(20, 230, size=3)) for _ in range(3))
    iris = [(70, 45, 25), (60, 100, 150), (70, 110, 70), (40, 30, 25)][int(rng.integers(4))]
    frame_k = int(rng.integers(12))
    gx, gy = rng.uniform(-0.15, 0.15, size=2)
    gain = rng.uniform(0.88, 1.1)
    noise = rng.normal(0.0, rng.uniform(1, 5), size=(HEIGHT, WIDTH, 3)).astype(np.float32)

    shade = _scale(skin, 0.78)
    hair_name = next((n for n in HAIR_COLOURS if n in attrs and on(n)), "auburn")
    hair = HAIR_COLOURS[hair_name]
    hair = _scale(hair, hair_gain)
    hair_dark = _scale(hair, 0.55)
    hair_shine = _mix(hair, (255, 255, 255), 0.35)
    facial_hair = (60, 40, 28) if bald else (hair if hair_name != "Blond_Hair" else _scale(hair, 0.85))
    if max(abs(a - b) for a, b in zip(facial_hair, skin)) < 60:  # keep facial hair apart from the skin
        facial_hair = (_mix(facial_hair, (255, 255, 255), 0.5) if sum(skin) < 330
                       else _scale(facial_hair, 0.55))
    brow_col = (48, 32, 24) if bald else _mix(hair, (25, 15, 10), 0.5 if hair_name != "Gray_Hair" else 0.25)
    brow_col = tuple(min(b, int(0.5 * k)) for b, k in zip(brow_col, skin))  # always darker than the skin

    # shoulders, long hair behind, neck
    d.ellipse((cx - 90 * s, cy + 78 * s, cx + 90 * s, cy + 190 * s), fill=cloth)
    if not bald and not male:
        d.rounded_rectangle((cx - fw - 13 * s, ft - 12 * s, cx + fw + 13 * s, cy + 82 * s),
                            radius=int(34 * s), fill=hair)
    d.rectangle((cx - 15 * s, cy + 30 * s, cx + 15 * s, cy + 90 * s), fill=shade)
    if on("Wearing_Necktie"):
        d.polygon([(cx - 7 * s, cy + 86 * s), (cx + 7 * s, cy + 86 * s), (cx + 10 * s, cy + 130 * s),
                   (cx, cy + 140 * s), (cx - 10 * s, cy + 130 * s)], fill=tie)
        d.polygon([(cx - 15 * s, cy + 80 * s), (cx, cy + 92 * s), (cx + 15 * s, cy + 80 * s)], fill=(235, 235, 235))
    if on("Wearing_Necklace"):
        d.arc((cx - 17 * s, cy + 50 * s, cx + 17 * s, cy + 88 * s), 10, 170, fill=(230, 200, 60), width=lw)

    # short hair (men) or bald dome behind the face
    dome = (cx, cy - 23 * s, fw + 1 * s, 43 * s)  # centre and radii of the bare head
    if bald or on("Receding_Hairline"):
        d.ellipse((dome[0] - dome[2], dome[1] - dome[3], dome[0] + dome[2], dome[1] + dome[3]), fill=skin)
        if not bald:  # hair left over the ears
            for side in (-1, 1):
                x = cx + side * (fw + 1 * s)
                d.ellipse((x - 8 * s, ft + 8 * s, x + 8 * s, cy + 6 * s), fill=hair)
    elif male:
        d.ellipse((cx - fw - 6 * s, ft - 12 * s, cx + fw + 6 * s, cy + 12 * s), fill=hair)

    # ears
    ey = cy - 8 * s
    for side in (-1, 1):
        ex = cx + side * fw
        d.ellipse((ex - 7 * s, ey - 6 * s, ex + 7 * s, ey + 16 * s), fill=shade)
        if on("Wearing_Earrings"):
            d.ellipse((ex - 4 * s, ey + 16 * s, ex + 4 * s, ey + 24 * s), fill=(235, 200, 50))

    # face: an oval; men get a square jaw
    if male:
        d.ellipse((cx - fw, ft, cx + fw, cy + 30 * s), fill=skin)
        d.polygon([(cx - fw, cy - 5 * s), (cx - fw * 0.97, cy + 34 * s), (cx - fw * 0.62, chin),
                   (cx + fw * 0.62, chin), (cx + fw * 0.97, cy + 34 * s), (cx + fw, cy - 5 * s)], fill=skin)
    else:
        d.ellipse((cx - fw, ft, cx + fw, chin), fill=skin)

    # hair over the forehead
    hairline = ft + 16 * s
    if bald:
        d.ellipse((cx - 16 * s, ft - 4 * s, cx + 6 * s, ft + 8 * s), fill=_mix(skin, (255, 255, 255), 0.55))
    elif not on("Wearing_Hat"):
        if on("Receding_Hairline"):
            # hair only on the crown, an M-shaped line with bare temples
            y_cut = ft + 4 * s
            cap = _ellipse_cap(dome[0], dome[1], dome[2], dome[3], y_cut)
            if cap:
                m = [(cx + fw * 0.55, ft - 6 * s), (cx, ft + 8 * s), (cx - fw * 0.55, ft - 6 * s)]
                d.polygon(cap[1:-1] + m, fill=hair)
                d.line([cap[-2]] + m + [cap[1]], fill=hair_dark, width=lw, joint="curve")
        else:
            cap = _ellipse_cap(cx, cy - 6 * s, fw + 0.5, 50 * s + 0.5, hairline)
            if cap:
                d.polygon(cap, fill=hair)
                d.line((cap[0], cap[-1]), fill=hair_dark, width=lw)
                d.arc((cx - fw * 0.6, ft - 1 * s, cx + fw * 0.6, hairline + 4 * s), 200, 340, fill=hair_shine, width=lw)
        if on("Bangs"):
            y0, y1 = hairline - 4 * s, ey - 15 * s
            pts = [(cx - fw * 0.92, y0)]
            n = 7
            for k in range(n + 1):
                x = cx - fw * 0.85 + k * (1.7 * fw / n)
                pts.append((x, y1 - (0 if k % 2 else 6 * s)))
            pts.append((cx + fw * 0.92, y0))
            d.polygon(pts, fill=hair)
            d.line(pts[1:-1], fill=hair_dark, width=2)
            for k in range(1, n):  # strands, alternately dark and shiny
                x = cx - fw * 0.8 + k * (1.6 * fw / n)
                d.line((x, y0 + 3 * s, x - 2 * s, y1 - 3 * s), fill=hair_dark if k % 2 else hair_shine, width=2)

    # wrinkles of old age: dark creases on light skin, light ones on dark skin (contrast at 64 px)
    dark_skin = sum(skin) / 3 < 125
    wrinkle = _mix(skin, (255, 236, 220), 0.45) if dark_skin else _scale(skin, 0.5)
    if not young:
        if not on("Bangs") and not on("Wearing_Hat"):
            for k in range(3):
                y = ft + (22 + 6 * k) * s
                d.arc((cx - 21 * s, y - 4 * s, cx + 21 * s, y + 4 * s), 200, 340, fill=wrinkle, width=lw)
        for side in (-1, 1):
            d.line((cx + side * 10 * s, cy + 11 * s, cx + side * 21 * s, cy + 36 * s), fill=wrinkle, width=lw + 1)
            d.line((cx + side * 15 * s, cy + 36 * s, cx + side * 13 * s, chin - 5 * s), fill=wrinkle, width=lw)
            ex = cx + side * 17 * s
            for k in (-1, 0, 1):
                d.line((ex + side * 11 * s, ey + k * 2 * s, ex + side * 18 * s, ey + k * 6 * s),
                       fill=wrinkle, width=lw)
            d.arc((ex - 9 * s, ey - 1 * s, ex + 9 * s, ey + 9 * s), 30, 150, fill=wrinkle, width=lw - 1)
    if on("Bags_Under_Eyes"):
        for side in (-1, 1):
            ex = cx + side * 17 * s
            d.arc((ex - 9 * s, ey + 1 * s, ex + 9 * s, ey + 13 * s), 20, 160,
                  fill=_mix(skin, (90, 50, 90), 0.45), width=lw + 1)

    # rosy cheeks, then the beard (jaw and chin, below the lower lip)
    my = cy + 30 * s
    if on("Rosy_Cheeks"):
        for side in (-1, 1):
            x = cx + side * 22 * s
            d.ellipse((x - 8 * s, cy + 4 * s, x + 8 * s, cy + 16 * s), fill=_mix(skin, (235, 80, 100), 0.45))
    if attrs["No_Beard"] == -1:
        d.polygon([(cx - fw * 0.99, cy + 2 * s), (cx - fw * 0.97, cy + 34 * s), (cx - fw * 0.62, chin + 4 * s),
                   (cx + fw * 0.62, chin + 4 * s), (cx + fw * 0.97, cy + 34 * s), (cx + fw * 0.99, cy + 2 * s),
                   (cx + fw * 0.72, cy + 20 * s), (cx + 14 * s, my + 3 * s), (cx - 14 * s, my + 3 * s),
                   (cx - fw * 0.72, cy + 20 * s)], fill=facial_hair)

    # eyes, eye shadow, brows
    eh = (2.2 if on("Narrow_Eyes") else 4.6) * s
    for side in (-1, 1):
        ex = cx + side * 17 * s
        if on("Heavy_Makeup"):
            d.ellipse((ex - 11 * s, ey - 9 * s, ex + 11 * s, ey + 2 * s), fill=(120, 60, 140))
        d.ellipse((ex - 8.5 * s, ey - eh, ex + 8.5 * s, ey + eh), fill=(245, 245, 240))
        r = min(eh, 3.8 * s)
        d.ellipse((ex - r, ey - r, ex + r, ey + r), fill=iris)
        d.ellipse((ex - r / 2, ey - r / 2, ex + r / 2, ey + r / 2), fill=(10, 10, 10))
        if on("Smiling"):  # smiling eyes: the lower lid pushed up into a crescent
            d.chord((ex - 10 * s, ey - 1 * s, ex + 10 * s, ey + 2 * eh + 4 * s), 180, 360, fill=skin)
            d.arc((ex - 10 * s, ey - 1 * s, ex + 10 * s, ey + 2 * eh + 4 * s), 195, 345,
                  fill=_scale(skin, 0.55), width=2)
        by = ey - 12 * s
        if on("Bushy_Eyebrows"):  # thick, long, slightly raised at the outer end
            d.polygon([(ex - side * 15 * s, by + 4 * s), (ex - side * 14 * s, by - 4 * s),
                       (ex + side * 15 * s, by - 6 * s), (ex + side * 15 * s, by + 3 * s)], fill=brow_col)
        elif on("Arched_Eyebrows"):
            d.arc((ex - 10 * s, by - 4 * s, ex + 10 * s, by + 8 * s), 200, 340, fill=brow_col, width=2)
        else:
            d.line((ex - 8 * s, by + 1 * s, ex + 8 * s, by + 1 * s), fill=brow_col, width=2)

    # nose
    nw = (12 if on("Big_Nose") else 7) * s
    d.polygon([(cx, ey + 2 * s), (cx - nw, cy + 18 * s), (cx + nw, cy + 18 * s)], fill=_scale(skin, 0.88))
    d.line((cx - nw * 0.6, cy + 18 * s, cx + nw * 0.6, cy + 18 * s), fill=_scale(skin, 0.6), width=2)

    # mouth: closed line / closed smile (U) / open "O" / open smile (D with teeth)
    lips = (196, 24, 54) if on("Wearing_Lipstick") else _mix(_scale(skin, 0.6), (150, 40, 50), 0.4)
    if on("Smiling"):  # smile creases at the mouth corners
        crease = _mix(skin, (255, 236, 220), 0.45) if dark_skin else _scale(skin, 0.55)
        for side in (-1, 1):
            d.arc((cx + side * 20 * s - 5 * s, my - 8 * s, cx + side * 20 * s + 5 * s, my + 6 * s),
                  270 if side > 0 else 90, 90 if side > 0 else 270, fill=crease, width=lw)
    inside = (70, 15, 25)
    if on("Mouth_Slightly_Open") and on("Smiling"):
        d.chord((cx - 19 * s, my - 13 * s, cx + 19 * s, my + 13 * s), 0, 180, fill=inside, outline=lips, width=lw)
        d.rectangle((cx - 14 * s, my + 1 * s, cx + 14 * s, my + 5 * s), fill=(245, 245, 245))
    elif on("Mouth_Slightly_Open"):
        d.ellipse((cx - 10 * s, my - 7 * s, cx + 10 * s, my + 12 * s), fill=inside, outline=lips, width=lw)
        d.rectangle((cx - 6 * s, my - 5 * s, cx + 6 * s, my - 2 * s), fill=(245, 245, 245))
    elif on("Smiling"):
        d.arc((cx - 19 * s, my - 16 * s, cx + 19 * s, my + 5 * s), 15, 165, fill=lips, width=lw + 3)
    else:
        d.line((cx - 12 * s, my, cx + 12 * s, my), fill=lips, width=lw + 1)
    if on("Mustache"):  # a thick chevron over the upper lip with drooping ends
        d.polygon([(cx - 21 * s, my + 5 * s), (cx - 17 * s, my - 5 * s), (cx - 11 * s, my - 11 * s),
                   (cx + 11 * s, my - 11 * s), (cx + 17 * s, my - 5 * s), (cx + 21 * s, my + 5 * s),
                   (cx + 14 * s, my), (cx, my - 4 * s), (cx - 14 * s, my)], fill=facial_hair)

    # glasses over everything on the face; frames contrast with the skin
    if on("Eyeglasses"):
        frames = LIGHT_FRAMES if dark_skin else DARK_FRAMES
        frame = frames[frame_k % len(frames)]
        gw = lw + 2
        for side in (-1, 1):
            ex = cx + side * 17 * s
            d.rounded_rectangle((ex - 14 * s, ey - 10 * s, ex + 14 * s, ey + 11 * s), radius=int(6 * s),
                                outline=frame, width=gw)
            d.line((ex + side * 14 * s, ey - 5 * s, cx + side * fw, ey - 3 * s), fill=frame, width=gw - 1)
            d.line((ex - 7 * s, ey + 6 * s, ex - 1 * s, ey - 5 * s), fill=(250, 250, 250), width=2)  # glare
        d.line((cx - 4 * s, ey - 3 * s, cx + 4 * s, ey - 3 * s), fill=frame, width=gw)

    # hat last: it covers the top of the head
    if on("Wearing_Hat"):
        d.rounded_rectangle((cx - fw + 1 * s, ft - 30 * s, cx + fw - 1 * s, hairline), radius=int(12 * s), fill=hat)
        d.rounded_rectangle((cx - fw - 16 * s, hairline - 6 * s, cx + fw + 16 * s, hairline + 3 * s),
                            radius=int(4 * s), fill=_scale(hat, 0.75))

    if on("Blurry"):
        img = img.filter(ImageFilter.GaussianBlur(1.6))

    # lighting (direction, brightness) and sensor noise
    arr = np.asarray(img, dtype=np.float32)
    light = (gain + gx * np.linspace(-1, 1, WIDTH)[None, :]
             + gy * np.linspace(-1, 1, HEIGHT)[:, None])
    arr = arr * light[..., None] + noise
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def encode_jpeg(img: Image.Image, rng: np.random.Generator) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(rng.integers(75, 96)))
    return buf.getvalue()


def face(seed: int, index: int, overrides: Optional[Dict[str, int]] = None):
    """Attributes, image and JPEG bytes of face ``index`` (0-based) for ``seed``.

    ``overrides`` (name -> +1/-1) redraws the same face with those labels changed; the caller
    keeps them consistent (e.g. one hair colour).
    """
    rng = np.random.default_rng((seed, index))
    attrs = sample_attributes(rng)
    if overrides:
        unknown = sorted(set(overrides) - set(ATTRIBUTE_NAMES))
        if unknown:
            raise UserError(f"unknown attribute(s) {', '.join(unknown)}; valid names: {', '.join(ATTRIBUTE_NAMES)}")
        attrs.update({name: 1 if value == 1 else -1 for name, value in overrides.items()})
    img = draw_face(attrs, rng)
    return attrs, img, encode_jpeg(img, rng)


def _partition(index: int, num: int) -> int:
    n_train, n_val = round(0.8 * num), round(0.1 * num)
    return 0 if index < n_train else (1 if index < n_train + n_val else 2)


def generate(out, num: int, seed: int = 0, progress: bool = False) -> str:
    """Write ``num`` faces in the CelebA layout under ``out``; returns ``out``."""
    if num < 1:
        raise UserError(f"--num must be at least 1, got {num}")
    if num > 999_999:
        raise UserError(f"--num must be at most 999999 (6-digit CelebA file names), got {num}")
    if seed < 0:
        raise UserError(f"--seed must be 0 or more, got {seed}")
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise UserError(f"output path exists and is not a folder: {out}")
    try:
        return _generate(out, num, seed, progress)
    except OSError as exc:
        raise UserError(f"cannot write under {out}: {exc.strerror or exc} ({exc.filename or out})") from None


def _generate(out: str, num: int, seed: int, progress: bool) -> str:
    img_dir = os.path.join(out, "img_align_celeba")
    os.makedirs(img_dir, exist_ok=True)
    rows: List[str] = []
    parts: List[str] = []
    it = range(num)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc="SynthFaces", unit="img")
    for i in it:
        attrs, _, data = face(seed, i)
        name = f"{i + 1:06d}.jpg"
        _write_atomic(os.path.join(img_dir, name), data)
        rows.append(name + " " + " ".join(f"{attrs[n]:2d}" for n in ATTRIBUTE_NAMES))
        parts.append(f"{name} {_partition(i, num)}")
    header = f"{num}\n" + " ".join(ATTRIBUTE_NAMES) + " \n"
    _write_atomic(os.path.join(out, "list_attr_celeba.txt"), (header + "\n".join(rows) + "\n").encode())
    _write_atomic(os.path.join(out, "list_eval_partition.txt"), ("\n".join(parts) + "\n").encode())
    return out


def _write_atomic(path: str, data: bytes) -> None:
    """Write via a temporary name and rename, so a reader never sees half a file."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# ---- the labelled grid for the README ------------------------------------------------------------

SHORT = {"Bald": "bald", "Bangs": "bangs", "Black_Hair": "black", "Blond_Hair": "blond",
         "Brown_Hair": "brown", "Gray_Hair": "gray", "Bushy_Eyebrows": "bushy", "Eyeglasses": "glasses",
         "Male": "male", "Mouth_Slightly_Open": "open", "Mustache": "mustache", "Pale_Skin": "pale",
         "Smiling": "smile", "Wearing_Hat": "hat", "Receding_Hairline": "receding"}


def label_text(attrs: Dict[str, int]) -> str:
    """Short label of the edited attributes, e.g. ``male bald beard old glasses``."""
    words = [SHORT[n] for n in EDITED + EXTRAS if n in SHORT and attrs[n] == 1]
    if attrs["No_Beard"] == -1:
        words.append("beard")
    words.append("young" if attrs["Young"] == 1 else "old")
    return " ".join(words)


def pick_covering(seed: int, count: int = 16, pool: int = 300) -> List[int]:
    """Indices of ``count`` faces that together show every edited attribute on both sides."""
    attrs = [sample_attributes(np.random.default_rng((seed, i))) for i in range(pool)]
    wanted = {(n, v) for n in EDITED + EXTRAS for v in (-1, 1)}
    chosen: List[int] = []
    while len(chosen) < count:
        best = max((i for i in range(pool) if i not in chosen),
                   key=lambda i: (sum((n, attrs[i][n]) in wanted for n in EDITED + EXTRAS)
                                  + 0.5 * sum(attrs[i][n] == 1 for n in EDITED + EXTRAS), -i))
        chosen.append(best)
        wanted -= {(n, attrs[best][n]) for n in EDITED + EXTRAS}
        if not wanted:
            wanted = {(n, 1) for n in EDITED + EXTRAS}
    return chosen


def save_grid(out, seed: int = 0, count: int = 16, ncol: int = 4, tile_width: int = 150) -> str:
    """Save a grid of ``count`` faces with their edited-attribute labels under each one."""
    from PIL import ImageFont

    if count < 1 or ncol < 1:
        raise UserError(f"--count and --ncol must be positive, got {count} and {ncol}")
    font = ImageFont.load_default(size=12) if hasattr(ImageFont, "load_default") else None
    th = round(tile_width * HEIGHT / WIDTH)
    label_h = 46
    nrow = -(-count // ncol)
    sheet = Image.new("RGB", (ncol * tile_width, nrow * (th + label_h)), (255, 255, 255))
    d = ImageDraw.Draw(sheet)
    for k, i in enumerate(pick_covering(seed, count)):
        attrs, _, data = face(seed, i)
        tile = Image.open(io.BytesIO(data)).convert("RGB").resize((tile_width, th), Image.BILINEAR)
        x, y = (k % ncol) * tile_width, (k // ncol) * (th + label_h)
        sheet.paste(tile, (x, y))
        lines = [""]
        for word in label_text(attrs).split():
            trial = (lines[-1] + " " + word).strip()
            if lines[-1] and d.textlength(trial, font=font) > tile_width - 6:
                lines.append(word)
            else:
                lines[-1] = trial
        for j, line in enumerate(lines[:3]):
            d.text((x + 3, y + th + 2 + 13 * j), line, fill=(0, 0, 0), font=font)
    out = os.fspath(out)
    try:
        if os.path.dirname(out):
            os.makedirs(os.path.dirname(out), exist_ok=True)
        sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    except (OSError, ValueError) as exc:  # ValueError: unknown image extension
        raise UserError(f"cannot write the grid to {out}: {exc}") from None
    return out


# ---- registry hooks ---------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "example: python -m common_tools.synthetic faces --out runs/data/synthfaces --num 2000 --seed 0"
    parser.add_argument("--out", required=True, help="output folder (img_align_celeba/ and the two lists)")
    parser.add_argument("--num", type=int, default=2000, help="number of faces (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed -> same bytes")
    parser.add_argument("--progress", action="store_true", help="show a progress bar")


def add_grid_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "example: python -m common_tools.synthetic faces-grid --out docs/images/synthfaces_grid.png"
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the faces")
    parser.add_argument("--count", type=int, default=16, help="number of faces (default 16)")
    parser.add_argument("--ncol", type=int, default=4, help="faces per row (default 4)")
