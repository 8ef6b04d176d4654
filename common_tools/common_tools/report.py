"""The demo index page: one static HTML file over every model's demo output.

Each model's ``make demo`` writes a folder under the demo root holding the ``summary.json`` of
:mod:`common_tools.stages` (schema 1). ``python -m common_tools.report runs/demo`` writes
``runs/demo/index.html`` (an overview table, then one section per model) and an ``index.html`` in
each model folder. A section shows, all read from that model's summary.json and its training log:

- the command that reproduces the demo, and the notes;
- the results beside their targets (met / not met / not measured) and the paper's figures;
- the images, scaled up by a whole factor (at most 4) to about 1000 px wide (at most 1100 px high; pixels
  stay sharp), with the labels of their columns above them when the summary names them
  (``columns``) and the command that reproduces each (``command``, else the demo's);
- the loss curves: one inline SVG panel per key of ``loss_keys`` (``loss/D``, ``loss/G``, ...)
  drawn from the summary's ``log`` (raw values faint, a moving mean on top, the first and last
  step and the lowest and highest value as axis labels);
- parity (numbers under a key starting with ``parity``) in a table of its own;
- the stage timings (done / skipped / failed, with notes, a bar per stage) and the total;
- every other number.

Every number the page shows is a value of a summary.json or of its log, formatted by
:func:`format_number`; nothing is computed for display. Links are relative, so the folder can be
copied or served as it is.

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
           "loss_svg", "load_summary"]

PLOT_NAME = "loss_curves.png"  # written by older versions; removed when the page is rebuilt
PAGE_WIDTH_PX = 1000  # images are scaled up by a whole factor to about this width
PAGE_HEIGHT_PX = 1100  # ... and to at most this height (a tall image is not blown up past it)
MAX_SCALE = 4  # ... and by at most this factor
PARITY_PREFIX = "parity"
SVG_W, SVG_H = 320, 150  # one loss panel
SVG_POINTS = 400  # raw points drawn per panel at most (evenly strided)

_CSS = """body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1060px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #446;padding-bottom:.2em;margin-top:2.2em}
h3{margin:1.4em 0 .4em;font-size:1.1em;color:#334}
section{margin-bottom:3em}
figure{display:block;margin:1em 0 1.6em}
figure img{display:block;max-width:100%;height:auto;border:1px solid #ddd;image-rendering:pixelated}
figcaption{font-size:.9em;color:#444;margin-top:.3em}
.cols{position:relative;display:flex;max-width:100%;font-size:11px;color:#223;font-weight:600}
.cols span{flex:none;text-align:center;overflow:hidden;overflow-wrap:anywhere;line-height:1.15;padding:0 1px 2px;
box-sizing:border-box;align-self:flex-end}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}th{background:#f3f3f6}
td.num{text-align:right;font-family:ui-monospace,monospace}
pre{background:#f5f5f5;padding:.5em;overflow-x:auto;margin:.3em 0}
code{font-family:ui-monospace,monospace;font-size:.92em}
.repro{font-size:.85em;color:#555}.repro code{background:#f5f5f5;padding:0 .3em}
.missing,.failed,.notmet{color:#b00}.met{color:#070;font-weight:600}.skipped{color:#777}
td.bar{width:260px}td.bar div{background:#7a9cc6;height:.8em;min-width:1px}
.panels{display:flex;flex-wrap:wrap;gap:10px}.panels svg{border:1px solid #ddd;background:#fff}
details summary{cursor:pointer;color:#334;margin:.6em 0}"""


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


def loss_svg(key: str, xs: Sequence[float], ys: Sequence[float], width: int = SVG_W,
             height: int = SVG_H) -> str:
    """One loss panel as inline SVG: raw values faint, a moving mean solid; the axis labels are the
    first and last step and the lowest and highest value (as :func:`format_number` shows them)."""
    left, right, top, bottom = 56, 8, 20, 18
    pw, ph = width - left - right, height - top - bottom
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    sx = (lambda x: left + pw * (x - x0) / (x1 - x0)) if x1 > x0 else (lambda x: left + pw / 2)
    sy = (lambda y: top + ph * (y1 - y) / (y1 - y0)) if y1 > y0 else (lambda y: top + ph / 2)
    stride = max(1, math.ceil(len(xs) / SVG_POINTS))
    mean = _moving_mean(list(ys), max(1, len(ys) // 25))

    def line(values, attrs):
        pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}"
                       for i, (x, y) in enumerate(zip(xs, values))
                       if i % stride == 0 or i == len(xs) - 1)
        return f'<polyline fill="none" {attrs} points="{pts}"/>'

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(key)} per step" '
             'font-family="sans-serif" font-size="10">',
             f'<text x="{left}" y="13" font-size="11" font-weight="bold">{_e(key)}</text>',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#ccc"/>']
    if y0 < 0 < y1:
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(0):.1f}" y2="{sy(0):.1f}" '
                     'stroke="#bbb" stroke-dasharray="3,3"/>')
    parts.append(line(ys, 'stroke="#9db7d8" stroke-width="0.8"'))
    parts.append(line(mean, 'stroke="#1f5fa8" stroke-width="1.6"'))
    parts += [f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{_e(format_number(y1))}</text>',
              f'<text x="{left - 4}" y="{top + ph}" text-anchor="end">{_e(format_number(y0))}</text>',
              f'<text x="{left}" y="{height - 4}">{_e(format_number(x0))}</text>',
              f'<text x="{left + pw}" y="{height - 4}" text-anchor="end">{_e(format_number(x1))}</text>',
              "</svg>"]
    return "".join(parts)


def _image_size(path: str) -> Optional[tuple]:
    try:
        from PIL import Image

        with Image.open(path) as im:
            return im.size
    except Exception:  # an unreadable image is still linked; the browser shows what it can
        return None


def _column_labels(columns: list, width: int, scale: int) -> str:
    """The labels over an image's columns: strings share the width equally; {"label", "px"} items
    take ``px`` source pixels each. Underscores may break a long name over lines."""
    if all(isinstance(c, str) for c in columns):
        widths = [width / len(columns)] * len(columns)
        labels = list(columns)
    else:
        widths = [c["px"] if isinstance(c, dict) else width / len(columns) for c in columns]
        labels = [c["label"] if isinstance(c, dict) else c for c in columns]
    spans = "".join(f'<span style="width:{w * scale:.1f}px">{_e(label).replace("_", "_<wbr>")}</span>'
                    for label, w in zip(labels, widths))
    return f'<div class="cols" style="width:{width * scale}px">{spans}</div>'


def _figure(folder: str, rel: str, image: dict, command: str) -> str:
    path, caption = image["path"], image.get("caption", "")
    size = _image_size(os.path.join(folder, path))
    dims, labels = "", ""
    if size and size[0] > 0:
        k = max(1, min(PAGE_WIDTH_PX // size[0], PAGE_HEIGHT_PX // max(1, size[1]), MAX_SCALE))
        dims = f' width="{size[0] * k}" height="{size[1] * k}"'
        if image.get("columns"):
            labels = _column_labels(image["columns"], size[0], k)
    repro = image.get("command") or command
    return (f'<figure>{labels}<img src="{_href(rel, path)}"{dims} alt="{_e(caption or path)}">'
            f"<figcaption>{_e(caption)}</figcaption>"
            f'<div class="repro">reproduce: <code>{_e(repro)}</code></div></figure>')


def _is_parity(key: str) -> bool:
    return key.split(".")[0].startswith(PARITY_PREFIX)


def _value_cell(value, measured: bool) -> str:
    return (f'<td class="num">{_e(format_number(value))}</td>' if measured
            else '<td class="missing">not measured</td>')


def _results_rows(summary: dict) -> list:
    """(key, value, measured) for every number with a target or a paper figure, in number order."""
    targets, paper = summary["targets"], summary["paper"]
    values = dict(flatten_numbers(summary["numbers"]))
    keys = [k for k in values if k in targets or k in paper]
    keys += [k for k in list(targets) + list(paper) if k not in keys]
    return [(k, values.get(k), k in values) for k in dict.fromkeys(keys)]


def _results_table(summary: dict) -> list:
    rows = _results_rows(summary)
    if not rows:
        return []
    targets, paper = summary["targets"], summary["paper"]
    out = ["<table><tr><th>result</th><th>this demo</th><th>target</th><th>met</th>"
           "<th>paper / reference</th></tr>"]
    for key, value, measured in rows:
        line = f"<tr><td>{_e(key)}</td>{_value_cell(value, measured)}"
        t = targets.get(key)
        if t is None:
            line += "<td></td><td></td>"
        else:
            met = target_met(value, t["op"], t["value"]) if measured else None
            word, cls = {True: ("met", "met"), False: ("not met", "notmet"),
                         None: ("not measured", "missing")}[met]
            line += (f'<td>{_e(t["op"])} <span class="num">{_e(format_number(t["value"]))}'
                     f'</span></td><td class="{cls}">{word}</td>')
        p = paper.get(key)
        line += "<td></td>" if p is None else (
            f'<td class="num">{_e(format_number(p))}</td>' if not isinstance(p, str)
            else f"<td>{_e(p)}</td>")
        out.append(line + "</tr>")
    out.append("</table>")
    return out


def _plain_table(rows: list, head: str) -> list:
    if not rows:
        return []
    out = [f"<table><tr><th>{_e(head)}</th><th>value</th></tr>"]
    out += [f"<tr><td>{_e(k)}</td>{_value_cell(v, True)}</tr>" for k, v in rows]
    out.append("</table>")
    return out


def _stages_table(summary: dict) -> list:
    longest = max([st["seconds"] for st in summary["stages"]] + [1e-9])
    out = ["<table><tr><th>stage</th><th>status</th><th>seconds</th><th></th><th>note</th></tr>"]
    for st in summary["stages"]:
        pct = 100.0 * st["seconds"] / longest
        out.append(f'<tr><td>{_e(st["name"])}</td><td class="{_e(st["status"])}">'
                   f'{_e(st["status"])}</td><td class="num">{_e(format_number(st["seconds"]))}'
                   f'</td><td class="bar"><div style="width:{pct:.1f}%"></div></td>'
                   f'<td>{_e(st.get("note", ""))}</td></tr>')
    out.append(f'<tr><th>total</th><td></td><td class="num">'
               f'{_e(format_number(summary["seconds_total"]))}</td><td></td><td></td></tr></table>')
    return out


def _failed(summary: dict) -> Optional[dict]:
    return next((st for st in summary["stages"] if st["status"] == "failed"), None)


def _unmet(summary: dict) -> list:
    values = dict(flatten_numbers(summary["numbers"]))
    return [k for k, t in summary["targets"].items()
            if target_met(values.get(k), t["op"], t["value"]) is not True]


def _losses(folder: str, summary: dict) -> list:
    keys = summary["loss_keys"]
    if not keys:
        return []
    log = os.path.join(folder, summary["log"])
    if not os.path.isfile(log):
        print(f"warning: {folder}/{SUMMARY_NAME} names log {summary['log']} which does not "
              "exist; no loss curves", file=sys.stderr)
        return [f'<h3>Losses</h3><p class="missing">no log {_e(summary["log"])}</p>']
    series = loss_series(read_jsonl(log), keys)
    parts = ["<h3>Losses</h3>"]
    if series:
        parts.append('<div class="panels">' + "".join(loss_svg(k, xs, ys) for k, (xs, ys)
                                                        in series.items()) + "</div>")
        parts.append(f'<p class="repro">per logged step of {_e(summary["log"])}; faint: raw, '
                     "solid: moving mean; axes: first and last step, lowest and highest value</p>")
    missing = [k for k in keys if k not in series]
    if missing:
        parts.append(f'<p class="missing">no values in {_e(summary["log"])} for: '
                     f"{_e(', '.join(missing))}</p>")
    return parts


def _section(folder: str, summary: dict, rel: str) -> str:
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
    results = _results_table(summary)
    if results:
        parts += ["<h3>Results</h3>"] + results
    if summary["images"]:
        parts.append("<h3>Images</h3>")
    for image in summary["images"]:
        if os.path.isfile(os.path.join(folder, image["path"])):
            parts.append(_figure(folder, rel, image, summary["command"]))
        else:
            parts.append(f'<p class="missing">missing image: {_e(image["path"])}</p>')
    parts += _losses(folder, summary)
    shown = {k for k, _, _ in _results_rows(summary)}
    rest = [(k, v) for k, v in flatten_numbers(summary["numbers"]) if k not in shown]
    parity = [(k, v) for k, v in rest if _is_parity(k)]
    if parity:
        parts += ["<h3>Parity</h3>"] + _plain_table(parity, "max |difference| between paths")
    parts.append("<h3>Stages</h3>")
    parts += _stages_table(summary)
    other = [(k, v) for k, v in rest if not _is_parity(k)]
    if other:
        parts += ["<h3>Other numbers</h3>"] + _plain_table(other, "number")
    if not results and not rest:
        parts.append("<p>no numbers</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _overview(entries: list) -> str:
    out = ["<table><tr><th>model</th><th>demo</th><th>stages</th><th>seconds</th>"
           "<th>targets</th></tr>"]
    for folder, summary in entries:
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
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
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
    entries = []
    for folder in folders:
        summary = load_summary(os.path.join(folder, SUMMARY_NAME))
        stale = os.path.join(folder, PLOT_NAME)
        if os.path.isfile(stale):
            os.remove(stale)
        with open(os.path.join(folder, "index.html"), "w", encoding="utf-8") as f:
            f.write(_page(summary["title"], _section(folder, summary, ".")))
        entries.append((folder, summary))
    sections = [_section(folder, summary, os.path.relpath(folder, root))
                for folder, summary in entries]
    intro = ("<p>What <code>make demo</code> ran on this machine: for each model, its results "
             "beside the targets and the paper, its images, loss curves, parity and stage "
             "timings, each with the command that reproduces it.</p>")
    index = os.path.join(root, "index.html")
    with open(index, "w", encoding="utf-8") as f:
        f.write(_page(title, intro + "\n" + _overview(entries) + "\n" + "\n".join(sections)))
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
