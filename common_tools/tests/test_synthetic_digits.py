import gzip

import numpy as np
import pytest
from PIL import Image

from common_tools import imagesets
from common_tools.errors import UserError
from common_tools.synthetic import GENERATORS, digits
from common_tools.synthetic.__main__ import main as cli_main

FILES = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
         "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen") / "synthdigits"
    digits.generate(root, 200, seed=0, num_test=50)
    return root


def test_writes_the_four_mnist_files_with_exact_idx_headers(generated):
    assert sorted(p.name for p in generated.iterdir()) == FILES
    heads = {}
    for name in FILES:
        raw = (generated / name).read_bytes()
        assert raw[:2] == b"\x1f\x8b"  # gzip, as MNIST ships
        heads[name] = gzip.decompress(raw)
    # magic 2051 = 00 00 08 03, then N, 28, 28 big-endian; magic 2049 = 00 00 08 01, then N
    assert heads["train-images-idx3-ubyte.gz"][:16] == bytes.fromhex("00000803 000000c8 0000001c 0000001c")
    assert heads["train-labels-idx1-ubyte.gz"][:8] == bytes.fromhex("00000801 000000c8")
    assert heads["t10k-images-idx3-ubyte.gz"][:16] == bytes.fromhex("00000803 00000032 0000001c 0000001c")
    assert heads["t10k-labels-idx1-ubyte.gz"][:8] == bytes.fromhex("00000801 00000032")
    assert len(heads["train-images-idx3-ubyte.gz"]) == 16 + 200 * 28 * 28
    assert len(heads["t10k-labels-idx1-ubyte.gz"]) == 8 + 50


def test_the_mnist_reader_loads_them_balanced_and_28x28(generated):
    x, y = imagesets.load_mnist(generated, "train")
    xt, yt = imagesets.load_mnist(generated, "test")
    assert x.shape == (200, 28, 28) and x.dtype == np.uint8 and y.shape == (200,) and y.dtype == np.uint8
    assert xt.shape == (50, 28, 28) and yt.shape == (50,)
    assert np.bincount(y, minlength=10).tolist() == [20] * 10
    assert np.bincount(yt, minlength=10).tolist() == [5] * 10
    assert sorted(y[:10].tolist()) == list(range(10))  # every block of 10 holds each digit once
    assert y[:10].tolist() != list(range(10))           # ... in random order
    # white ink on a mostly exactly-black background, every image drawn
    assert (x == 0).mean() > 0.5
    assert (x.reshape(200, -1).max(1) >= 180).all()
    assert ((x > 128).reshape(200, -1).sum(1) >= 15).all()
    assert not np.array_equal(x[:50], xt)
    source = imagesets.find_dataset(generated, "mnist")
    assert (source.layout, source.root) == ("idx", str(generated))


def test_deterministic_per_seed_and_a_prefix_of_a_longer_run(tmp_path, generated):
    digits.generate(tmp_path / "again", 200, seed=0, num_test=50)
    digits.generate(tmp_path / "other", 200, seed=1, num_test=50)
    for name in FILES:
        assert (tmp_path / "again" / name).read_bytes() == (generated / name).read_bytes()
    assert (tmp_path / "other" / FILES[2]).read_bytes() != (generated / FILES[2]).read_bytes()
    x, y = imagesets.load_mnist(generated, "train")
    x30, y30 = digits.digits(0, 30)
    np.testing.assert_array_equal(x30, x[:30])
    np.testing.assert_array_equal(y30, y[:30])
    x_long, _ = digits.digits(0, 1200)  # crosses a chunk: the first chunk is unchanged
    np.testing.assert_array_equal(x_long[:200], x)
    assert not np.array_equal(x_long[1000:1010], x_long[:10])


def test_digits_differ_visibly_by_class():
    """A nearest-class-mean classifier fit on the train split scores far above chance on the test split."""
    x, y = digits.digits(0, 2000, "train")
    xt, yt = digits.digits(0, 500, "test")
    flat = x.reshape(len(x), -1).astype(np.float32) / 255
    test = xt.reshape(len(xt), -1).astype(np.float32) / 255
    means = np.stack([flat[y == k].mean(0) for k in range(10)])
    pred = ((test[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
    accuracy = (pred == yt).mean()
    assert accuracy > 0.6, accuracy  # chance is 0.1; measured ~0.75
    per_class = [(pred[yt == k] == k).mean() for k in range(10)]
    assert min(per_class) > 0.3, per_class


def test_draw_digits_follows_the_labels_not_the_stream():
    rng = np.random.default_rng(5)
    ones = digits.draw_digits([1] * 20, rng)
    eights = digits.draw_digits([8] * 20, np.random.default_rng(5))
    # same random style, different class: an 8 has much more ink than a 1
    assert (eights > 128).sum() > 1.5 * (ones > 128).sum()
    with pytest.raises(UserError, match="0..9"):
        digits.draw_digits([10], rng)


def test_cli_writes_the_data_set_and_rejects_bad_options(tmp_path, capsys):
    assert "digits" in GENERATORS and "digits-grid" in GENERATORS
    assert cli_main(["digits", "--out", str(tmp_path / "d"), "--num", "20", "--num_test", "10", "--seed", "3"]) == 0
    assert "digits: wrote" in capsys.readouterr().out
    x, y = imagesets.load_mnist(tmp_path / "d", "test")
    assert x.shape == (10, 28, 28) and sorted(y.tolist()) == list(range(10))
    with pytest.raises(UserError, match="--num"):
        cli_main(["digits", "--out", str(tmp_path / "e"), "--num", "0"])
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="not a folder"):
        digits.generate(tmp_path / "file", 10)


def test_grid_has_one_labelled_row_per_digit(tmp_path):
    out = digits.save_grid(tmp_path / "grid.png", seed=0, per_class=3, zoom=2)
    with Image.open(out) as img:
        assert img.format == "PNG"
        assert img.size == (22 + 3 * (56 + 2), 10 * (56 + 2))
