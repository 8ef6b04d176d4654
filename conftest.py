"""Repo-wide pytest setup (tests run from the repo root with --import-mode=importlib)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
