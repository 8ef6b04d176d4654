"""Raw .bin tensors as msame reads and writes them: little-endian bytes, C order, no header.

A [1,128,128,3] float32 tensor is exactly 196,608 bytes. Nothing in the file says its shape or
dtype, so the reader takes both from the model and refuses a file whose size does not match.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from .errors import UserError


def _dtype(dtype) -> np.dtype:
    """The little-endian numpy dtype for ``dtype`` (e.g. "float32", np.float16)."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise UserError(f"unknown dtype {dtype!r}: expected a numpy dtype such as float32") from exc
    return dt.newbyteorder("<")


def expected_nbytes(shape: Sequence[int], dtype="float32") -> int:
    """Bytes of one tensor of ``shape`` and ``dtype``; every dimension must be known (>= 0)."""
    dims = [int(d) for d in shape]
    if any(d < 0 for d in dims):
        raise UserError(f"shape {tuple(dims)} has an unknown dimension: expected all dimensions >= 0")
    return int(np.prod(dims, dtype=np.int64)) * np.dtype(dtype).itemsize


def write_bin(path, array) -> int:
    """Write ``array`` as raw little-endian C-order bytes; returns the number of bytes written."""
    arr = np.asarray(array)
    data = np.ascontiguousarray(arr, dtype=_dtype(arr.dtype))
    parent = os.path.dirname(os.fspath(path))
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.tobytes(order="C"))
    return data.nbytes


def read_bin(path, shape: Sequence[int], dtype="float32") -> np.ndarray:
    """Read a raw .bin file of ``shape`` and ``dtype``; a size mismatch is a UserError.

    The array comes back in the native byte order, C-contiguous and writable.
    """
    if not os.path.isfile(path):
        raise UserError(f".bin file not found: {path}")
    want = expected_nbytes(shape, dtype)
    got = os.path.getsize(path)
    if got != want:
        raise UserError(
            f"{path}: expected {want} bytes for shape {tuple(int(d) for d in shape)} "
            f"{np.dtype(dtype).name}, got {got} bytes")
    data = np.fromfile(path, dtype=_dtype(dtype))
    native = _dtype(dtype).newbyteorder("=")
    return data.astype(native, copy=False).reshape(tuple(int(d) for d in shape))
