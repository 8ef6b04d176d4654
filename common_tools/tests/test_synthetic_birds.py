import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from common_tools import safe_pickle, text_encoder
from common_tools.errors import UserError
from common_tools.synthetic import GENERATORS, birds
from common_tools.synthetic.__main__ import main as cli_main

NUM = 24  # every class at least once
CUB_FILES = ["bounding_boxes.txt", "classes.txt", "image_class_labels.txt", "images",
             "images.txt", "train_test_split.txt"]
PICKLES = ["char-CNN-RNN-embeddings.pickle", "class_info.pickle", "filenames.pickle"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen") / "synthbirds"
    assert birds.generate(root, NUM, seed=0) == os.fspath(root)
    return root


def _rows(path):
    return [line.split(" ") for line in path.read_text().splitlines()]


def test_layout_and_exact_cub_formats(generated):
    cub = generated / "CUB_200_2011"
    assert sorted(p.name for p in generated.iterdir()) == ["CUB_200_2011", "birds", "text_c10"]
    assert sorted(p.name for p in cub.iterdir()) == CUB_FILES
    assert not list(generated.rglob("*.tmp"))

    classes = _rows(cub / "classes.txt")
    assert [r[0] for r in classes] == [str(c) for c in range(1, 21)]
    assert all(re.fullmatch(r"\d{3}\.[A-Z][A-Za-z_]+", r[1]) and r[1][:3] == f"{int(r[0]):03d}" for r in classes)

    line = re.compile(r"^(\d+) ((\d{3})\.([A-Za-z_]+)/\4_(\d{4})_(\d+)\.jpg)$")  # "1 001.X/X_0001_1.jpg"
    lines = (cub / "images.txt").read_text().splitlines()
    matches = [line.fullmatch(text) for text in lines]
    assert len(lines) == NUM and all(matches)
    assert [int(m[1]) for m in matches] == list(range(1, NUM + 1))
    paths = [m[2] for m in matches]
    assert paths == sorted(paths)  # grouped by class folder, as CUB
    assert sorted(int(m[6]) for m in matches) == list(range(1, NUM + 1))  # every bird once
    folders = {r[1] for r in classes}
    assert all(p.split("/")[0] in folders for p in paths)
    labels = _rows(cub / "image_class_labels.txt")
    assert [r[1] for r in labels] == [str(int(m[3])) for m in matches]

    boxes = (cub / "bounding_boxes.txt").read_text().splitlines()
    assert all(re.fullmatch(r"\d+( \d+\.\d){4}", b) for b in boxes)  # "1 60.0 27.0 325.0 304.0"
    assert [b.split()[0] for b in boxes] == [str(i) for i in range(1, NUM + 1)]
    split = _rows(cub / "train_test_split.txt")
    assert [r[0] for r in split] == [str(i) for i in range(1, NUM + 1)] and {r[1] for r in split} == {"0", "1"}

    for path, box in zip(paths, boxes):
        with Image.open(cub / "images" / path) as img:
            assert img.format == "JPEG" and img.mode == "RGB"
            width, height = img.size
        x, y, w, h = map(float, box.split()[1:])
        assert 0 <= x and 0 <= y and x + w <= width and y + h <= height and w >= 40 and h >= 30
        caps = (generated / "text_c10" / path.replace(".jpg", ".txt")).read_text()
        assert caps.endswith("\n") and len(caps.splitlines()) == 10 and all(c.strip() for c in caps.splitlines())


def test_pickles_load_safely_with_the_class_split(generated):
    images = [line.split(" ")[1][:-4] for line in (generated / "CUB_200_2011/images.txt").read_text().splitlines()]
    seen = {}
    for subset in ("train", "test"):
        folder = generated / "birds" / subset
        assert sorted(p.name for p in folder.iterdir()) == PICKLES
        for name in PICKLES:
            assert (folder / name).read_bytes()[:2] == b"\x80\x02"  # protocol 2, as Python 2 wrote them
        emb = safe_pickle.load(folder / "char-CNN-RNN-embeddings.pickle", encoding="latin1")
        with pytest.raises(UserError, match="UnicodeDecodeError"):  # Python 2 strings, as the published files
            safe_pickle.load(folder / "char-CNN-RNN-embeddings.pickle")
        names = safe_pickle.load(folder / "filenames.pickle", encoding="latin1")
        info = safe_pickle.load(folder / "class_info.pickle", encoding="latin1")
        assert isinstance(emb, np.ndarray) and emb.dtype == np.float32 and emb.shape == (len(names), 10, 1024)
        assert type(names) is list and all(type(n) is str for n in names)
        assert type(info) is list and all(type(c) is int for c in info)
        assert names == [n for n in images if n in set(names)]  # images.txt order
        assert info == [int(n[:3]) for n in names]
        # each row is the encoder's vectors of that image's 10 captions, in file order
        for row, name in zip(emb[::5], names[::5]):
            caps = (generated / "text_c10" / (name + ".txt")).read_text().splitlines()
            np.testing.assert_array_equal(row, text_encoder.encode(caps))
        seen[subset] = (names, set(info))
    assert sorted(seen["train"][0] + seen["test"][0]) == sorted(images)
    assert seen["test"][1] == {4, 8, 12, 16, 20} and not seen["train"][1] & seen["test"][1]
    assert len(seen["train"][1]) == 15


def test_class_table_is_a_split_of_seen_attributes():
    attrs = [c.attributes() for c in birds.CLASSES]
    assert len({tuple(a.values()) for a in attrs}) == 20 and len({c.name for c in birds.CLASSES}) == 20
    train = [a for c, a in enumerate(attrs) if c not in birds.TEST_CLASSES]
    for c in birds.TEST_CLASSES:  # a test class is a new combination of values seen in training
        for key, value in attrs[c].items():
            assert any(a[key] == value for a in train), (birds.CLASSES[c].name, key, value)
    for a in attrs:
        assert all(a[p] in birds.PALETTE for p in ("crown", "wings", "belly", "beak", "tail"))
        assert a["beak_length"] in birds.LENGTHS and a["tail_length"] in birds.LENGTHS
    rgb = np.array(list(birds.PALETTE.values()), float)
    dist = np.linalg.norm(rgb[:, None] - rgb[None], axis=-1) + 1e9 * np.eye(len(rgb))
    assert dist.min() > 60  # colours a viewer (and the pixel check below) tells apart


def test_same_seed_same_bytes_and_independent_of_num(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    birds.generate(a, 12, seed=5)
    birds.generate(b, 12, seed=5)
    birds.generate(c, 12, seed=6)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert len(files) == 12 * 2 + 5 + 6
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    jpg = "CUB_200_2011/images/003.Golden_Bellied_Sparrow/Golden_Bellied_Sparrow_0001_3.jpg"
    assert (a / jpg).read_bytes() != (c / jpg).read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]
    # bird i does not depend on how many birds are generated
    assert birds.bird(5, 2).jpeg == (a / jpg).read_bytes()
    assert birds.bird(5, 2).captions == (a / "text_c10/003.Golden_Bellied_Sparrow/Golden_Bellied_Sparrow_0001_3.txt"
                                         ).read_text().splitlines()


# ---- captions against the drawn attributes -------------------------------------------------------
# An independent reading of the grammar: a descriptor is bound to the noun right after it ("red crown"),
# after one more descriptor ("short black beak"), or before "is/are" / "that is/are" ("wings are blue"),
# never across punctuation.

NOUN_PART = {"crown": "crown", "head": "crown", "wings": "wings", "belly": "belly", "breast": "belly",
             "chest": "belly", "beak": "beak", "bill": "beak", "tail": "tail"}
COLOURS = {**{c: c for c in birds.PALETTE}, "grey": "gray"}
LENGTHS = {"short": "short", "small": "short", "stubby": "short", "long": "long", "large": "long"}


def read_caption(text):
    """(part, attribute key, value) for every colour and length word in ``text``."""
    words = re.findall(r"[a-z]+|[,.;]", text)  # punctuation ends a phrase: "a tail that is large, green wings"
    found = []
    for j, word in enumerate(words):
        if word not in COLOURS and word not in LENGTHS:
            continue
        nxt = words[j + 1:j + 3]
        if nxt and nxt[0] in NOUN_PART:
            part = NOUN_PART[nxt[0]]
        elif len(nxt) == 2 and (nxt[0] in COLOURS or nxt[0] in LENGTHS) and nxt[1] in NOUN_PART:
            part = NOUN_PART[nxt[1]]
        elif j >= 2 and words[j - 1] in ("is", "are") and words[j - 2] in NOUN_PART:
            part = NOUN_PART[words[j - 2]]
        elif j >= 3 and words[j - 1] in ("is", "are") and words[j - 2] == "that" and words[j - 3] in NOUN_PART:
            part = NOUN_PART[words[j - 3]]
        else:
            raise AssertionError(f"descriptor {word!r} bound to no part in {text!r}")
        if word in COLOURS:
            found.append((part, part, COLOURS[word]))
        else:
            assert part in ("beak", "tail"), text
            found.append((part, part + "_length", LENGTHS[word]))
    return found


def mismatches(text, attrs):
    return [(part, key, value) for part, key, value in read_caption(text) if attrs[key] != value]


def test_caption_words_are_the_drawn_attributes(generated):
    covered = set()
    for folder in sorted((generated / "text_c10").iterdir()):
        attrs = birds.CLASSES[int(folder.name[:3]) - 1].attributes()
        for path in folder.iterdir():
            texts = path.read_text().splitlines()
            assert len(set(texts)) >= 7, texts  # varied wording
            for text in texts:
                found = read_caption(text)
                parts = {p for p, _, _ in found} | {NOUN_PART[w] for w in re.findall(r"[a-z]+", text) if w in NOUN_PART}
                assert 2 <= len(parts) <= 4, text
                assert found and not mismatches(text, attrs), (text, attrs)
                covered |= {(k, v) for _, k, v in found}
    for key in birds.ATTRIBUTE_NAMES:  # every attribute is described, with many of its values
        assert len({v for k, v in covered if k == key}) >= (2 if key.endswith("length") else 4), key
    # the check can fail: a caption with a wrong colour or length is caught
    attrs = birds.CLASSES[0].attributes()  # red crown, brown wings, short gray beak
    assert mismatches("this bird has a blue crown and brown wings", attrs) == [("crown", "crown", "blue")]
    assert mismatches("a bird with a long gray beak", attrs) == [("beak", "beak_length", "long")]
    assert mismatches("its wings are brown and the head is red", attrs) == []


def test_describe_is_deterministic_per_stream():
    attrs = birds.CLASSES[12].attributes()
    one = [birds.describe(attrs, np.random.default_rng(3)) for _ in range(2)]
    assert one[0] == one[1]
    assert birds.captions(attrs, np.random.default_rng(3)) != birds.captions(attrs, np.random.default_rng(4))


def _nearest_colour(rgb):
    names = list(birds.PALETTE)
    palette = np.array([birds.PALETTE[n] for n in names], float)
    return names[int(np.argmin(np.linalg.norm(palette - rgb, axis=1)))]


def test_pixels_show_the_named_colours_and_the_box_is_the_bird():
    for i in range(40):  # every class twice, both facing directions and many poses
        b = birds.bird(2, i)
        img = np.asarray(Image.open(io.BytesIO(b.jpeg)).convert("RGB"), float)
        mask = np.asarray(b.mask) > 0
        r = max(2, int(b.radius))
        for part, (x, y) in b.points.items():
            x, y = int(round(x)), int(round(y))
            window = img[y - r:y + r + 1, x - r:x + r + 1].reshape(-1, 3)
            assert mask[y - r:y + r + 1, x - r:x + r + 1].all(), (i, part)
            assert _nearest_colour(np.median(window, axis=0)) == b.attributes[part], (i, part, b.attributes)
        ys, xs = np.nonzero(mask)
        assert b.bbox == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
        assert 0.3 * mask.shape[1] <= b.bbox[2] <= 0.8 * mask.shape[1]  # a bird, not a speck
    # the colours named for different parts really differ in the image (not one colour everywhere)
    b = birds.bird(2, 1)  # black crown, blue wings, yellow belly
    img = np.asarray(b.image, float)
    crown, belly = (img[int(b.points[p][1]), int(b.points[p][0])] for p in ("crown", "belly"))
    assert np.abs(crown - belly).max() > 100


def test_cli_and_bad_input(tmp_path):
    assert "birds" in GENERATORS
    assert cli_main(["birds", "--out", str(tmp_path / "d"), "--num", "4", "--seed", "1"]) == 0
    assert len(list((tmp_path / "d/CUB_200_2011/images").rglob("*.jpg"))) == 4
    with pytest.raises(UserError, match="at least 4"):
        birds.generate(tmp_path / "e", 3)
    with pytest.raises(UserError, match="seed"):
        birds.generate(tmp_path / "e", 8, seed=-1)
    (tmp_path / "file").write_text("x")
    res = subprocess.run([sys.executable, "-m", "common_tools.synthetic", "birds", "--out",
                          str(tmp_path / "file"), "--num", "8"], capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.startswith("error: --out") and len(res.stderr.splitlines()) == 1
    assert "Traceback" not in res.stderr
