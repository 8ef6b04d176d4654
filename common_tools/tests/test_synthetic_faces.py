import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from common_tools import celeba
from common_tools.errors import UserError
from common_tools.synthetic import GENERATORS, faces
from common_tools.synthetic.__main__ import main as cli_main

NUM = 300
HAIR = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")
NEVER_DRAWN = ("5_o_Clock_Shadow", "Attractive", "Big_Lips", "Chubby", "Double_Chin", "Goatee",
               "High_Cheekbones", "Oval_Face", "Pointy_Nose", "Sideburns", "Straight_Hair", "Wavy_Hair")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen") / "synthfaces"
    faces.generate(root, NUM, seed=0)
    return root


def test_layout_and_exact_celeba_format(generated):
    assert sorted(p.name for p in generated.iterdir()) == [
        "img_align_celeba", "list_attr_celeba.txt", "list_eval_partition.txt"]
    names = sorted(p.name for p in (generated / "img_align_celeba").iterdir())
    assert names == [f"{i:06d}.jpg" for i in range(1, NUM + 1)]
    with Image.open(generated / "img_align_celeba" / "000007.jpg") as img:
        assert img.format == "JPEG" and img.mode == "RGB" and img.size == (178, 218)
    lines = (generated / "list_attr_celeba.txt").read_text().splitlines()
    assert lines[0] == str(NUM) and lines[1].split() == list(celeba.ATTRIBUTE_NAMES)
    row = re.compile(r"^\d{6}\.jpg( (-1| 1)){40}$")  # "000001.jpg -1  1 -1 ..." as in CelebA
    assert len(lines) == NUM + 2 and all(row.match(line) for line in lines[2:])
    parts = [line.split() for line in (generated / "list_eval_partition.txt").read_text().splitlines()]
    assert [p[0] for p in parts] == names
    assert [p[1] for p in parts] == ["0"] * 240 + ["1"] * 30 + ["2"] * 30


def test_labels_obey_celeba_constraints(generated):
    attrs = celeba.read_attributes(generated / "list_attr_celeba.txt")
    on = {n: attrs.values[:, attrs.index_of(n)] == 1 for n in attrs.names}
    assert (sum(on[h].astype(int) for h in HAIR) <= 1).all()
    assert not (on["Bald"] & (on["Bangs"] | on["Receding_Hairline"] | on["Wearing_Hat"])).any()
    assert not any((on["Bald"] & on[h]).any() for h in HAIR)
    assert not (on["Receding_Hairline"] & on["Bangs"]).any()
    assert not (on["Wearing_Hat"] & (on["Bangs"] | on["Receding_Hairline"])).any()
    male = on["Male"]
    for facial in ("Mustache", "Bald"):
        assert not (on[facial] & ~male).any()
    assert not (~on["No_Beard"] & ~male).any()
    assert not ((on["Wearing_Lipstick"] | on["Heavy_Makeup"]) & male).any()
    assert not (on["Heavy_Makeup"] & ~on["Wearing_Lipstick"]).any()
    assert not (on["Bags_Under_Eyes"] & on["Young"]).any()
    assert not any(on[n].any() for n in NEVER_DRAWN)
    # each edited attribute on both sides often enough for a classifier to learn it
    for name in faces.EDITED + ("Smiling",):
        rate = on[name].mean() if name != "No_Beard" else 1 - on[name].mean()
        assert 0.12 <= rate <= 0.55, (name, rate)
    assert 0.02 <= on["Receding_Hairline"].mean() <= 0.2 and 0.02 <= on["Wearing_Hat"].mean() <= 0.2


def test_same_seed_same_bytes_and_nothing_outside(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    faces.generate(a, 12, seed=5)
    faces.generate(b, 12, seed=5)
    faces.generate(c, 12, seed=6)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert len(files) == 14
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert (a / "img_align_celeba/000003.jpg").read_bytes() != (c / "img_align_celeba/000003.jpg").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]
    # face i does not depend on how many faces are generated
    assert faces.face(5, 11)[2] == (a / "img_align_celeba/000012.jpg").read_bytes()


def _flip(attrs, name):
    """Flip one attribute and resolve conflicts the way STGAN's check does."""
    b = dict(attrs)
    b[name] = -b[name]
    if b[name] == 1:
        if name in HAIR:
            b.update({h: -1 for h in HAIR if h != name}, Bald=-1)
        if name == "Bald":
            b.update({h: -1 for h in HAIR}, Bangs=-1, Receding_Hairline=-1, Wearing_Hat=-1)
        if name in ("Bangs", "Receding_Hairline"):
            b.update(Bald=-1, Wearing_Hat=-1, **{"Receding_Hairline" if name == "Bangs" else "Bangs": -1})
    return b


def _crop64(img):
    """The STGAN 64-px view: the 148x148 box at (40, 15), downscaled to 64x64."""
    return np.asarray(img.crop((15, 40, 163, 188)).resize((64, 64), Image.BILINEAR), np.float32)


def test_each_edited_attribute_is_visible_at_64px():
    # redraw the same face (same pose, light, noise) with one attribute flipped; the change must
    # cover a clear patch of the 64x64 crop (pixels off by > 30 levels) in every face tried
    counts = {}
    for name in faces.EDITED + faces.EXTRAS:
        changed = []
        for i in range(8):
            attrs, img, _ = faces.face(1, i)
            flipped = _flip(attrs, name)
            if name == "Male" and flipped["Male"] == -1:  # a woman keeps no facial hair
                flipped.update(Mustache=-1, No_Beard=1)
            _, other, _ = faces.face(1, i, overrides={k: v for k, v in flipped.items() if v != attrs[k]})
            changed.append(int((np.abs(_crop64(img) - _crop64(other)).max(-1) > 30).sum()))
        counts[name] = min(changed)
    weak = {n: c for n, c in counts.items() if c < 8}
    assert not weak, counts
    # an override that changes nothing gives the very same bytes (the check above is not noise)
    attrs, _, data = faces.face(1, 0)
    assert faces.face(1, 0, overrides={"Male": attrs["Male"]})[2] == data
    with pytest.raises(UserError, match="unknown attribute"):
        faces.face(1, 0, overrides={"Glasses": 1})


def test_cli_registry_and_grid(tmp_path, capsys):
    assert {"faces", "faces-grid"} <= set(GENERATORS)
    assert cli_main(["faces", "--out", str(tmp_path / "d"), "--num", "3", "--seed", "2"]) == 0
    assert (tmp_path / "d/img_align_celeba/000003.jpg").is_file()
    assert cli_main(["faces-grid", "--out", str(tmp_path / "grid.png"), "--count", "4", "--ncol", "2"]) == 0
    with Image.open(tmp_path / "grid.png") as grid:
        assert grid.size[0] == 2 * 150 and grid.size[1] > 2 * 175
    proc = subprocess.run([sys.executable, "-m", "common_tools.synthetic", "--help"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "faces --out" in proc.stdout and "faces-grid" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "common_tools.synthetic", "moons", "--out", "x"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr and not (tmp_path / "x").exists()


def test_grid_covers_every_edited_attribute():
    chosen = faces.pick_covering(0, 16)
    labels = [faces.sample_attributes(np.random.default_rng((0, i))) for i in chosen]
    for name in faces.EDITED + faces.EXTRAS:
        assert {a[name] for a in labels} == {-1, 1}, name
    assert "beard" in " ".join(faces.label_text(a) for a in labels)


def test_benchmark_run_reports_rates():
    from common_tools.benchmarks import synthetic

    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    figures = synthetic.run(num=8, pipeline=False)  # the pipeline itself is tested in test_celeba
    assert figures["faces"] == 8 and figures["faces_per_s"] > 0 and figures["faces_per_cpu_s"] > 0
    assert figures["check_images_ms_per_1000"] >= 0 and not any("pipeline" in key for key in figures)
    if affinity is not None:
        assert figures["pinned_to_one_cpu"] and os.sched_getaffinity(0) == affinity  # restored
