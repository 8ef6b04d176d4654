"""Run a script as ``__main__`` (``python tests/no_tensorflow.py train.py --flags ...``) and exit 3
if it imported TensorFlow: a MindSpore project must train, evaluate and export without it."""

import atexit
import os
import runpy
import sys


def _check():
    if "tensorflow" in sys.modules:
        sys.stderr.write("error: the script imported tensorflow\n")
        sys.stderr.flush()
        os._exit(3)


atexit.register(_check)
script = os.path.abspath(sys.argv[1])
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(script))
runpy.run_path(script, run_name="__main__")
