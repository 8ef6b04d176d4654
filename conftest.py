"""Repo-wide pytest setup (tests run from the repo root with --import-mode=importlib)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")   # as common_tools sets it (its __init__ says why)
