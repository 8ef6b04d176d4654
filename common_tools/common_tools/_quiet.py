"""Keep TensorFlow's C++ start-up lines out of the console.

TensorFlow 2.21 prints ``WARNING: All log messages before absl::InitializeLog() ...`` and the
oneDNN notice from static initialisers while its shared library loads, before it reads
``TF_CPP_MIN_LOG_LEVEL``. An import hook silences file descriptor 2 for the duration of that one
import (Python exceptions still propagate; nothing else is hidden). Off when the user asks for
TensorFlow's logs with ``TF_CPP_MIN_LOG_LEVEL=0``.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys


class _Silenced(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            self.loader.exec_module(module)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2") == "0":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _Silenced(spec.loader)
        return spec


def install() -> None:
    if "tensorflow" not in sys.modules and not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
