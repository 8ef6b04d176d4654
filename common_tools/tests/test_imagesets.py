import gzip
import io
import os
import pickle
import struct
import sys
import types

import numpy as np
import pytest

from common_tools import imagesets
from common_tools.errors import UserError


def one_line_naming(exc_info, path) -> str:
    message = str(exc_info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


# ---- IDX ------------------------------------------------------------------------------------------

def test_idx_header_bytes_are_exactly_mnists():
    header = imagesets.idx_bytes(np.zeros((2, 3, 4), np.uint8))[:16]
    assert header == bytes.fromhex("00000803 00000002 00000003 00000004")
    assert imagesets.idx_bytes(np.arange(5, dtype=np.uint8)) == bytes.fromhex("00000801 00000005 0001020304")
    # other types are big-endian with their type byte
    assert imagesets.idx_bytes(np.array([1, 258], np.int16)) == bytes.fromhex("00000b01 00000002 0001 0102")
    assert imagesets.idx_bytes(np.array([1.0], np.float32)) == bytes.fromhex("00000d01 00000001 3f800000")
    with pytest.raises(UserError, match="uint8"):
        imagesets.idx_bytes(np.zeros(3, np.uint64))


@pytest.mark.parametrize("name", ["a-idx3-ubyte.gz", "a-idx3-ubyte"])
@pytest.mark.parametrize("array", [
    np.arange(2 * 5 * 7, dtype=np.uint8).reshape(2, 5, 7),
    np.array([-3, 0, 70000], np.int32),
    np.linspace(-1, 1, 12, dtype=np.float64).reshape(3, 4),
])
def test_idx_round_trip_plain_and_gzip(tmp_path, name, array):
    path = imagesets.write_idx(tmp_path / name, array)
    assert (open(path, "rb").read(2) == b"\x1f\x8b") == name.endswith(".gz")
    back = imagesets.read_idx(path)
    assert back.dtype == array.dtype and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def _hand_written_idx(magic: int, dims, payload: bytes) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload


def test_reader_loads_a_hand_written_idx_folder(tmp_path):
    """Plain (not gzipped) files in torchvision's MNIST/raw layout, written byte by byte."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    pixels = bytes(range(256)) * 6 + bytes(2 * 28 * 28 - 256 * 6)
    (raw / "train-images-idx3-ubyte").write_bytes(_hand_written_idx(2051, (2, 28, 28), pixels))
    (raw / "train-labels-idx1-ubyte").write_bytes(_hand_written_idx(2049, (2,), b"\x07\x03"))
    x, y = imagesets.load_mnist(tmp_path, "train")
    assert x.shape == (2, 28, 28) and x.dtype == np.uint8
    assert x[0, 0, :5].tolist() == [0, 1, 2, 3, 4] and x[0, 9, 4] == (9 * 28 + 4) % 256
    assert y.tolist() == [7, 3]
    assert imagesets.find_dataset(tmp_path, "fashion_mnist").root == str(raw)
    with pytest.raises(UserError) as exc:  # the test split is not there: say which file
        imagesets.load_mnist(tmp_path, "test")
    assert "t10k-images-idx3-ubyte" in one_line_naming(exc, tmp_path)


def test_truncated_and_bad_files_are_one_line_naming_the_file(tmp_path):
    good = imagesets.idx_bytes(np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8))
    packed = gzip.compress(good)
    cases = {
        "short-idx3-ubyte": (good[:-10], "truncated"),
        "header-idx3-ubyte": (good[:9], "truncated IDX header"),
        "magic-idx3-ubyte": (b"\x12\x34" + good[2:], "magic"),
        "type-idx3-ubyte": (b"\x00\x00\x07\x03" + good[4:], "magic"),
        "long-idx3-ubyte": (good + b"\x00" * 3, "unexpected bytes"),
        "cut-idx3-ubyte.gz": (packed[:len(packed) // 2], "gzip"),
        "empty-idx3-ubyte": (b"", "not an IDX file"),
    }
    for name, (data, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(UserError) as exc:
            imagesets.read_idx(path)
        assert expected in one_line_naming(exc, path), name
    with pytest.raises(UserError) as exc:
        imagesets.read_idx(tmp_path / "absent-idx1-ubyte")
    one_line_naming(exc, tmp_path / "absent-idx1-ubyte")


def test_load_mnist_checks_images_against_labels(tmp_path):
    imagesets.write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((4, 28, 28), np.uint8))
    imagesets.write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(UserError, match="3 labels for the 4 images"):
        imagesets.load_mnist(tmp_path, "test")
    imagesets.write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros((4, 2), np.uint8))
    with pytest.raises(UserError, match=r"expected uint8 labels \[N\]"):
        imagesets.load_mnist(tmp_path, "test")
    with pytest.raises(UserError, match="unknown split"):
        imagesets.load_mnist(tmp_path, "val")


# ---- CIFAR-10 --------------------------------------------------------------------------------------

class _Python2Pickler(pickle._Pickler):
    """Writes bytes as Python-2 ``str`` opcodes, as the CIFAR-10 release was pickled."""

    def save_bytes(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<I", len(obj)) + obj)
        self.memoize(obj)

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[bytes] = save_bytes


def _py2_dumps(obj) -> bytes:
    buf = io.BytesIO()
    _Python2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def _batch(images: np.ndarray, labels, py2: bool = False) -> bytes:
    """A batch in the CIFAR-10 layout: planar rows of 1024 R, 1024 G, 1024 B per image."""
    data = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    batch = {b"batch_label": b"training batch", b"labels": list(map(int, labels)), b"data": data,
             b"filenames": [b"img_%d.png" % i for i in range(len(images))]}
    return _py2_dumps(batch) if py2 else pickle.dumps(batch, protocol=2)


@pytest.fixture()
def cifar(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    truth = {}
    for i, name in enumerate(["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
                              "test_batch"]):
        images = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, 3)
        (root / name).write_bytes(_batch(images, labels, py2=name in ("data_batch_2", "test_batch")))
        truth[name] = images, labels
    return tmp_path, truth


def test_cifar10_batches_in_the_real_pickle_layout_load(cifar):
    folder, truth = cifar
    x, y = imagesets.load_cifar10(folder, "train")
    assert x.shape == (15, 32, 32, 3) and x.dtype == np.uint8 and y.dtype == np.uint8
    np.testing.assert_array_equal(x, np.concatenate([truth[f"data_batch_{i}"][0] for i in range(1, 6)]))
    np.testing.assert_array_equal(y, np.concatenate([truth[f"data_batch_{i}"][1] for i in range(1, 6)]))
    xt, yt = imagesets.load_dataset(folder / "cifar-10-batches-py", "cifar10", "test")  # the folder itself
    np.testing.assert_array_equal(xt, truth["test_batch"][0])
    np.testing.assert_array_equal(yt, truth["test_batch"][1])
    assert pickle.SHORT_BINSTRING + b"\x01k" in _py2_dumps({b"k": 1})  # really Python-2 str opcodes


class _Hostile:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # unpickling would call os.makedirs(marker)
        return os.makedirs, (self.marker,)


def test_a_hostile_pickle_is_refused_and_nothing_runs(cifar):
    folder, _ = cifar
    marker = folder / "pwned"
    path = folder / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(pickle.dumps({b"data": _Hostile(str(marker)), b"labels": [0]}, protocol=2))
    with pytest.raises(UserError) as exc:
        imagesets.load_cifar10(folder, "train")
    assert "refused" in one_line_naming(exc, path)
    assert not marker.exists()


def test_cifar10_batches_with_wrong_content_name_the_file(cifar):
    folder, _ = cifar
    path = folder / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, protocol=2))
    with pytest.raises(UserError) as exc:
        imagesets.load_cifar10(folder, "test")
    assert "3072" in one_line_naming(exc, path)
    path.write_bytes(pickle.dumps({"images": []}))
    with pytest.raises(UserError) as exc:
        imagesets.load_cifar10(folder, "test")
    assert "'data' and 'labels'" in one_line_naming(exc, path)
    os.remove(folder / "cifar-10-batches-py" / "data_batch_4")
    with pytest.raises(UserError) as exc:
        imagesets.load_cifar10(folder, "train")
    assert "data_batch_4" in str(exc.value)


# ---- finding a data set, tensorflow_datasets --------------------------------------------------------

def test_find_dataset_says_what_it_expected(tmp_path):
    with pytest.raises(UserError) as exc:
        imagesets.find_dataset(tmp_path, "mnist")
    message = one_line_naming(exc, tmp_path)
    assert "train-images-idx3-ubyte.gz" in message and "tensorflow_datasets" in message
    with pytest.raises(UserError) as exc:
        imagesets.find_dataset(tmp_path, "cifar10")
    assert "cifar-10-batches-py" in one_line_naming(exc, tmp_path)
    with pytest.raises(UserError, match="unknown data set 'svhn'"):
        imagesets.find_dataset(tmp_path, "svhn")
    with pytest.raises(UserError) as exc:
        imagesets.load_dataset(tmp_path / "nowhere", "mnist")
    one_line_naming(exc, tmp_path / "nowhere")


def _tfds_folder(tmp_path):
    version = tmp_path / "mnist" / "3.0.1"
    version.mkdir(parents=True)
    (version / "dataset_info.json").write_text("{}")
    return tmp_path


def test_tfds_folder_without_the_package_is_one_clear_line(tmp_path, monkeypatch):
    folder = _tfds_folder(tmp_path)
    assert imagesets.find_dataset(folder, "mnist").layout == "tfds"
    assert imagesets.find_dataset(folder / "mnist", "mnist").root == str(folder)  # the data set's own folder
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # import fails
    with pytest.raises(UserError) as exc:
        imagesets.load_dataset(folder, "mnist", "train")
    assert "tensorflow_datasets is not installed" in one_line_naming(exc, folder)


def test_tfds_folder_is_read_with_download_disabled(tmp_path, monkeypatch):
    folder = _tfds_folder(tmp_path)
    calls = []
    images = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28, 1).astype(np.uint8)

    class Builder:
        def download_and_prepare(self, *a, **k):  # pragma: no cover - must not be called
            raise AssertionError("downloaded")

        def as_dataset(self, split, as_supervised, batch_size):
            calls.append(("as_dataset", split, as_supervised, batch_size))
            if split != "train":
                raise AssertionError(f"Dataset mnist: could not find data in {folder}")
            return images, np.array([4, 5, 6], np.int64)

    fake = types.ModuleType("tensorflow_datasets")
    fake.builder = lambda name, data_dir: calls.append(("builder", name, data_dir)) or Builder()
    fake.as_numpy = lambda data: data
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake)
    x, y = imagesets.load_dataset(folder, "mnist", "train")
    assert x.shape == (3, 28, 28) and y.tolist() == [4, 5, 6] and y.dtype == np.uint8
    np.testing.assert_array_equal(x, images[..., 0])
    assert calls == [("builder", "mnist", str(folder)), ("as_dataset", "train", True, -1)]
    with pytest.raises(UserError) as exc:
        imagesets.load_dataset(folder, "mnist", "test")
    assert "without downloading" in one_line_naming(exc, folder)


# ---- tf.data ---------------------------------------------------------------------------------------

def test_image_dataset_scales_resizes_batches_and_shuffles():
    images = np.zeros((10, 28, 28), np.uint8)
    images[:, :, :14] = 255
    images[3] = 255
    labels = np.arange(10, dtype=np.uint8)
    batches = list(imagesets.image_dataset(images, labels, image_size=32, batch_size=4, training=False))
    assert len(batches) == 2  # drop_remainder
    x, y = batches[0]
    assert x.shape == (4, 32, 32, 1) and x.dtype.name == "float32" and y.dtype.name == "int32"
    assert y.numpy().tolist() == [0, 1, 2, 3]
    assert float(x.numpy().min()) == 0.0 and float(x.numpy().max()) == 1.0
    np.testing.assert_allclose(x.numpy()[3], 1.0)           # an all-white image stays exactly 1
    np.testing.assert_allclose(x.numpy()[0, :, :15], 1.0)   # the left half stays white after the resize
    np.testing.assert_allclose(x.numpy()[0, :, 17:], 0.0)
    shuffled = np.concatenate([b[1].numpy() for b in imagesets.image_dataset(
        images, labels, batch_size=5, training=True, seed=1)])
    assert sorted(shuffled.tolist()) == list(range(10)) and shuffled.tolist() != list(range(10))
    with pytest.raises(UserError, match="no whole batch"):
        imagesets.image_dataset(images, labels, batch_size=256)
