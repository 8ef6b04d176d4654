"""Model-agnostic tools shared by every model folder of the GAN model zoo.

Nothing here imports TensorFlow or MindSpore at module import time: each module imports its
framework inside the functions that need it, so a MindSpore project never pulls in TensorFlow and
the reverse.

Importing the package keeps TensorFlow's C++ start-up lines (oneDNN, cpu_feature_guard, absl's
pre-init notice) out of every console (``_quiet``): entry scripts import ``common_tools`` before
any framework. ``TF_CPP_MIN_LOG_LEVEL=0`` brings them back.

It also turns TensorFlow's oneDNN kernels on (``TF_ENABLE_ONEDNN_OPTS=1`` unless the user set it):
TensorFlow 2.21 enables them by default only on some x86 CPUs (on this project's Intel AVX-512 CPU
they were on, as its oneDNN start-up notice showed; on its AMD EPYC AVX2 CPU off) and runs about
half as fast without them (the top README: a demo training step, 1.1 -> 2.2 iterations/s on the AMD
CPU). ``TF_ENABLE_ONEDNN_OPTS=0`` turns them off.
"""

import os as _os

from . import _quiet

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")   # read when TensorFlow loads
_quiet.install()

__version__ = "0.2.0"
