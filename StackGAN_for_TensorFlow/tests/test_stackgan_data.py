"""Data: preprocess_birds on the CUB layout (boxes, the square crop, 76/19 px pickles), the
reference's pickles through safe_pickle (malicious, truncated, wrong shape), the training batches
(crops, flips, wrong images, 4-of-10 caption averaging), preprocess_flowers."""

import os
import pickle
import shutil

import numpy as np
import pytest
from PIL import Image

from common_tools import safe_pickle
from common_tools.errors import UserError
from stackgan import data
from stackgan.config import StackGANConfig


def copy_data(synthbirds, tmp_path):
    dst = tmp_path / "birds"
    shutil.copytree(synthbirds["data_dir"], dst)
    return str(dst)


def test_preprocess_writes_the_square_box_crops(synthbirds):
    train = data.load_split(synthbirds["data_dir"], "train", load_size=76)
    assert train.images.shape == (9, 76, 76, 3) and train.images.dtype == np.uint8
    small = data.load_split(synthbirds["data_dir"], "train", load_size=19).images
    assert small.shape == (9, 19, 19, 3)
    # row 0, recomputed from CUB's files by hand: box centre, R = int(0.75 max(w, h)), clipped
    cub = synthbirds["cub_dir"]
    ids = dict(line.split() for line in open(os.path.join(cub, "images.txt")))
    boxes = {l.split()[0]: [int(float(v)) for v in l.split()[1:]]
             for l in open(os.path.join(cub, "bounding_boxes.txt"))}
    key = train.filenames[0]
    image_id = next(i for i, name in ids.items() if name == key + ".jpg")
    x, y, w, h = boxes[image_id]
    img = np.asarray(Image.open(os.path.join(cub, "images", key + ".jpg")).convert("RGB"))
    r, cx, cy = int(0.75 * max(w, h)), (2 * x + w) // 2, (2 * y + h) // 2
    crop = img[max(0, cy - r):min(img.shape[0], cy + r), max(0, cx - r):min(img.shape[1], cx + r)]
    expected = np.asarray(Image.fromarray(crop).resize((76, 76), Image.BICUBIC))
    np.testing.assert_array_equal(train.images[0], expected)
    assert np.abs(small[0].astype(int) - np.asarray(Image.fromarray(expected).resize(
        (19, 19), Image.BICUBIC)).astype(int)).max() == 0
    # the pickles are plain protocol-2 lists of arrays, as the reference's
    raw = safe_pickle.load(os.path.join(synthbirds["data_dir"], "train", "76images.pickle"), "latin1")
    assert isinstance(raw, list) and len(raw) == 9


def test_square_crop_is_clipped_at_the_border():
    img = np.zeros((100, 200, 3), np.uint8)
    assert data.square_crop(img, (10, 20, 40, 30)).shape == (60, 60, 3)     # centre (30, 35), R 30
    assert data.square_crop(img, (0, 0, 40, 20)).shape == (40, 50, 3)       # centre (20, 10): clipped


def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(synthbirds, tmp_path):
    data_dir = copy_data(synthbirds, tmp_path)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with open(os.path.join(data_dir, "train", "class_info.pickle"), "wb") as f:
        pickle.dump(Evil(), f, protocol=2)
    with pytest.raises(UserError, match=r"class_info.pickle: refused to load (posix|os)\.system") as err:
        data.load_split(data_dir, "train", StackGANConfig.tiny())
    assert "\n" not in str(err.value) and not marker.exists()


def test_truncated_and_wrong_shaped_pickles_are_one_line(synthbirds, tmp_path):
    data_dir = copy_data(synthbirds, tmp_path)
    path = os.path.join(data_dir, "train", "char-CNN-RNN-embeddings.pickle")
    emb = safe_pickle.load(path, "latin1")
    with open(path, "wb") as f:
        pickle.dump(emb[:, :, :512], f, protocol=2)
    with pytest.raises(UserError, match=r"embeddings of shape \[9, 10, 512\], expected \[N, 10, 1024\]"):
        data.load_split(data_dir, "train", StackGANConfig.tiny())
    blob = pickle.dumps(emb, protocol=2)
    with open(path, "wb") as f:
        f.write(blob[: len(blob) // 2])
    with pytest.raises(UserError, match="not a readable pickle"):
        data.load_split(data_dir, "train", StackGANConfig.tiny())
    with open(path, "wb") as f:
        pickle.dump(emb[:5], f, protocol=2)
    with pytest.raises(UserError, match="9 file names for 5 embeddings"):
        data.load_split(data_dir, "train", StackGANConfig.tiny())
    os.remove(os.path.join(data_dir, "test", "19images.pickle"))
    with pytest.raises(UserError, match="19images.pickle not found: run misc/preprocess_birds.py"):
        data.load_split(data_dir, "test", StackGANConfig.tiny())


def test_preprocess_refuses_a_broken_cub_folder(synthbirds, tmp_path):
    data_dir = copy_data(synthbirds, tmp_path)
    cub = str(tmp_path / "CUB_200_2011")
    shutil.copytree(synthbirds["cub_dir"], cub)
    for name in ("76images.pickle", "19images.pickle"):
        os.remove(os.path.join(data_dir, "train", name))
    key = data.load_split(data_dir, "train", images=False).filenames[2]
    os.remove(os.path.join(cub, "images", key + ".jpg"))
    with pytest.raises(UserError, match=f"1 of the 9 images .* e.g. .*{os.path.basename(key)}.jpg "
                                        r"\(missing\); nothing written"):
        data.preprocess_birds(data_dir, cub, load_size=76, say=lambda m: None)
    assert not os.path.exists(os.path.join(data_dir, "train", "76images.pickle"))
    os.remove(os.path.join(cub, "bounding_boxes.txt"))
    with pytest.raises(UserError, match="bounding_boxes.txt not found"):
        data.preprocess_birds(data_dir, cub, load_size=76, say=lambda m: None)


def test_batches_crop_flip_wrong_images_and_caption_means(synthbirds):
    cfg = StackGANConfig.tiny()                                   # 16 px crops of 19 px
    split = data.load_split(synthbirds["data_dir"], "train", cfg)
    n, k, d = split.embeddings.shape
    # captions made recognisable: caption j of image i is (i + 1) at position j, 0 elsewhere
    split.embeddings = np.zeros((n, k, d), np.float32)
    for i in range(n):
        split.embeddings[i, np.arange(k), np.arange(k)] = i + 1
    batches = data.Batches(split, cfg, seed=0)
    assert batches.per_epoch == 4                                 # int(9 / 2): the last one dropped
    seen_flip = seen_plain = False
    for _ in range(8):
        images, wrong, emb = next(batches)
        assert images.shape == wrong.shape == (2, 16, 16, 3) and emb.shape == (2, d)
        assert images.min() >= -1 and images.max() <= 1
        for b in range(2):
            value = emb[b][emb[b] > 0]
            assert len(value) == 4 and np.allclose(value, value[0])   # 4 distinct of 10 averaged
            i = int(round(value[0] * 4)) - 1
            src = split.images[i].astype(np.float32) * (2 / 255) - 1
            windows = [src[y:y + 16, x:x + 16] for y in range(4) for x in range(4)]
            plain = any(np.allclose(images[b], w_) for w_ in windows)
            flipped = any(np.allclose(images[b], w_[:, ::-1]) for w_ in windows)
            assert plain or flipped
            seen_plain |= plain
            seen_flip |= flipped and not plain
    assert seen_plain and seen_flip
    ids = np.arange(9)
    wrong_ids = batches.wrong_ids(ids)
    assert (split.class_id[wrong_ids] != split.class_id[ids]).all()


def test_preprocess_flowers_resizes_whole_images(tmp_path):
    root = tmp_path / "flowers"
    (root / "jpg").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, names in (("train", ["jpg/image_00001", "jpg/image_00002"]), ("test", ["jpg/image_00003"])):
        (root / split).mkdir()
        with open(root / split / "filenames.pickle", "wb") as f:
            pickle.dump(names, f, protocol=2)
        for name in names:
            Image.fromarray(rng.integers(0, 255, (50, 70, 3), dtype=np.uint8)).save(root / (name + ".jpg"))
    written = data.preprocess_flowers(str(root), load_size=76, say=lambda m: None)
    assert len(written) == 4
    images = safe_pickle.load(str(root / "train" / "76images.pickle"), "latin1")
    whole = np.asarray(Image.open(root / "jpg" / "image_00002.jpg").convert("RGB").resize((76, 76), Image.BICUBIC))
    np.testing.assert_array_equal(images[1], whole)
    assert safe_pickle.load(str(root / "test" / "19images.pickle"), "latin1")[0].shape == (19, 19, 3)
