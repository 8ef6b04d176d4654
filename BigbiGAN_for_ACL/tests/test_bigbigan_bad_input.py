"""Bad input, in this process (no training): each is one UserError line that names the file and
says what was expected. The same cases end to end through models/main.py (exit 2, no traceback)
are in test_bigbigan_scripts.py::TestCli; resume after SIGKILL and the non-finite stop are the
shared contracts (TestCli, test_bigbigan_training.py::TestDriverContract)."""

import gzip
import os
import pickle

import numpy as np
import pytest

from common_tools.errors import UserError
from common_tools.imagesets import write_idx

from bigbigan import data, offline
from bigbigan.config import BigBiGANConfig

CFG = BigBiGANConfig.tiny()
IDX = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _mnist(folder, n=8):
    os.makedirs(folder, exist_ok=True)
    images, labels = np.zeros((n, 28, 28), np.uint8), (np.arange(n) % 10).astype(np.uint8)
    for name, array in zip(IDX, (images, labels, images, labels)):
        write_idx(os.path.join(folder, name), array)
    return folder


def _one_line(exc):
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_truncated_idx_names_the_file_and_the_expected_size(tmp_path):
    d = _mnist(str(tmp_path / "m"))
    path = os.path.join(d, IDX[0])
    with open(path, "r+b") as f:
        f.truncate(16 + 8 * 28 * 28 - 50)
    with pytest.raises(UserError) as exc:
        data.load(CFG, d, "train")
    text = _one_line(exc)
    assert path in text and "truncated IDX file" in text and "8x28x28 values (6272 bytes)" in text


def test_wrong_magic_idx_names_the_file_and_the_expected_magic(tmp_path):
    d = _mnist(str(tmp_path / "m"))
    path = os.path.join(d, IDX[1])
    with open(path, "r+b") as f:
        f.write(b"\x12\x34")
    with pytest.raises(UserError) as exc:
        data.load(CFG, d, "train")
    text = _one_line(exc)
    assert path in text and "bad IDX magic number 0x12340801" in text and "0x00000801 = 2049" in text


def test_truncated_gzip_idx(tmp_path):
    d = str(tmp_path / "m")
    os.makedirs(d)
    blob = gzip.compress(b"\0\0\x08\x03" + b"\0" * 100)
    for name in IDX:
        with open(os.path.join(d, name + ".gz"), "wb") as f:
            f.write(blob[:-10])
    with pytest.raises(UserError) as exc:
        data.load(CFG, d, "train")
    assert "corrupt or truncated gzip file" in _one_line(exc) and "expected a whole .gz" in str(exc.value)


def test_folder_with_no_known_layout_lists_what_was_looked_for(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"x")
    with pytest.raises(UserError) as exc:
        data.load(CFG, str(tmp_path / "photos"), "train")
    text = _one_line(exc)
    assert "holds no mnist data" in text
    for looked_for in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert looked_for in text
    with pytest.raises(UserError) as exc:
        data.load(CFG.replace(dataset="cifar10"), str(tmp_path / "photos"), "train")
    assert "cifar-10-batches-py" in _one_line(exc) and "test_batch" in str(exc.value)


def test_labels_outside_0_to_9_in_label_bin(tmp_path):
    z, y = offline.draw_inputs(seed=0)
    for bad_value in (-1, 10, 255):
        bad = y.copy()
        bad[3] = bad_value
        offline.write_inputs(tmp_path, z, bad)
        with pytest.raises(UserError) as exc:
            offline.read_inputs(tmp_path)
        text = _one_line(exc)
        assert "label.bin" in text and f"label {bad_value}" in text and "0..9" in text


def test_bin_of_the_wrong_size(tmp_path):
    z, y = offline.draw_inputs(seed=0)
    offline.write_inputs(tmp_path, z, y)
    with open(tmp_path / "label.bin", "wb") as f:
        f.write(np.zeros(255, np.int32).tobytes())
    with pytest.raises(UserError) as exc:
        offline.read_inputs(tmp_path)
    text = _one_line(exc)
    assert "label.bin" in text and "1020 bytes" in text and "expected 1024 bytes" in text
    offline.write_inputs(tmp_path, z[:, :50], y)
    with pytest.raises(UserError) as exc:
        offline.read_inputs(tmp_path)
    assert "fake_image.bin" in _one_line(exc) and "expected 102400 bytes" in str(exc.value)


class _Touch:
    """A pickle that would create a file when loaded."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_cifar_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    cifar = tmp_path / "c" / "cifar-10-batches-py"
    cifar.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (cifar / name).write_bytes(pickle.dumps(_Touch(str(marker)), protocol=2))
    with pytest.raises(UserError) as exc:
        data.load(CFG.replace(dataset="cifar10"), str(tmp_path / "c"), "train")
    text = _one_line(exc)
    assert "refused to load" in text and "data_batch_1" in text
    assert not marker.exists()
