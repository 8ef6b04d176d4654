"""Put PGAN_for_MindSpore/ on sys.path (pytest runs with --import-mode=importlib from the repo root)."""

import os
import sys

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if FOLDER not in sys.path:
    sys.path.insert(0, FOLDER)
