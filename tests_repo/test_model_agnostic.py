"""common_tools stays model-agnostic: no model's name anywhere in the package (code, comments,
docstrings, examples). What is a model's own lives in its folder and is passed as parameters."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "common_tools", "common_tools")
NAMES = re.compile(r"stargan|stgan|stackgan|bigbigan|pgan", re.IGNORECASE)


def test_no_model_name_in_common_tools():
    hits = []
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if not name.endswith((".py", ".md", ".txt", ".json", ".yaml", ".yml", ".sh")):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8", errors="replace") as f:
                for n, line in enumerate(f, 1):
                    if NAMES.search(line):
                        hits.append(f"{os.path.relpath(path, ROOT)}:{n}: {line.strip()[:80]}")
    assert not hits, "model names in common_tools:\n" + "\n".join(hits)
