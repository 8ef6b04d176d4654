"""Model-agnostic tools shared by every model folder of the GAN model zoo.

Nothing here imports TensorFlow or MindSpore at module import time: each module imports its
framework inside the functions that need it, so a MindSpore project never pulls in TensorFlow and
the reverse.
"""

__version__ = "0.1.0"
