"""The demo index page: one static HTML file over every model's demo output.

Each model's ``make demo`` writes a folder under the demo root with ``summary.json``::

    {"model": "stargan", "title": "StarGAN tiny demo",
     "numbers": {"steps": 200, "fid": {"value": 181.2, "images": 64}},
     "images": [{"path": "grid.png", "caption": "input, then Black_Hair, Blond_Hair, ..."}],
     "notes": ["trained 200 steps on 64 synthetic faces, CPU"],
     "log": "train_log.jsonl",          # optional; train_log.jsonl is the default
     "loss_keys": ["loss/G", "loss/D"]} # optional; default: every key starting or ending in "loss"

``python -m common_tools.report runs/demo`` writes ``runs/demo/index.html`` (all models) and an
``index.html`` in each model folder: the images, a loss-curve plot (``loss_curves.png``, drawn
with matplotlib's Agg canvas from every numeric key starting or ending with "loss", so both
``loss/G`` and STGAN's ``g_loss``) and a table of the numbers. Links are relative, so the folder
can be copied or served as it is.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import sys
from typing import Optional, Sequence
from urllib.parse import quote

from .errors import UserError, run_cli
from .logging import JSONL_NAME, read_jsonl

SUMMARY_NAME = "summary.json"
PLOT_NAME = "loss_curves.png"

_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
figure{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top}
figure img{max-width:100%;border:1px solid #ddd;image-rendering:pixelated}
figcaption{font-size:.9em;color:#555}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}td.num{text-align:right;font-family:monospace}
.missing{color:#b00}"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _href(*parts: str) -> str:
    return quote("/".join(p.replace(os.sep, "/") for p in parts if p and p != "."))


def flatten_numbers(numbers, prefix: str = "") -> list:
    """``{"fid": {"value": 1.5}}`` -> ``[("fid.value", 1.5)]`` (insertion order kept)."""
    rows = []
    if isinstance(numbers, dict):
        for key, value in numbers.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                rows += flatten_numbers(value, name)
            else:
                rows.append((name, value))
    return rows


def _format_number(value) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_format_number(v) for v in value)
    return "null" if value is None else str(value)


def load_summary(folder: str) -> dict:
    path = os.path.join(folder, SUMMARY_NAME)
    try:
        with open(path, encoding="utf-8") as f:
            summary = json.load(f)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno}): "
                        "expected an object with model, title, numbers, images, notes") from None
    if not isinstance(summary, dict):
        raise UserError(f"{path} must hold a JSON object with model, title, numbers, images, notes")
    images = summary.get("images", [])
    if not isinstance(images, list) or not all(isinstance(i, dict) and "path" in i for i in images):
        raise UserError(f"{path}: 'images' must be a list of {{\"path\": ..., \"caption\": ...}}")
    return summary


def is_loss_key(key: str) -> bool:
    """``loss/G``, ``loss_D`` (StarGAN style) and ``g_loss``, ``d_loss`` (STGAN style)."""
    return key.lower().startswith("loss") or key.lower().endswith("loss")


def loss_series(records: list, keys: Optional[Sequence[str]] = None) -> dict:
    """``{key: ([steps], [values])}`` for ``keys`` (default: every numeric loss key)."""
    series: dict = {}
    for rec in records:
        step = rec.get("step")
        if not isinstance(step, (int, float)):
            continue
        for key, value in rec.items():
            wanted = key in keys if keys is not None else is_loss_key(key)
            if wanted and isinstance(value, (int, float)) \
                    and not isinstance(value, bool) and math.isfinite(value):
                xs, ys = series.setdefault(key, ([], []))
                xs.append(step)
                ys.append(value)
    return series


def plot_losses(log_path: str, out_png: str, title: str = "",
                keys: Optional[Sequence[str]] = None) -> Optional[str]:
    """Draw the loss curves of a JSONL log into ``out_png``; None when it has no loss values."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    series = loss_series(read_jsonl(log_path), keys)
    if not series:
        return None
    fig = Figure(figsize=(7, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for key, (xs, ys) in sorted(series.items()):
        ax.plot(xs, ys, label=key, linewidth=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(out_png, format="png")
    return out_png


def _section(folder: str, summary: dict, rel: str, heading: str = "h2") -> str:
    """HTML for one model; ``rel`` is the folder as seen from the page (``.`` on its own page)."""
    name = summary.get("model") or os.path.basename(folder)
    title = summary.get("title") or name
    parts = [f'<section id="{_e(name)}"><{heading}>{_e(title)}</{heading}>']
    if rel != ".":
        parts.append(f'<p><a href="{_href(rel, "index.html")}">{_e(name)} page</a></p>')
    for note in summary.get("notes", []) or []:
        parts.append(f"<p>{_e(note)}</p>")
    for image in summary.get("images", []):
        path = str(image["path"])
        caption = image.get("caption", "")
        if os.path.isfile(os.path.join(folder, path)):
            parts.append(f'<figure><img src="{_href(rel, path)}" alt="{_e(caption or path)}">'
                         f"<figcaption>{_e(caption)}</figcaption></figure>")
        else:
            parts.append(f'<p class="missing">missing image: {_e(path)}</p>')
    if os.path.isfile(os.path.join(folder, PLOT_NAME)):
        parts.append(f'<figure><img src="{_href(rel, PLOT_NAME)}" alt="loss curves">'
                     "<figcaption>losses per step (train_log.jsonl)</figcaption></figure>")
    rows = flatten_numbers(summary.get("numbers", {}))
    if rows:
        parts.append("<table><tr><th>number</th><th>value</th></tr>")
        parts += [f'<tr><td>{_e(k)}</td><td class="num">{_e(_format_number(v))}</td></tr>'
                  for k, v in rows]
        parts.append("</table>")
    parts.append("</section>")
    return "\n".join(parts)


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body>\n"
            f"<h1>{_e(title)}</h1>\n{body}\n</body></html>\n")


def find_demo_folders(root: str) -> list:
    """Folders under ``root`` (not root itself) holding a summary.json, sorted by path."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if dirpath != root and SUMMARY_NAME in filenames:
            found.append(dirpath)
    return sorted(found)


def build_report(root: str, title: str = "GAN model zoo demos") -> str:
    """Write ``<root>/index.html`` and each model folder's page; returns the index path."""
    if not os.path.isdir(root):
        raise UserError(f"demo folder not found: {root} (expected the folder `make demo` wrote)")
    folders = find_demo_folders(root)
    if not folders:
        raise UserError(f"no {SUMMARY_NAME} under {root}: expected one model folder per demo, "
                        f"each with {SUMMARY_NAME}")
    sections, toc = [], []
    for folder in folders:
        summary = load_summary(folder)
        log = os.path.join(folder, str(summary.get("log") or JSONL_NAME))
        plot = os.path.join(folder, PLOT_NAME)
        if os.path.isfile(log):
            keys = summary.get("loss_keys")
            if plot_losses(log, plot, title=str(summary.get("model") or ""), keys=keys) is None \
                    and os.path.isfile(plot):
                os.remove(plot)
        elif summary.get("log"):
            print(f"warning: {folder}/{SUMMARY_NAME} names log {summary['log']} which does not "
                  "exist; no loss plot", file=sys.stderr)
        name = summary.get("model") or os.path.basename(folder)
        page_title = str(summary.get("title") or name)
        with open(os.path.join(folder, "index.html"), "w", encoding="utf-8") as f:
            f.write(_page(page_title, _section(folder, summary, ".", heading="h2")))
        rel = os.path.relpath(folder, root)
        sections.append(_section(folder, summary, rel))
        toc.append(f'<li><a href="#{_e(name)}">{_e(page_title)}</a></li>')
    body = "<ul>\n" + "\n".join(toc) + "\n</ul>\n" + "\n".join(sections)
    index = os.path.join(root, "index.html")
    with open(index, "w", encoding="utf-8") as f:
        f.write(_page(title, body))
    return index


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m common_tools.report",
        description="Write DEMO_ROOT/index.html over every model demo folder (summary.json).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  make -C StarGAN_for_TensorFlow demo OUT=$PWD/runs/demo/stargan\n"
               "  python -m common_tools.report runs/demo    # then open runs/demo/index.html")
    parser.add_argument("demo_root", metavar="DEMO_ROOT", help="folder holding one folder per model")
    parser.add_argument("--title", default="GAN model zoo demos", help="page title")
    args = parser.parse_args(argv)
    index = build_report(args.demo_root, title=args.title)
    print(f"wrote {index}")
    return 0


if __name__ == "__main__":
    run_cli(main)
