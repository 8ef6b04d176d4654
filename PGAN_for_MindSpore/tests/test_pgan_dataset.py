"""The face folder: the card's crop + bilinear resize + [-1, 1], the seeded position-addressed stream,
unreadable files left out and named, undecodable ones replaced, through the mindspore.dataset
pipeline (a batch read where the last one ended continues it, one read elsewhere restarts it)."""

import os

import numpy as np
import pytest
from PIL import Image

from common_tools.errors import UserError
from pgan.dataset import ImageFolder, image_dir


def _photo(path, seed, size=(178, 218)):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path, quality=95)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "img_align_celeba"
    root.mkdir()
    for i in range(6):
        _photo(root / f"{i + 1:06d}.jpg", i)
    return tmp_path


def test_the_cards_crop_and_resize(folder):
    faces = ImageFolder(folder, seed=1)
    assert faces.root == str(folder / "img_align_celeba") and len(faces) == 6
    index = faces.indices(0, 1)[0]
    x = faces.batch(0, 1, 8)
    assert x.shape == (1, 3, 8, 8) and x.dtype == np.float32
    photo = np.asarray(Image.open(os.path.join(faces.root, faces.names[index])).convert("RGB"))
    box = photo[121 - 64:121 + 64, 89 - 64:89 + 64]                    # the card's Crop()
    expected = np.asarray(Image.fromarray(box).resize((8, 8), Image.BILINEAR), np.float32) / 127.5 - 1
    np.testing.assert_allclose(x[0].transpose(1, 2, 0), expected, atol=1e-6)


def test_stream_is_a_function_of_the_position(folder):
    a, b = ImageFolder(folder, seed=1), ImageFolder(folder, seed=1)
    np.testing.assert_array_equal(a.batch(4, 5, 4), b.batch(4, 5, 4))          # epochs 0 and 1
    first_epoch = a.indices(0, 6)
    assert sorted(first_epoch) == list(range(6))                                # each image once per epoch
    assert a.indices(6, 6) != first_epoch and sorted(a.indices(6, 6)) == list(range(6))
    assert ImageFolder(folder, seed=2).indices(0, 6) != first_epoch


def test_unreadable_files_are_left_out_and_named(folder):
    root = folder / "img_align_celeba"
    (root / "000007.jpg").write_bytes(b"")                                       # empty
    (root / "000008.jpg").write_bytes(b"not an image at all")                    # no signature
    with pytest.warns(UserWarning) as caught:
        faces = ImageFolder(folder, seed=1)
    assert len(faces) == 6 and sorted(faces.skipped) == ["000007.jpg", "000008.jpg"]
    assert any("000008.jpg" in str(w.message) for w in caught)
    assert "2 unreadable file(s) left out" in faces.describe()


def test_an_undecodable_image_is_named_and_replaced(folder):
    root = folder / "img_align_celeba"
    good = (root / "000001.jpg").read_bytes()
    (root / "000003.jpg").write_bytes(good[:200] + b"\x00" * 2000 + b"\xff\xd9")  # header ok, body garbage
    faces = ImageFolder(folder, seed=1)
    bad = faces.names.index("000003.jpg")
    position = faces.indices(0, 6).index(bad)
    with pytest.warns(UserWarning, match="000003.jpg"):
        x = faces.batch(0, 6, 4)
    assert x.shape == (6, 3, 4, 4) and np.isfinite(x).all()
    after = next(p for p in range(position + 1, 20) if faces.indices(p, 1)[0] != bad)  # the next of the stream
    np.testing.assert_array_equal(x[position], faces.batch(after, 1, 4)[0])


def test_small_images_are_centre_cropped(tmp_path, capsys):
    _photo(tmp_path / "a.png", 0, size=(40, 30))
    x = ImageFolder(tmp_path, seed=1).batch(0, 1, 4)
    assert x.shape == (1, 3, 4, 4)
    assert "centre-cropped" in capsys.readouterr().err


def test_bad_folders_are_one_line(tmp_path):
    with pytest.raises(UserError, match="is not a folder"):
        image_dir(tmp_path / "missing")
    with pytest.raises(UserError, match="no images in"):
        ImageFolder(tmp_path)


def test_the_pipeline_continues_and_restarts_at_the_position(folder):
    faces = ImageFolder(folder, seed=1, workers=2)
    running = [faces.batch(p, 4, 4) for p in (0, 4, 8, 12)]                     # one pipeline, read on
    assert faces._pipeline[:4] == (4, 4, 4, 16)
    fresh = ImageFolder(folder, seed=1, workers=1)
    for p, x in zip((12, 4, 8, 0), (running[3], running[1], running[2], running[0])):   # restarted each time
        np.testing.assert_array_equal(fresh.batch(p, 4, 4), x)
    assert not np.array_equal(running[0], running[1])
    strided = [faces.batch(p, 2, 4, stride=6) for p in (1, 7, 13)]             # a rank of a 3-way run
    for p, x in zip((1, 7, 13), strided):
        np.testing.assert_array_equal(fresh.batch(p, 2, 4), x)
    assert faces._pipeline[:4] == (4, 2, 6, 19)                                 # read on, not restarted
    faces.close()
    assert faces._pipeline is None


def test_a_folder_where_nothing_decodes_is_one_line(folder):
    root = folder / "img_align_celeba"
    good = (root / "000001.jpg").read_bytes()
    for path in root.iterdir():
        path.write_bytes(good[:200] + b"\x00" * 2000 + b"\xff\xd9")
    faces = ImageFolder(folder, seed=1)
    with pytest.warns(UserWarning), pytest.raises(UserError, match="no image in .* can be decoded"):
        faces.batch(0, 2, 4)
