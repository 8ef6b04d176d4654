"""Load pickles of plain data without running code from the file.

A pickle may name any importable callable and have the unpickler call it (``os.system`` through
``__reduce__``). :class:`SafeUnpickler` admits only the globals needed to rebuild lists, dicts,
tuples, sets, str, bytes, numbers, bool/None, ``collections.OrderedDict`` and numpy arrays, dtypes
and scalars; any other global is refused before it is imported, with a UserError naming the file
and the global. Built-in containers and scalars need no global at all.

``encoding="latin1"`` reads Python-2 pickles that hold numpy arrays (the text-to-image data sets' ``*.pickle`` files).

Example::

    from common_tools import safe_pickle
    embeddings = safe_pickle.load("birds/train/char-CNN-RNN-embeddings.pickle", encoding="latin1")
"""

from __future__ import annotations

import io
import os
import pickle
from typing import Any

from common_tools.errors import UserError

# (module, name) pairs that may be looked up while unpickling.
ALLOWED_GLOBALS = frozenset({
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "bytearray"),
    ("builtins", "complex"), ("builtins", "slice"), ("builtins", "range"),
    # Python-2 pickles name the builtins module __builtin__; fix_imports maps most, not all
    ("__builtin__", "set"), ("__builtin__", "frozenset"), ("__builtin__", "bytearray"),
    ("__builtin__", "complex"),
    ("copy_reg", "_reconstructor"),
    ("collections", "OrderedDict"),
    ("_codecs", "encode"),  # numpy arrays pickled by Python 3 under protocol < 3 hold bytes this way
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
})

# copyreg._reconstructor(cls, base, state) calls base.__new__(cls): allow it only for these classes.
_RECONSTRUCTOR_CLASSES = frozenset({("numpy", "ndarray"), ("builtins", "object")})


class SafeUnpickler(pickle.Unpickler):
    """An Unpickler whose ``find_class`` admits only :data:`ALLOWED_GLOBALS`."""

    def __init__(self, file, *, source: str = "<bytes>", **kwargs):
        super().__init__(file, **kwargs)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS:
            if module in ("copy_reg", "copyreg"):
                return _checked_reconstructor
            if module == "__builtin__":
                module = "builtins"
            if module == "_codecs":
                return _latin1_encode
            return super().find_class(module, name)
        raise UserError(f"{self.source}: refused to load {module}.{name} "
                        "(only plain data and numpy arrays are allowed in this pickle)")


def _checked_reconstructor(cls, base, state):
    import copyreg

    key = (getattr(cls, "__module__", ""), getattr(cls, "__name__", ""))
    if key not in _RECONSTRUCTOR_CLASSES:
        raise UserError(f"refused to rebuild an object of class {key[0]}.{key[1]}")
    return copyreg._reconstructor(cls, base, state)


def _latin1_encode(text, encoding="latin1"):
    """``_codecs.encode`` restricted to the one use pickle makes of it (str -> bytes)."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise UserError(f"refused _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def loads(data: bytes, encoding: str = "ASCII", *, source: str = "<bytes>") -> Any:
    """Unpickle ``data``; ``encoding="latin1"`` for Python-2 pickles holding numpy arrays."""
    try:
        return SafeUnpickler(io.BytesIO(data), source=source, encoding=encoding).load()
    except UserError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, UnicodeDecodeError, MemoryError) as exc:
        what = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{source}: not a readable pickle ({type(exc).__name__}: {what})") from None


def load(path, encoding: str = "ASCII") -> Any:
    """Unpickle the file at ``path`` with :class:`SafeUnpickler`."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f"pickle file not found: {path}")
    with open(path, "rb") as f:
        data = f.read()
    return loads(data, encoding=encoding, source=path)
