import os
import random
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from common_tools import celeba
from common_tools.errors import UserError
from common_tools.synthetic import faces

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
NUM = 40
# protocols as a model states them (the values live in the model folders; these are test fixtures)
BOX128 = celeba.Preprocess(crop=celeba.Crop(top=26, left=3, size=170), resize="bicubic_tf1")
BOX64 = celeba.Preprocess(crop=celeba.Crop(top=40, left=15, size=148), resize="bicubic_tf1")
CENTRE = celeba.Preprocess(crop=celeba.CenterCrop(178), resize="bilinear", flip=True)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthfaces")
    faces.generate(root, NUM, seed=3)
    return root


def test_reads_synthfaces_output(synth):
    attrs = celeba.read_attributes(synth / "list_attr_celeba.txt")
    assert len(celeba.ATTRIBUTE_NAMES) == 40 and len(set(celeba.ATTRIBUTE_NAMES)) == 40
    assert celeba.ATTRIBUTE_NAMES[0] == "5_o_Clock_Shadow" and celeba.ATTRIBUTE_NAMES[-1] == "Young"
    assert attrs.names == celeba.ATTRIBUTE_NAMES
    assert attrs.files[0] == "000001.jpg" and attrs.files[-1] == f"{NUM:06d}.jpg"
    assert attrs.values.shape == (NUM, 40) and attrs.values.dtype == np.int8
    assert set(np.unique(attrs.values)) <= {-1, 1}
    labels = attrs.labels(["Male", "Bald", "Young"])
    assert labels.dtype == np.float32 and labels.shape == (NUM, 3)
    np.testing.assert_array_equal(labels[:, 0], attrs.values[:, attrs.index_of("Male")] == 1)
    # the file on disk agrees with the generator's own labels
    for i in (0, NUM - 1):
        expected, _, _ = faces.face(3, i)
        assert attrs.values[i].tolist() == [expected[n] for n in celeba.ATTRIBUTE_NAMES]


def _one_line_error(func, *args):
    with pytest.raises(UserError) as err:
        func(*args)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_attribute_file_errors(tmp_path, synth):
    attrs = celeba.read_attributes(synth / "list_attr_celeba.txt")
    message = _one_line_error(attrs.labels, ["Male", "Blonde_Hair"])
    assert "Blonde_Hair" in message and "Blond_Hair" in message and "Wearing_Necktie" in message
    message = _one_line_error(celeba.read_attributes, tmp_path / "nope.txt")
    assert "attribute file not found" in message and "nope.txt" in message

    text = (synth / "list_attr_celeba.txt").read_text().splitlines()
    bad = tmp_path / "list_attr_celeba.txt"
    bad.write_text("\n".join(text[:5] + [text[5].rsplit(" ", 1)[0]] + text[6:]) + "\n")
    message = _one_line_error(celeba.read_attributes, bad)
    assert str(bad) in message and "line 6" in message and "41 values" not in message
    bad.write_text("\n".join(text[:5] + [text[5].replace(" 1", " x", 1)] + text[6:]) + "\n")
    assert "line 6" in _one_line_error(celeba.read_attributes, bad)
    bad.write_text("\n".join(["41"] + text[1:]) + "\n")
    assert "says 41 images but the file has 40 rows" in _one_line_error(celeba.read_attributes, bad)
    bad.write_text("many\n")
    assert "got 1 line(s)" in _one_line_error(celeba.read_attributes, bad)
    bad.write_text("\n".join(["abc"] + text[1:]) + "\n")
    assert "line 1" in _one_line_error(celeba.read_attributes, bad)


def test_seeded_split_reproduces_random_shuffle():
    rows = [f"{i + 1:06d}.jpg -1 1" for i in range(5000)]
    random.seed(1234)
    random.shuffle(rows)
    expected_test = [int(r[:6]) - 1 for r in rows[:1999]]
    expected_train = [int(r[:6]) - 1 for r in rows[1999:]]
    state = random.getstate()
    train, test = celeba.seeded_split(5000)
    assert random.getstate() == state  # the global random stream is left alone
    assert test.tolist() == expected_test and train.tolist() == expected_train
    train, test = celeba.seeded_split(100, n_test=10)
    assert len(test) == 10 and sorted(np.concatenate([train, test]).tolist()) == list(range(100))
    with pytest.raises(UserError, match="n_test"):
        celeba.seeded_split(100)


def test_partition_split(synth, tmp_path):
    files = ["000001.jpg", "182000.jpg", "182001.jpg", "182637.jpg", "182638.jpg", "202599.jpg"]
    split = celeba.partition_split(files)
    assert split["train"].tolist() == [0, 1] and split["val"].tolist() == [2, 3]
    assert split["test"].tolist() == [4, 5]
    attrs = celeba.read_attributes(synth / "list_attr_celeba.txt")
    split = celeba.partition_split(attrs.files, synth / "list_eval_partition.txt")
    assert [len(split[k]) for k in ("train", "val", "test")] == [32, 4, 4]
    assert split["val"].tolist() == [32, 33, 34, 35]
    with pytest.raises(UserError, match="no partition for image"):
        celeba.partition_split(["999999.jpg"], synth / "list_eval_partition.txt")
    with pytest.raises(UserError, match="partition file"):
        celeba.partition_split(["me.jpg"])


def _cubic_weights(t, a=-0.75):
    d = np.abs(np.array([1 + t, t, 1 - t, 2 - t]))
    return np.where(d <= 1, ((a + 2) * d - (a + 3)) * d * d + 1, ((a * d - 5 * a) * d + 8 * a) * d - 4 * a)


def _tf1_bicubic(img, size):
    """numpy reference of TF1 resize_bicubic (align_corners=False, no half-pixel centres)."""
    img = img.astype(np.float64)

    def axis(n_in):
        scale = n_in / size
        mat = np.zeros((size, n_in))
        for o in range(size):
            x = o * scale
            i = int(np.floor(x))
            for w, j in zip(_cubic_weights(x - i), range(i - 1, i + 3)):
                mat[o, min(max(j, 0), n_in - 1)] += w
        return mat

    ry, rx = axis(img.shape[0]), axis(img.shape[1])
    rows = np.tensordot(ry, img, axes=(1, 0))  # [out_h, w, c]
    return np.tensordot(rows, rx, axes=(1, 1)).transpose(0, 2, 1)  # [out_h, out_w, c]


def test_crops_and_resizes_match_references(synth):
    image_dir = synth / "img_align_celeba"
    files = ["000001.jpg", "000002.jpg"]
    raw = [np.asarray(Image.open(image_dir / f).convert("RGB")) for f in files]
    assert raw[0].shape == (218, 178, 3)

    got = celeba.load_images(image_dir, files, BOX128, 128)
    assert got.shape == (2, 128, 128, 3) and got.dtype == np.float32
    for g, r in zip(got, raw):
        ref = np.clip(_tf1_bicubic(r[26:196, 3:173], 128), 0, 255) / 127.5 - 1
        assert np.abs(g - ref).max() < 0.05 / 127.5  # half-pixel bicubic would be ~58 levels off
    got64 = celeba.load_images(image_dir, files, BOX64, 64)
    ref = np.clip(_tf1_bicubic(raw[0][40:188, 15:163], 64), 0, 255) / 127.5 - 1
    assert got64.shape == (2, 64, 64, 3) and np.abs(got64[0] - ref).max() < 0.05 / 127.5

    got = celeba.load_images(image_dir, files, CENTRE, 128)
    for g, r in zip(got, raw):
        ref = np.asarray(Image.fromarray(r[20:198]).resize((128, 128), Image.BILINEAR), np.float64)
        ref = ref / 127.5 - 1
        assert np.abs(g - ref).mean() < 0.5 / 127.5  # PIL rounds to uint8
        assert np.abs(g - ref).max() < 1.5 / 127.5  # without antialiasing: ~47 levels off

    with pytest.raises(UserError, match="expected a celeba.Preprocess"):
        celeba.load_images(image_dir, files, "attgan", 128)  # a protocol name is not a spec
    with pytest.raises(UserError, match="cannot read image"):
        celeba.load_images(image_dir, ["missing.jpg"], BOX128, 128)


def test_load_images_names_a_too_small_image(tmp_path):
    Image.new("RGB", (100, 120)).save(tmp_path / "small.jpg")
    with pytest.raises(UserError, match=r"small.jpg: the image is 100x120; the crop of 170x170 at "
                                         r"\(row 26, column 3\) needs at least 173x196"):
        celeba.load_images(tmp_path, ["small.jpg"], BOX128, 128)
    out = celeba.load_images(tmp_path, ["small.jpg"], CENTRE, 32)  # centre crop pads a small photo
    assert out.shape == (1, 32, 32, 3) and np.isfinite(out).all()


def test_make_dataset_batches_and_flips(synth):
    attrs = celeba.read_attributes(synth / "list_attr_celeba.txt")
    labels = attrs.labels(["Male", "Young"])
    image_dir = synth / "img_align_celeba"
    ds = celeba.make_dataset(image_dir, attrs.files[:8], labels[:8], CENTRE, 32, batch_size=8,
                             training=False, repeat=False)
    (x, y), = list(ds)
    assert x.shape == (8, 32, 32, 3) and y.shape == (8, 2)
    np.testing.assert_array_equal(y.numpy(), labels[:8])
    np.testing.assert_allclose(x.numpy(), celeba.load_images(image_dir, attrs.files[:8], CENTRE, 32),
                               atol=1e-5)
    assert ds.image_check.count == 0 and ds.image_check.checked == 8

    def training_batches(seed):
        ds = celeba.make_dataset(image_dir, attrs.files[:8], labels[:8], CENTRE, 32, batch_size=8,
                                 training=True, repeat=True, seed=seed, cache=True)
        return [(x.numpy(), y.numpy()) for x, y in ds.take(4)]

    ref = celeba.load_images(image_dir, attrs.files[:8], CENTRE, 32)
    first = training_batches(1)
    flips = []
    for x, y in first:  # each training image appears once per batch, flipped or not
        for img, lab in zip(x, y):
            i = next(k for k in range(8) if np.allclose(img, ref[k], atol=1e-5)
                     or np.allclose(img, ref[k][:, ::-1], atol=1e-5))
            np.testing.assert_array_equal(lab, labels[i])
            flips.append(not np.allclose(img, ref[i], atol=1e-5))
    assert 0 < sum(flips) < len(flips)
    # the flip is stateless, decided by (seed, element number): a second pipeline with the same
    # seed (another run, or a resume rebuilding it) gives the same batches, flips included (before,
    # a stateful random op in a parallel map flipped differently in every run)
    for (x1, y1), (x2, y2) in zip(first, training_batches(1)):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)


def test_corrupt_image_is_skipped_warned_and_counted(synth, tmp_path):
    attrs = celeba.read_attributes(synth / "list_attr_celeba.txt")
    image_dir = tmp_path / "img_align_celeba"
    image_dir.mkdir()
    files = list(attrs.files[:6])
    for name in files:
        (image_dir / name).write_bytes((synth / "img_align_celeba" / name).read_bytes())
    data = (image_dir / files[2]).read_bytes()
    (image_dir / files[2]).write_bytes(data[: len(data) // 2])  # truncated download
    (image_dir / files[4]).write_bytes(b"<html>not found</html>")
    with pytest.warns(UserWarning) as record:
        ds = celeba.make_dataset(image_dir, files, attrs.labels(["Male"])[:6], BOX64, 64, batch_size=2,
                                 training=False, repeat=False, drop_remainder=False)
    warned = " ".join(str(w.message) for w in record)
    assert files[2] in warned and files[4] in warned and files[0] not in warned
    assert ds.image_check.count == 2 and ds.image_check.skipped == [files[2], files[4]]
    assert sum(int(x.shape[0]) for x, _ in ds) == 4
    with pytest.raises(UserError, match="no readable images"):
        celeba.make_dataset(image_dir, [files[2]], np.zeros((1, 1)), BOX64, 64, batch_size=1)


def test_synthetic_cli_bad_arguments_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "common_tools.synthetic", "faces", "--out",
                           str(tmp_path / "x"), "--num", "0"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0
    assert "--num must be at least 1" in proc.stderr and not (tmp_path / "x").exists()


# ---- probe findings: malformed rows, garbage-bodied JPEGs ------------------------------------------

def test_malformed_row_gives_the_real_value_count_file_and_line(tmp_path, synth):
    text = (synth / "list_attr_celeba.txt").read_text().splitlines()
    bad = tmp_path / "list_attr_celeba.txt"
    name, *values = text[5].split()
    assert len(values) == 40
    for kept, expected in ((39, "got 39 values after '000004.jpg'"), (41, "got 41 values after '000004.jpg'")):
        row = " ".join([name] + (values + ["1"])[:kept])
        bad.write_text("\n".join(text[:5] + [row] + text[6:]) + "\n")
        message = _one_line_error(celeba.read_attributes, bad)
        assert message.startswith(f"{bad} line 6: expected a file name and 40 values")
        assert expected in message, message
    bad.write_text("\n".join(text[:5] + [" ".join(values)] + text[6:]) + "\n")  # the file name is missing
    assert "line 6" in (m := _one_line_error(celeba.read_attributes, bad)) and "40 values and no file name" in m
    bad.write_text("\n".join(text[:5] + [""] + text[6:]) + "\n")
    assert "line 6" in (m := _one_line_error(celeba.read_attributes, bad)) and "empty line" in m


def _garbage_jpeg(path, seed=0):
    """A JPEG that passes the up-front check (SOI + APP0 header, EOI at the end) over a random body."""
    body = np.random.default_rng(seed).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + body + b"\xff\xd9")
    assert celeba._image_problem(str(path)) is None  # the cheap check cannot see it


def _folder_with_garbage(synth, root, garbage):
    attrs = celeba.read_attributes(synth / "list_attr_celeba.txt")
    image_dir = root / "img_align_celeba"
    image_dir.mkdir()
    files = list(attrs.files[:10])
    for name in files:
        (image_dir / name).write_bytes((synth / "img_align_celeba" / name).read_bytes())
    for i in garbage:
        _garbage_jpeg(image_dir / files[i], seed=i)
    return image_dir, files, np.arange(len(files), dtype=np.float32)[:, None]


def test_load_images_names_a_garbage_bodied_jpeg_in_one_line(synth, tmp_path):
    image_dir, files, _ = _folder_with_garbage(synth, tmp_path, [3])
    message = _one_line_error(celeba.load_images, image_dir, files[:5], BOX64, 64)
    assert message.startswith(f"cannot load image {image_dir / files[3]}: corrupt image data")
    assert "function_node" not in message and "Op:" not in message and "DecodeJpeg" not in message


@pytest.mark.parametrize("cache", [False, True])
def test_pipeline_skips_garbage_bodied_jpegs_naming_them(synth, tmp_path, cache):
    garbage = [2, 3, 9]  # two in a row, and the last one listed
    image_dir, files, labels = _folder_with_garbage(synth, tmp_path, garbage)
    with pytest.warns(UserWarning) as record:
        ds = celeba.make_dataset(image_dir, files, labels, BOX64, 32, batch_size=3, training=True,
                                 repeat=False, seed=0, drop_remainder=False, cache=cache)
        assert ds.image_check.count == 0  # only the decoder finds them
        seen = sorted(int(v) for _, y in ds for v in y.numpy()[:, 0])
    assert seen == [i for i in range(10) if i not in garbage]
    warned = [str(w.message) for w in record]
    for i in garbage:
        assert any(str(image_dir / files[i]) in m and "corrupt image data" in m for m in warned), warned
    assert sorted(ds.image_check.skipped) == [files[i] for i in garbage]
    assert set(ds.image_check.reasons) == {files[i] for i in garbage}
    ref = celeba.load_images(image_dir, [files[0]], BOX64, 32)  # flip=False: training leaves images as they are
    x0 = next(x[k] for x, y in ds for k in range(len(y)) if int(y[k, 0]) == 0)
    np.testing.assert_allclose(x0.numpy(), ref[0], atol=1e-5)


def test_repeating_pipeline_names_a_garbage_jpeg_once(synth, tmp_path):
    image_dir, files, labels = _folder_with_garbage(synth, tmp_path, [5])
    with pytest.warns(UserWarning) as record:
        ds = celeba.make_dataset(image_dir, files, labels, BOX64, 32, batch_size=4, training=True, seed=1)
        seen = [int(v) for _, y in ds.take(6) for v in y.numpy()[:, 0]]  # 24 images: over two epochs
    assert 5 not in seen and len(seen) == 24
    assert sum(files[5] in str(w.message) for w in record) == 1 and ds.image_check.skipped == [files[5]]


# ---- specs: preprocessing, splits, conflicts --------------------------------------------------------

def test_preprocess_specs_validate_and_round_trip():
    for bad in (lambda: celeba.Preprocess(crop=(26, 3, 170)),
                lambda: celeba.Preprocess(crop=celeba.CenterCrop(178), resize="lanczos"),
                lambda: celeba.Crop(-1, 0, 10), lambda: celeba.CenterCrop(0),
                lambda: celeba.Preprocess.from_dict({"crop": {"kind": "circle"}})):
        with pytest.raises(UserError) as err:
            bad()
        assert "\n" not in str(err.value)
    for spec in (BOX128, BOX64, CENTRE):
        assert celeba.Preprocess.from_dict(json_round_trip(spec.to_dict())) == spec
    # the box of a 148-px crop at (40, 15) inside a centred 178 square of a 178x218 photo
    box = celeba.crop_box(BOX64.crop, CENTRE.crop)
    assert box == pytest.approx(((40 - 20) / 178, 15 / 178, (40 - 20 + 148) / 178, (15 + 148) / 178))
    assert celeba.CenterCrop(178).offset((218, 178)) == (20, 0)
    assert celeba.CenterCrop(200).offset((218, 178)) == (9, -11)  # padded sideways


def json_round_trip(d):
    import json

    return json.loads(json.dumps(d))


def test_split_specs(synth):
    files = [f"{i:06d}.jpg" for i in range(1, 101)]
    train, test = celeba.SeededSplit(seed=7, n_test=30, max_test_fraction=0.1).train_test(files)
    ref_train, ref_test = celeba.seeded_split(100, seed=7, n_test=10)  # capped at a tenth
    assert test.tolist() == ref_test.tolist() and train.tolist() == ref_train.tolist()
    attrs = celeba.read_attributes(synth / "list_attr_celeba.txt")
    train, test = celeba.PartitionSplit().train_test(attrs.files, synth)  # its list_eval_partition.txt
    parts = celeba.partition_split(attrs.files, synth / "list_eval_partition.txt")
    assert train.tolist() == parts["train"].tolist() and test.tolist() == parts["test"].tolist()
    ranges = (("train", 1, 60), ("test", 61, 100))
    train, test = celeba.PartitionSplit(ranges=ranges).train_test(files, "/nonexistent")  # no file: by number
    assert train.tolist() == list(range(60)) and test.tolist() == list(range(60, 100))
    parts = celeba.partition_split(files, ranges={"a": (1, 10), "b": (11, 20)})
    assert parts["a"].tolist() == list(range(10)) and parts["b"].tolist() == list(range(10, 20))
    for spec in (celeba.SeededSplit(), celeba.PartitionSplit(), celeba.PartitionSplit(ranges=ranges)):
        assert celeba.split_from_dict(json_round_trip(spec.to_dict())) == spec
    with pytest.raises(UserError, match="split description"):
        celeba.split_from_dict("stgan")


def test_resolve_conflicts_follows_the_celeba_rules():
    names = ["Bald", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair", "Receding_Hairline", "Male"]
    a = np.array([[0, 1, 1, 0, 0, 1, 1], [0, 1, 0, 1, 0, 0, 0]], np.float32)
    b = a.copy()
    b[:, 0] = 1  # make both bald: bangs go
    out = celeba.resolve_conflicts(b, "Bald", names)
    assert out[:, 1].tolist() == [0, 0] and out[:, 2:].tolist() == b[:, 2:].tolist()
    b = a.copy()
    b[:, 3] = 1  # blond: the other hair colours go, only where blond is 1
    out = celeba.resolve_conflicts(b, "Blond_Hair", names)
    assert out[:, 2].tolist() == [0, 0] and out[:, 4].tolist() == [0, 0] and out[:, 1].tolist() == [1, 1]
    b = a.copy()
    b[0, 1] = 1  # bangs on: bald and receding hairline go
    out = celeba.resolve_conflicts(b, "Bangs", names)
    assert out[0, 0] == 0 and out[0, 5] == 0 and out[0, 6] == 1
    b = a.copy()
    b[:, 0] = 1  # the hair-colour rule alone leaves bangs
    out = celeba.resolve_conflicts(b, "Bald", names, celeba.HAIR_COLOUR_CONFLICTS)
    assert out.tolist() == b.tolist()
    assert celeba.resolve_conflicts(a, "Male", names).tolist() == a.tolist() and a[0, 1] == 1  # a copy
    with pytest.raises(UserError, match="unknown attribute"):
        celeba.resolve_conflicts(a, "Wavy_Hair", names)
