import numpy as np
import pytest

from common_tools.binio import expected_nbytes, read_bin, write_bin
from common_tools.errors import UserError


@pytest.mark.parametrize("dtype", ["float32", "float16", "int32", "uint8", "int64", "bool"])
def test_roundtrip_keeps_values_and_dtype(tmp_path, dtype):
    arr = (np.arange(24).reshape(2, 3, 4) % 7).astype(dtype)
    path = tmp_path / f"x_{dtype}.bin"
    assert write_bin(path, arr) == arr.nbytes
    assert path.stat().st_size == expected_nbytes((2, 3, 4), dtype)
    back = read_bin(path, (2, 3, 4), dtype)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
    assert np.array_equal(back, arr)


def test_write_is_little_endian_c_order_without_header(tmp_path):
    big = np.arange(6, dtype=">f4").reshape(2, 3)
    transposed = big.T  # not C-contiguous
    write_bin(tmp_path / "t.bin", transposed)
    raw = (tmp_path / "t.bin").read_bytes()
    assert raw == np.ascontiguousarray(transposed).astype("<f4").tobytes()
    assert len(raw) == 24
    assert np.array_equal(read_bin(tmp_path / "t.bin", (3, 2)), transposed)


def test_size_of_a_real_model_input():
    assert expected_nbytes((1, 128, 128, 3), "float32") == 196_608
    assert expected_nbytes((1, 13), np.float16) == 26


def test_size_mismatch_names_file_expected_and_actual(tmp_path):
    path = tmp_path / "short.bin"
    write_bin(path, np.zeros((1, 5), np.float32))
    with pytest.raises(UserError) as info:
        read_bin(path, (1, 13))
    msg = str(info.value)
    assert str(path) in msg and "expected 52 bytes" in msg and "got 20 bytes" in msg
    assert "\n" not in msg


def test_missing_file_and_unknown_dims_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        read_bin(tmp_path / "nope.bin", (1,))
    with pytest.raises(UserError, match="unknown dimension"):
        expected_nbytes((-1, 3))
