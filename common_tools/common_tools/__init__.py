"""Model-agnostic tools shared by every model folder of the GAN model zoo.

Nothing here imports TensorFlow or MindSpore at module import time: each module imports its
framework inside the functions that need it, so a MindSpore project never pulls in TensorFlow and
the reverse.

Importing the package keeps TensorFlow's C++ start-up lines (oneDNN, cpu_feature_guard, absl's
pre-init notice) out of every console (``_quiet``): entry scripts import ``common_tools`` before
any framework. ``TF_CPP_MIN_LOG_LEVEL=0`` brings them back.
"""

import os as _os

from . import _quiet

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_quiet.install()

__version__ = "0.2.0"
