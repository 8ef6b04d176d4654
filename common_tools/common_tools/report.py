"""The demo index page: one static HTML file over every model's demo output.

Each model's ``make demo`` writes a folder under the demo root holding the ``summary.json`` of
:mod:`common_tools.stages` (schema 1). ``python -m common_tools.report runs/demo`` writes
``runs/demo/index.html`` (an overview table, then one section per model) and an ``index.html`` in
each model folder. A section shows, all read from that model's summary.json:

- the command that reproduces the demo, and the notes;
- the images, scaled up by a whole factor to about 1000 px wide (pixels stay sharp);
- the numbers, beside their targets (met / not met / not measured) and the paper's figures;
- the stage timings (done / skipped / failed, with notes) and the total;
- the loss curves: one panel per key of ``loss_keys`` (``loss/D``, ``loss/G``, ...), drawn from the
  summary's ``log`` with matplotlib's Agg canvas into ``loss_curves.png``.

Links are relative, so the folder can be copied or served as it is.

Example::

    python -m common_tools.report runs/demo      # then open runs/demo/index.html
"""

from __future__ import annotations

import argparse
import html
import math
import os
import sys
from typing import Optional, Sequence
from urllib.parse import quote

from .errors import UserError, run_cli
from .logging import read_jsonl
from .stages import SUMMARY_NAME, flatten_numbers, load_summary, target_met

__all__ = ["build_report", "find_demo_folders", "flatten_numbers", "format_number", "loss_series",
           "plot_losses", "load_summary"]

PLOT_NAME = "loss_curves.png"
PAGE_WIDTH_PX = 1000  # images are scaled up by a whole factor to about this width

_CSS = """body{font-family:system-ui,sans-serif;max-width:1060px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
figure{display:block;margin:1em 0}
figure img{max-width:100%;height:auto;border:1px solid #ddd;image-rendering:pixelated}
figcaption{font-size:.9em;color:#555}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}td.num{text-align:right;font-family:monospace}
pre{background:#f5f5f5;padding:.5em;overflow-x:auto}
.missing,.failed,.notmet{color:#b00}.met{color:#070}.skipped{color:#777}"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _href(*parts: str) -> str:
    return quote("/".join(p.replace(os.sep, "/") for p in parts if p and p != "."))


def format_number(value) -> str:
    """How a summary value is shown: a float as stored when it has at most 6 significant digits
    (demos round their numbers), else with 4 (6 from 1e5); lists joined."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        mantissa = repr(value).lower().split("e")[0].replace("-", "").replace(".", "")
        if len(mantissa.strip("0")) <= 6:
            return repr(value)
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_number(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def loss_series(records: list, keys: Sequence[str]) -> dict:
    """``{key: ([steps], [values])}`` for each of ``keys`` that has finite values in ``records``."""
    series: dict = {}
    wanted = set(keys)
    for rec in records:
        step = rec.get("step")
        if not isinstance(step, (int, float)):
            continue
        for key in wanted.intersection(rec):
            value = rec[key]
            if isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and math.isfinite(value):
                xs, ys = series.setdefault(key, ([], []))
                xs.append(step)
                ys.append(value)
    return {k: series[k] for k in keys if k in series}


def _moving_mean(ys: list, window: int) -> list:
    out, total = [], 0.0
    for i, y in enumerate(ys):
        total += y
        if i >= window:
            total -= ys[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_losses(log_path: str, out_png: str, keys: Sequence[str], title: str = "") -> list:
    """One panel per loss key (raw values faint, a moving mean on top) into ``out_png``.

    Returns the keys drawn (empty, and no file written, when the log has none of them).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    series = loss_series(read_jsonl(log_path), keys)
    if not series:
        return []
    ncol = min(3, len(series))
    nrow = math.ceil(len(series) / ncol)
    fig = Figure(figsize=(10, 2.6 * nrow + (0.4 if title else 0)), dpi=100)
    FigureCanvasAgg(fig)
    for i, (key, (xs, ys)) in enumerate(series.items()):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        ax.plot(xs, ys, linewidth=0.8, alpha=0.35, color="C0")
        ax.plot(xs, _moving_mean(ys, max(1, len(ys) // 25)), linewidth=1.4, color="C0")
        ax.set_title(key, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out_png, format="png")
    return list(series)


def _image_size(path: str) -> Optional[tuple]:
    try:
        from PIL import Image

        with Image.open(path) as im:
            return im.size
    except Exception:  # an unreadable image is still linked; the browser shows what it can
        return None


def _figure(folder: str, rel: str, path: str, caption: str) -> str:
    size = _image_size(os.path.join(folder, path))
    dims = ""
    if size and size[0] > 0:
        k = max(1, PAGE_WIDTH_PX // size[0])
        dims = f' width="{size[0] * k}" height="{size[1] * k}"'
    return (f'<figure><img src="{_href(rel, path)}"{dims} alt="{_e(caption or path)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _numbers_table(summary: dict) -> list:
    rows = flatten_numbers(summary["numbers"])
    targets, paper = summary["targets"], summary["paper"]
    have = {k for k, _ in rows}
    rows += [(k, None) for k in list(targets) + list(paper) if k not in have]
    rows = list(dict(rows).items())  # keys unique, first position kept
    if not rows:
        return []
    head = "<tr><th>number</th><th>value</th>"
    head += "<th>target</th><th>met</th>" if targets else ""
    head += "<th>paper</th>" if paper else ""
    out = ["<table>", head + "</tr>"]
    for key, value in rows:
        measured = key in have
        cell = (f'<td class="num">{_e(format_number(value))}</td>' if measured
                else '<td class="missing">not measured</td>')
        line = f"<tr><td>{_e(key)}</td>{cell}"
        if targets:
            t = targets.get(key)
            if t is None:
                line += "<td></td><td></td>"
            else:
                met = target_met(value, t["op"], t["value"]) if measured else None
                word, cls = {True: ("met", "met"), False: ("not met", "notmet"),
                             None: ("not measured", "missing")}[met]
                line += (f'<td>{_e(t["op"])} <span class="num">{_e(format_number(t["value"]))}'
                         f'</span></td><td class="{cls}">{word}</td>')
        if paper:
            p = paper.get(key)
            line += "<td></td>" if p is None else (
                f'<td class="num">{_e(format_number(p))}</td>' if not isinstance(p, str)
                else f"<td>{_e(p)}</td>")
        out.append(line + "</tr>")
    out.append("</table>")
    return out


def _stages_table(summary: dict) -> list:
    out = ["<table><tr><th>stage</th><th>status</th><th>seconds</th><th>note</th></tr>"]
    for st in summary["stages"]:
        out.append(f'<tr><td>{_e(st["name"])}</td><td class="{_e(st["status"])}">'
                   f'{_e(st["status"])}</td><td class="num">{_e(format_number(st["seconds"]))}'
                   f'</td><td>{_e(st.get("note", ""))}</td></tr>')
    out.append(f'<tr><th>total</th><td></td><td class="num">'
               f'{_e(format_number(summary["seconds_total"]))}</td><td></td></tr></table>')
    return out


def _failed(summary: dict) -> Optional[dict]:
    return next((st for st in summary["stages"] if st["status"] == "failed"), None)


def _unmet(summary: dict) -> list:
    values = dict(flatten_numbers(summary["numbers"]))
    return [k for k, t in summary["targets"].items()
            if target_met(values.get(k), t["op"], t["value"]) is not True]


def _section(folder: str, summary: dict, rel: str, plotted: list) -> str:
    """HTML for one model; ``rel`` is the folder as seen from the page (``.`` on its own page)."""
    name = summary["model"]
    parts = [f'<section id="{_e(name)}"><h2>{_e(summary["title"])}</h2>']
    if rel != ".":
        parts.append(f'<p><a href="{_href(rel, "index.html")}">{_e(name)} page</a></p>')
    failed = _failed(summary)
    if failed:
        parts.append(f'<p class="failed">failed at stage {_e(failed["name"])}: '
                     f'{_e(failed.get("note", ""))}</p>')
    parts.append(f"<p>Reproduce with:</p><pre><code>{_e(summary['command'])}</code></pre>")
    parts += [f"<p>{_e(note)}</p>" for note in summary["notes"]]
    for image in summary["images"]:
        path, caption = image["path"], image.get("caption", "")
        if os.path.isfile(os.path.join(folder, path)):
            parts.append(_figure(folder, rel, path, caption))
        else:
            parts.append(f'<p class="missing">missing image: {_e(path)}</p>')
    parts.append("<h3>Numbers</h3>")
    parts += _numbers_table(summary) or ["<p>no numbers</p>"]
    parts.append("<h3>Stages</h3>")
    parts += _stages_table(summary)
    keys = summary["loss_keys"]
    if plotted:
        parts.append(f'<h3>Losses</h3><figure><img src="{_href(rel, PLOT_NAME)}" alt="loss curves">'
                     f"<figcaption>{_e(', '.join(plotted))} per step ({_e(summary['log'])}); "
                     "faint: raw, solid: moving mean</figcaption></figure>")
    missing = [k for k in keys if k not in plotted]
    if missing:
        parts.append(f'<p class="missing">no values in {_e(summary["log"])} for: '
                     f"{_e(', '.join(missing))}</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _overview(entries: list) -> str:
    out = ["<table><tr><th>model</th><th>demo</th><th>stages</th><th>seconds</th>"
           "<th>targets</th></tr>"]
    for folder, summary, _ in entries:
        failed = _failed(summary)
        status = (f'<span class="failed">failed at {_e(failed["name"])}</span>' if failed
                  else "all done or skipped")
        unmet = _unmet(summary)
        targets = ("" if not summary["targets"] else
                   f'<span class="notmet">not met: {_e(", ".join(unmet))}</span>' if unmet
                   else '<span class="met">all met</span>')
        out.append(f'<tr><td><a href="#{_e(summary["model"])}">{_e(summary["model"])}</a></td>'
                   f'<td>{_e(summary["title"])}</td><td>{status}</td>'
                   f'<td class="num">{_e(format_number(summary["seconds_total"]))}</td>'
                   f"<td>{targets}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


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


def _plot(folder: str, summary: dict) -> list:
    log = os.path.join(folder, summary["log"])
    plot = os.path.join(folder, PLOT_NAME)
    if os.path.isfile(plot):
        os.remove(plot)
    if not summary["loss_keys"]:
        return []
    if not os.path.isfile(log):
        print(f"warning: {folder}/{SUMMARY_NAME} names log {summary['log']} which does not "
              "exist; no loss plot", file=sys.stderr)
        return []
    return plot_losses(log, plot, summary["loss_keys"], title=summary["model"])


def build_report(root: str, title: str = "GAN model zoo demos") -> str:
    """Write ``<root>/index.html`` and each model folder's page; returns the index path."""
    if not os.path.isdir(root):
        raise UserError(f"demo folder not found: {root} (expected the folder `make demo` wrote)")
    folders = find_demo_folders(root)
    if not folders:
        raise UserError(f"no {SUMMARY_NAME} under {root}: expected one model folder per demo, "
                        f"each with {SUMMARY_NAME}")
    entries = []
    for folder in folders:
        summary = load_summary(os.path.join(folder, SUMMARY_NAME))
        plotted = _plot(folder, summary)
        with open(os.path.join(folder, "index.html"), "w", encoding="utf-8") as f:
            f.write(_page(summary["title"], _section(folder, summary, ".", plotted)))
        entries.append((folder, summary, plotted))
    sections = [_section(folder, summary, os.path.relpath(folder, root), plotted)
                for folder, summary, plotted in entries]
    index = os.path.join(root, "index.html")
    with open(index, "w", encoding="utf-8") as f:
        f.write(_page(title, _overview(entries) + "\n" + "\n".join(sections)))
    return index


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m common_tools.report",
        description="Write DEMO_ROOT/index.html over every model demo folder (summary.json).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  make demo                                  # every model -> runs/demo/<model>/\n"
               "  python -m common_tools.report runs/demo    # then open runs/demo/index.html")
    parser.add_argument("demo_root", metavar="DEMO_ROOT", help="folder holding one folder per model")
    parser.add_argument("--title", default="GAN model zoo demos", help="page title")
    args = parser.parse_args(argv)
    index = build_report(args.demo_root, title=args.title)
    print(f"wrote {index}")
    return 0


if __name__ == "__main__":
    run_cli(main)
