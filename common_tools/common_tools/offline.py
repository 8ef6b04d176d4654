"""Named-input .bin folders for msame folder mode, with a manifest, and the outputs read back.

One layout for every model's offline step, whatever it feeds (images, labels, noise, text
embeddings) and however many inputs and outputs it has:

    <bin_dir>/<input name>/<sample>.bin      one file per sample and input, raw bytes (common_tools.binio)
    <bin_dir>/manifest.json                  format + version, the inputs in order (name, shape, dtype),
                                             the outputs (shape, dtype per index), the samples in order
                                             (name + optional info such as the source file or labels),
                                             and free ``meta``

msame (``--input <bin_dir>/a,<bin_dir>/b``, see :func:`input_folders`) or the open runner
(:mod:`common_tools.runner`) then writes ``<output>/<timestamp>/<sample>_output_<k>.bin``, one per
sample and output index. :func:`read_outputs` reads them back in manifest order, after checking that
they really are the outputs of these inputs: every sample has every output, every size matches the
manifest, and no output belongs to a sample the manifest does not list (another model's outputs, or
file-mode outputs, are refused in one line).

    spec = {"x1": ((256, 100), "float32"), "x2": ((256,), "int32")}          # noise + labels
    samples = ((f"{i:04d}", {"x1": z[i], "x2": y[i]}, {"seed": i}) for i in range(8))
    write_inputs("runs/m/bin", spec, samples, outputs=[((256, 64, 64, 3), "float32")])
    # msame --model m.om --input runs/m/bin/x1,runs/m/bin/x2 --output runs/m/out
    (images,), out_dir = read_outputs("runs/m/bin", "runs/m/out")           # images [8, 256, 64, 64, 3]
"""

from __future__ import annotations

import json
import os
import re
from typing import Iterable, Mapping, Sequence

import numpy as np

from . import binio
from .errors import UserError, check_output_dir
from .msame import latest_output_dir

MANIFEST = "manifest.json"
FORMAT = "common_tools.offline"
VERSION = 1
_OUTPUT_FILE = re.compile(r"^(?P<stem>.+)_output_(?P<k>\d+)\.(?P<ext>bin|txt)$")
_BAD_NAME_CHARS = re.compile(r"[/\\\x00-\x1f]")


def _check_name(name, what: str, extra_bad: str = "") -> str:
    if not isinstance(name, str) or not name or name.startswith(".") or _BAD_NAME_CHARS.search(name) \
            or any(c in name for c in extra_bad) or name == MANIFEST:
        banned = " ".join(repr(c) for c in "/\\" + extra_bad)
        raise UserError(f"{what} {name!r} cannot be a file name: expected a non-empty name without "
                        f"{banned}, a leading dot or control characters")
    return name


def _dims(shape, what: str) -> list[int]:
    try:
        dims = [int(d) for d in shape]
    except (TypeError, ValueError):
        raise UserError(f"{what}: shape {shape!r} is not a list of integers") from None
    if any(d < 0 for d in dims):
        raise UserError(f"{what}: shape {dims} has a negative dimension: every dimension must be known")
    return dims


def _dtype_name(dtype, what: str) -> str:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise UserError(f"{what}: unknown dtype {dtype!r}: expected a numpy dtype such as float32") from None
    if dt.kind not in "biuf":
        raise UserError(f"{what}: dtype {dt.name} is not a number type msame can read")
    return dt.name


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _clear_input_folder(folder: str) -> None:
    """Remove the .bin files of an earlier write: msame would otherwise run them too."""
    if not os.path.isdir(folder):
        return
    for entry in os.scandir(folder):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        if not entry.name.endswith(".bin"):
            raise UserError(f"{entry.path} is not a .bin file: {folder} is an input folder and msame "
                            f"reads every file in it; move that file elsewhere")
        os.remove(entry.path)


def write_inputs(bin_dir, inputs: Mapping[str, tuple], samples: Iterable, outputs: Sequence[tuple],
                 meta: Mapping | None = None) -> dict:
    """Write ``<bin_dir>/<input>/<sample>.bin`` for every sample and input, then the manifest.

    ``inputs``: ``{name: (shape, dtype)}`` in the model's input order; ``shape`` is one sample's file
    (what the model takes per inference, e.g. ``(1, 128, 128, 3)``). ``samples``: ``(name, {input:
    array})`` or ``(name, {input: array}, info)`` items; every array must have exactly its input's
    shape and dtype (no silent casts) and ``info`` is any JSON-able dict kept in the manifest.
    ``outputs``: ``(shape, dtype)`` per output index. ``meta``: JSON-able dict kept as is.
    .bin files left in the input folders by an earlier write are removed first. Returns the manifest.

        write_inputs("bin", {"x_real": ((1, 8, 8, 3), "float32")},
                     [("img0", {"x_real": x})], outputs=[((1, 8, 8, 3), "float32")])
    """
    bin_dir = check_output_dir(bin_dir, what="bin folder")
    if not inputs:
        raise UserError("write_inputs: no inputs given: expected {name: (shape, dtype)} in input order")
    spec = []
    for name, value in inputs.items():
        _check_name(name, "input name", extra_bad=",")
        try:
            shape, dtype = value
        except (TypeError, ValueError):
            raise UserError(f"input {name!r}: expected (shape, dtype), got {value!r}") from None
        spec.append({"name": name, "shape": _dims(shape, f"input {name!r}"),
                     "dtype": _dtype_name(dtype, f"input {name!r}")})
    if not outputs:
        raise UserError("write_inputs: no outputs given: expected (shape, dtype) per output index")
    out_spec = []
    for k, value in enumerate(outputs):
        try:
            shape, dtype = value
        except (TypeError, ValueError):
            raise UserError(f"output {k}: expected (shape, dtype), got {value!r}") from None
        out_spec.append({"index": k, "shape": _dims(shape, f"output {k}"),
                         "dtype": _dtype_name(dtype, f"output {k}")})
    manifest_path = os.path.join(bin_dir, MANIFEST)
    if os.path.isfile(manifest_path):
        os.remove(manifest_path)  # a half-rewritten folder must not read as a complete one
    for entry in spec:
        folder = os.path.join(bin_dir, entry["name"])
        check_output_dir(folder, what=f"input folder of {entry['name']!r}")
        _clear_input_folder(folder)

    names = {e["name"] for e in spec}
    seen: set[str] = set()
    listed = []
    for item in samples:
        if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
            raise UserError(f"write_inputs: each sample is (name, {{input: array}}[, info]), got {item!r:.80}")
        sample, arrays = item[0], item[1]
        info = item[2] if len(item) == 3 else None
        _check_name(sample, "sample name")
        if sample in seen:
            raise UserError(f"sample {sample!r} is given twice: sample names must be unique")
        seen.add(sample)
        if not isinstance(arrays, Mapping):
            raise UserError(f"sample {sample!r}: expected a dict {{input name: array}}, got {type(arrays).__name__}")
        unknown = sorted(set(arrays) - names)
        if unknown:
            raise UserError(f"sample {sample!r}: unknown input(s) {unknown}; the inputs are "
                            f"{[e['name'] for e in spec]}")
        checked = []
        for entry in spec:
            if entry["name"] not in arrays:
                raise UserError(f"sample {sample!r}: no array for input {entry['name']!r}")
            arr = np.asarray(arrays[entry["name"]])
            if list(arr.shape) != entry["shape"] or arr.dtype.name != entry["dtype"]:
                raise UserError(f"sample {sample!r}, input {entry['name']!r}: got shape {list(arr.shape)} "
                                f"{arr.dtype.name}, expected {entry['shape']} {entry['dtype']}")
            checked.append((entry["name"], arr))
        for name, arr in checked:
            binio.write_bin(os.path.join(bin_dir, name, f"{sample}.bin"), arr)
        record: dict = {"name": sample}
        if info is not None:
            if not isinstance(info, Mapping):
                raise UserError(f"sample {sample!r}: info must be a dict, got {type(info).__name__}")
            record["info"] = dict(info)
        listed.append(record)
    if not listed:
        raise UserError(f"write_inputs: no samples to write to {bin_dir}")

    manifest = {"format": FORMAT, "version": VERSION, "inputs": spec, "outputs": out_spec,
                "samples": listed, "meta": dict(meta or {})}
    try:
        text = json.dumps(manifest, indent=1, default=_jsonable)
    except TypeError as exc:
        raise UserError(f"write_inputs: sample info or meta is not JSON-able: {exc}") from None
    tmp = manifest_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    os.replace(tmp, manifest_path)
    return json.loads(text)


def read_manifest(bin_dir) -> dict:
    """The manifest of a folder :func:`write_inputs` wrote; UserError naming the file otherwise."""
    path = os.path.join(os.fspath(bin_dir), MANIFEST)
    if not os.path.isfile(path):
        raise UserError(f"{path} not found: expected a folder of .bin inputs with its {MANIFEST} "
                        f"(written by img2bin)")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a readable JSON manifest ({type(exc).__name__})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UserError(f"{path}: not a {FORMAT} manifest (no \"format\": \"{FORMAT}\"); rewrite the "
                        f"folder with img2bin")
    if manifest.get("version") != VERSION:
        raise UserError(f"{path}: manifest version {manifest.get('version')!r}, this code reads "
                        f"version {VERSION}; rewrite the folder with img2bin")
    try:
        for entry in manifest["inputs"] + manifest["outputs"]:
            _dims(entry["shape"], path)
            _dtype_name(entry["dtype"], path)
        for entry in manifest["inputs"]:
            _check_name(entry["name"], f"{path}: input name", extra_bad=",")
        for entry in manifest["samples"]:
            _check_name(entry["name"], f"{path}: sample name")
    except (KeyError, TypeError):
        raise UserError(f"{path}: malformed manifest: expected inputs, outputs and samples lists "
                        f"with name/shape/dtype entries") from None
    if not manifest["inputs"] or not manifest["outputs"] or not manifest["samples"]:
        raise UserError(f"{path}: the manifest lists no inputs, outputs or samples")
    return manifest


def input_folders(bin_dir) -> list[str]:
    """The input folders in the model's input order: ``",".join(...)`` is msame's ``--input``."""
    bin_dir = os.fspath(bin_dir)
    return [os.path.join(bin_dir, entry["name"]) for entry in read_manifest(bin_dir)["inputs"]]


def read_inputs(bin_dir, name: str) -> np.ndarray:
    """Input ``name`` of every sample, in manifest order: ``[N, *shape]`` (for parity checks)."""
    bin_dir = os.fspath(bin_dir)
    manifest = read_manifest(bin_dir)
    by_name = {e["name"]: e for e in manifest["inputs"]}
    if name not in by_name:
        raise UserError(f"{bin_dir}/{MANIFEST} has no input {name!r}: its inputs are {list(by_name)}")
    entry = by_name[name]
    return np.stack([binio.read_bin(os.path.join(bin_dir, name, f"{s['name']}.bin"), entry["shape"],
                                    entry["dtype"]) for s in manifest["samples"]])


def _output_files(folder: str) -> dict:
    """{file name: (stem, k, ext)} of the msame-named outputs in ``folder``."""
    found = {}
    for entry in os.scandir(folder):
        if entry.is_file() and not entry.name.startswith("."):
            m = _OUTPUT_FILE.match(entry.name)
            if m:
                found[entry.name] = (m.group("stem"), int(m.group("k")), m.group("ext"))
    return found


def resolve_output_dir(output) -> str:
    """``output`` itself when it holds ``*_output_<k>.bin`` files, else its newest subfolder."""
    output = os.fspath(output)
    if not os.path.isdir(output):
        what = "is a file" if os.path.exists(output) else "not found"
        raise UserError(f"output folder {output} {what}: expected msame's (or the runner's) --output "
                        f"folder or the timestamped subfolder it printed")
    if _output_files(output):
        return output
    try:
        newest = latest_output_dir(output)
    except UserError:
        raise UserError(f"{output} holds no <sample>_output_<k>.bin files and no output subfolder: run "
                        f"msame or python -m common_tools.runner with --output {output} first") from None
    if not _output_files(newest):
        raise UserError(f"the newest output subfolder {newest} holds no <sample>_output_<k>.bin files")
    return newest


def read_outputs(bin_dir, output) -> tuple[list[np.ndarray], str]:
    """The model's outputs for the samples of ``bin_dir``: (``[N, *shape]`` per output index, folder read).

    ``output``: msame's / the runner's ``--output`` root (its newest subfolder is read) or the
    subfolder itself. Before anything is read, the folder is checked against the manifest: no output
    file of a sample the manifest does not list, every sample has every output, every size matches.
    """
    bin_dir = os.fspath(bin_dir)
    manifest = read_manifest(bin_dir)
    out_dir = resolve_output_dir(output)
    samples = [s["name"] for s in manifest["samples"]]
    specs = manifest["outputs"]
    found = _output_files(out_dir)
    expected = {f"{s}_output_{k}.bin": (s, k) for s in samples for k in range(len(specs))}
    origin = f"outputs in {out_dir} are not from the inputs in {bin_dir}"
    foreign = sorted(n for n, (_, _, ext) in found.items() if ext == "bin" and n not in expected)
    if foreign:
        known = set(samples)
        first = foreign[0]
        stem, k, _ = found[first]
        if stem in known:
            why = (f"{first}: its manifest lists {len(specs)} output(s) per sample, this is output {k} "
                   f"(a model with more outputs)")
        else:
            why = (f"{first} belongs to no sample of {MANIFEST} ({len(foreign)} such file(s); samples are "
                   f"e.g. {samples[0]!r}; outputs named after the model come from file mode, run "
                   f"folder mode with --input {','.join(input_folders(bin_dir))})")
        raise UserError(f"{origin}: {why}")
    missing = [n for n in expected if n not in found]
    if missing:
        if all(found.get(n[:-4] + ".txt") for n in missing):
            raise UserError(f"{out_dir} holds TXT outputs: read_outputs reads BIN, run with --outfmt BIN")
        raise UserError(f"outputs in {out_dir} are incomplete for the inputs in {bin_dir}: "
                        f"{missing[0]} not found ({len(missing)} of {len(expected)} output files missing)")
    for name, (sample, k) in expected.items():
        spec = specs[k]
        want = binio.expected_nbytes(spec["shape"], spec["dtype"])
        got = os.path.getsize(os.path.join(out_dir, name))
        if got != want:
            raise UserError(f"{origin}: {name} is {got} bytes, expected {want} for output {k} of shape "
                            f"{spec['shape']} {spec['dtype']}")
    arrays = []
    for k, spec in enumerate(specs):
        arrays.append(np.stack([binio.read_bin(os.path.join(out_dir, f"{s}_output_{k}.bin"), spec["shape"],
                                               spec["dtype"]) for s in samples]))
    return arrays, out_dir
