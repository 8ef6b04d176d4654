"""Freeze a tf.function to a .pb, convert it to ONNX, run both, and compare every path's outputs.

Names are what ATC and msame see: graph inputs are the ``tf.TensorSpec`` names of the
tf.function's ``input_signature`` (``x_real``, ``c_trg``) and outputs are tensor names such as
``G/Tanh:0`` (give the op its name with a name scope: ``with tf.name_scope("G"): tf.math.tanh(y,
name="Tanh")``). In the ONNX file the ``:0`` suffix is dropped from input names so that the same
``--input_shape`` names work for both; feeds accept a name with or without ``:0`` everywhere.

One call freezes, finalizes and writes both files, checking both paths before any work:

    paths = export_graph(serve.get_concrete_function(), "out/model.pb", inputs=["x_real", "c_trg"],
                         outputs=["G/Tanh:0"], onnx_path="out/model.onnx")   # {"pb": ..., "onnx": ...}

TensorFlow, tf2onnx and onnxruntime are imported inside the functions that need them.
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Iterable, Mapping, Sequence

import numpy as np

from .errors import UserError, check_output_file, require_file

Signature = tuple[str, tuple[int, ...], np.dtype]  # (name, shape with -1 for unknown, dtype)


def _base(name: str) -> str:
    """``"x_real:0"`` -> ``"x_real"``; other output indices are kept (``"split:1"``)."""
    return name[:-2] if name.endswith(":0") else name


def _tensor_name(name: str) -> str:
    """``"G/Tanh"`` -> ``"G/Tanh:0"``; a name that already has ``:k`` is kept."""
    head, sep, tail = name.rpartition(":")
    return name if sep and tail.isdigit() else f"{name}:0"


def _match_feed(feed: Mapping[str, np.ndarray], names: Sequence[str], where: str) -> dict:
    """Map ``feed`` (keys with or without ``:0``) onto the model's input ``names``."""
    by_base = {_base(k): v for k, v in feed.items()}
    unknown = sorted(set(by_base) - {_base(n) for n in names})
    if unknown:
        raise UserError(f"{where}: unknown input(s) {unknown}; the model's inputs are "
                        f"{[_base(n) for n in names]}")
    missing = [n for n in names if _base(n) not in by_base]
    if missing:
        raise UserError(f"{where}: no value fed for input(s) {[_base(n) for n in missing]}")
    return {n: np.asarray(by_base[_base(n)]) for n in names}


# ---- freezing ----------------------------------------------------------------------------------

def freeze(concrete_fn):
    """Fold the variables of a concrete tf.function into constants; returns a ``tf.compat.v1.GraphDef``.

    Input nodes are Placeholders named after the input_signature ``TensorSpec`` names.
    """
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    frozen = convert_variables_to_constants_v2(concrete_fn)
    return frozen.graph.as_graph_def()


def _node_name(name: str) -> str:
    """``"G/Tanh:0"`` -> ``"G/Tanh"``; ``"^NoOp"`` -> ``"NoOp"``; ``"output"`` as is."""
    name = name.lstrip("^")
    head, sep, tail = name.rpartition(":")
    return head if sep and tail.isdigit() else name


def _same_tensor(a: str, b: str) -> bool:
    return _tensor_name(a.lstrip("^")) == _tensor_name(b.lstrip("^"))


def finalize_graph(graph_def, inputs: Sequence[str], outputs: Sequence[str],
                   drop_return_identity: bool = True):
    """A frozen GraphDef made ready for ATC, tf2onnx and the runner; returns a new GraphDef.

    - drops the ``Identity(output, ^NoOp)`` sinks that ``convert_variables_to_constants_v2`` appends
      after each returned tensor (and the NoOps only they used), so the named outputs are the sinks;
    - puts the Placeholders first, in the order of ``inputs`` (tools that list inputs, such as ATC's
      ``--input_shape`` built by :mod:`common_tools.atc`, then read them in that order);
    - checks that every name in ``inputs`` is a Placeholder and every name in ``outputs`` a node:
      a UserError names the missing ones (e.g. after a TF/Keras change renamed a node).

    ``inputs``/``outputs``: node or tensor names (``"input1"``, ``"x_real:0"``, ``"G/Tanh:0"``).

        graph_def = finalize_graph(freeze(fn), inputs=["input1", "input2"], outputs=["output"])
    """
    import tensorflow as tf

    out = tf.compat.v1.GraphDef()
    out.CopyFrom(graph_def)
    in_nodes = [_node_name(n) for n in inputs]
    out_tensors = [_tensor_name(n) for n in outputs]
    out_nodes = {_node_name(n) for n in outputs}
    by_name = {n.name: n for n in out.node}
    missing_in = [n for n in in_nodes if n not in by_name]
    missing_out = [_node_name(n) for n in out_tensors if _node_name(n) not in by_name]
    if missing_in or missing_out:
        found = [n.name for n in out.node if n.op == "Placeholder"]
        raise UserError(f"the frozen graph lacks node(s) {missing_in + missing_out} "
                        f"(its placeholders are {found}): a TF/Keras change may have renamed them")
    not_placeholders = [n for n in in_nodes if by_name[n].op != "Placeholder"]
    if not_placeholders:
        raise UserError(f"input node(s) {not_placeholders} of the frozen graph are not Placeholders "
                        f"({', '.join(by_name[n].op for n in not_placeholders)})")
    if len(set(in_nodes)) != len(in_nodes):
        raise UserError(f"inputs {list(inputs)} name one node twice")

    nodes = list(out.node)
    if drop_return_identity:
        consumed = {_node_name(i) for n in nodes for i in n.input}
        drop = set()
        for n in nodes:
            data = [i for i in n.input if not i.startswith("^")]
            if (n.op == "Identity" and n.name not in out_nodes and n.name not in consumed
                    and len(data) == 1 and any(_same_tensor(data[0], t) for t in out_tensors)):
                drop.add(n.name)
        control = {_node_name(i) for n in nodes if n.name in drop for i in n.input if i.startswith("^")}
        nodes = [n for n in nodes if n.name not in drop]
        still = {_node_name(i) for n in nodes for i in n.input}
        nodes = [n for n in nodes if not (n.op == "NoOp" and n.name in control and n.name not in still)]
    order = {name: i for i, name in enumerate(in_nodes)}
    nodes.sort(key=lambda n: order.get(n.name, len(order)))  # stable: the rest keep their order
    del out.node[:]
    out.node.extend(nodes)
    return out


def _write_proto(proto, path, what: str = "output file") -> str:
    """Serialize a protobuf message (GraphDef, ONNX ModelProto) to ``path``, making its folder."""
    path = check_output_file(path, what=what)
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())
    return path


def save_pb(graph_def, path, what: str = ".pb path") -> str:
    """Write ``graph_def`` as a binary .pb (the file ATC's ``--framework=3`` reads)."""
    return _write_proto(graph_def, path, what=what)


def export_graph(concrete_fn, pb_path, inputs: Sequence[str], outputs: Sequence[str], onnx_path=None,
                 opset: int = 13, drop_return_identity: bool = True, pb_what: str = ".pb path",
                 onnx_what: str = "ONNX path") -> dict:
    """Freeze ``concrete_fn``, :func:`finalize_graph` it, write the .pb and (when ``onnx_path``) the .onnx.

    Both output paths are checked (:func:`common_tools.errors.check_output_file`, messages naming
    ``pb_what`` / ``onnx_what``, e.g. the CLI flags) BEFORE anything is frozen or written, so a bad
    ``--onnx`` path fails in one line and leaves no .pb behind. Returns ``{"pb": path[, "onnx": path]}``.

        export_graph(fn, "out/model.pb", ["input1", "input2", "input3"], ["output"], "out/model.onnx")
    """
    pb_path = check_output_file(pb_path, what=pb_what)
    if onnx_path is not None:
        onnx_path = check_output_file(onnx_path, what=onnx_what)
        if os.path.abspath(onnx_path) == os.path.abspath(pb_path):
            raise UserError(f"{onnx_what} {onnx_path} is the {pb_what} too: expected two different files")
    graph_def = finalize_graph(freeze(concrete_fn), inputs, outputs,
                               drop_return_identity=drop_return_identity)
    paths = {"pb": save_pb(graph_def, pb_path, what=pb_what)}
    if onnx_path is not None:
        paths["onnx"] = pb_to_onnx(pb_path, onnx_path, inputs, outputs, opset=opset, what=onnx_what)
    return paths


def load_graph_def(path):
    """Read a binary frozen GraphDef; a file that is not one is a UserError naming it."""
    import tensorflow as tf

    require_file(path, "frozen graph (.pb)")
    graph_def = tf.compat.v1.GraphDef()
    try:
        with open(path, "rb") as f:
            graph_def.ParseFromString(f.read())
    except Exception as exc:  # protobuf DecodeError and friends
        raise UserError(f"{path}: not a binary frozen GraphDef ({type(exc).__name__})") from exc
    return graph_def


def placeholders(graph_def) -> list[Signature]:
    """The Placeholder nodes of ``graph_def`` as (name, shape, dtype); unknown dims are -1."""
    import tensorflow as tf

    found = []
    for node in graph_def.node:
        if node.op != "Placeholder":
            continue
        dtype = np.dtype(tf.as_dtype(node.attr["dtype"].type).as_numpy_dtype)
        shape_attr = node.attr["shape"].shape
        if shape_attr.unknown_rank:
            shape: tuple[int, ...] = ()
        else:
            shape = tuple(int(d.size) if d.size >= 0 else -1 for d in shape_attr.dim)
        found.append((node.name, shape, dtype))
    return found


def _sink_outputs(graph_def) -> list[str]:
    """Tensor names of nodes nothing else consumes (the graph's natural outputs)."""
    consumed = set()
    for node in graph_def.node:
        for name in node.input:
            consumed.add(name.lstrip("^").split(":")[0])
    skip = {"NoOp", "Const", "Placeholder", "Assert", "SaveV2", "RestoreV2"}
    return [f"{n.name}:0" for n in graph_def.node if n.name not in consumed and n.op not in skip]


class FrozenGraph:
    """A frozen .pb ready to run: ``.inputs`` [(name, shape, dtype)], ``.outputs`` tensor names.

    ``outputs`` defaults to the tensors no other node consumes; pass e.g. ``["G/Tanh:0"]`` to pick.
    """

    def __init__(self, path, outputs: Sequence[str] | None = None):
        import tensorflow as tf

        self.path = os.fspath(path)
        self.graph_def = load_graph_def(self.path)
        self.inputs: list[Signature] = placeholders(self.graph_def)
        self.outputs: list[str] = [_tensor_name(o) for o in (outputs or _sink_outputs(self.graph_def))]
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.compat.v1.import_graph_def(self.graph_def, name="")
        for name in self.outputs:
            try:
                self.graph.get_tensor_by_name(name)
            except (KeyError, ValueError) as exc:
                raise UserError(f"{self.path}: no tensor named {name!r} in the graph") from exc
        self._session = tf.compat.v1.Session(graph=self.graph)

    def run(self, feed: Mapping[str, np.ndarray], outputs: Sequence[str] | None = None) -> list[np.ndarray]:
        """Run once; ``feed`` keys are input names with or without ``:0``."""
        names = [f"{n}:0" for n, _, _ in self.inputs]
        matched = _match_feed(feed, names, self.path)
        fetches = [_tensor_name(o) for o in (outputs or self.outputs)]
        try:
            values = self._session.run(fetches, feed_dict=matched)
        except (KeyError, ValueError) as exc:
            raise UserError(f"{self.path}: {str(exc).splitlines()[0]}") from exc
        return [np.asarray(v) for v in values]

    def close(self) -> None:
        self._session.close()


# ---- ONNX --------------------------------------------------------------------------------------

def _rename_value(graph, old: str, new: str) -> None:
    """Rename a value everywhere it appears in ``graph`` (and its subgraphs)."""
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        if value.name == old:
            value.name = new
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new
        for i, name in enumerate(node.output):
            if name == old:
                node.output[i] = new
        for attr in node.attribute:
            if attr.g is not None and attr.HasField("g"):
                _rename_value(attr.g, old, new)
            for sub in attr.graphs:
                _rename_value(sub, old, new)


def pb_to_onnx(pb_path, onnx_path, inputs: Sequence[str], outputs: Sequence[str], opset: int = 13,
               what: str = "ONNX path") -> str:
    """Convert a frozen .pb to ONNX with tf2onnx, keeping the graph's names.

    ``inputs``/``outputs`` are tensor names (``"x_real:0"`` or ``"x_real"``, ``"G/Tanh:0"``). ONNX
    input names are the node names without ``:0`` (the names ATC and msame use); output names stay
    the TF tensor names tf2onnx gives them (``"G/Tanh:0"``).
    """
    import logging

    import tf2onnx

    onnx_path = check_output_file(onnx_path, what=what)  # before the (slow) conversion
    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    graph_def = load_graph_def(pb_path)
    in_names = [_tensor_name(n) for n in inputs]
    out_names = [_tensor_name(n) for n in outputs]
    known = {n for n, _, _ in placeholders(graph_def)}
    for name in in_names:
        if _base(name) not in known:
            raise UserError(f"{pb_path}: no input (Placeholder) named {_base(name)!r}; "
                            f"inputs are {sorted(known)}")
    nodes = {n.name for n in graph_def.node}
    for name in out_names:
        if name.rpartition(":")[0] not in nodes:
            raise UserError(f"{pb_path}: no output node named {name.rpartition(':')[0]!r}")
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)  # tf2onnx's TF1 calls log deprecation notices
    try:
        model_proto, _ = tf2onnx.convert.from_graph_def(
            graph_def, input_names=in_names, output_names=out_names, opset=opset)
    except Exception as exc:  # tf2onnx raises plain ValueError/RuntimeError for unsupported graphs
        raise UserError(f"{pb_path}: tf2onnx could not convert it (opset {opset}): "
                        f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
    finally:
        tf_logger.setLevel(level)
    taken = {v for node in model_proto.graph.node for v in (*node.input, *node.output)}
    for name in in_names:
        if _base(name) != name and _base(name) not in taken:  # never merge two values
            _rename_value(model_proto.graph, name, _base(name))
    return _write_proto(model_proto, onnx_path, what=what)


_ORT_TYPES = {
    "tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
    "tensor(int8)": np.int8, "tensor(uint8)": np.uint8, "tensor(int16)": np.int16,
    "tensor(uint16)": np.uint16, "tensor(int32)": np.int32, "tensor(uint32)": np.uint32,
    "tensor(int64)": np.int64, "tensor(uint64)": np.uint64, "tensor(bool)": np.bool_,
}
_PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


def _ort_signature(arg) -> Signature:
    if arg.type not in _ORT_TYPES:
        raise UserError(f"ONNX value {arg.name!r} has type {arg.type}, which the runner does not handle")
    shape = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in (arg.shape or []))
    return arg.name, shape, np.dtype(_ORT_TYPES[arg.type])


class OnnxModel:
    """An ONNX Runtime session: ``.inputs``/``.output_signatures`` [(name, shape, dtype)], ``.outputs`` names."""

    def __init__(self, path, provider: str = "cpu", device_id: int = 0):
        import onnxruntime as ort

        self.path = os.fspath(path)
        require_file(self.path, "ONNX model")
        if provider not in _PROVIDERS:
            raise UserError(f"unknown provider {provider!r}: expected one of {sorted(_PROVIDERS)}")
        wanted = _PROVIDERS[provider]
        available = ort.get_available_providers()
        if wanted not in available:
            raise UserError(f"provider {provider!r} ({wanted}) is not available in this onnxruntime; "
                            f"available: {', '.join(available)}")
        providers: list = [wanted]
        if wanted == "CUDAExecutionProvider":
            providers = [(wanted, {"device_id": int(device_id)}), "CPUExecutionProvider"]
        try:
            self.session = ort.InferenceSession(self.path, providers=providers)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph classes
            raise UserError(f"{self.path}: onnxruntime cannot load it: {str(exc).splitlines()[0]}") from exc
        self.inputs: list[Signature] = [_ort_signature(a) for a in self.session.get_inputs()]
        self.output_signatures: list[Signature] = [_ort_signature(a) for a in self.session.get_outputs()]
        self.outputs: list[str] = [a.name for a in self.session.get_outputs()]

    def run(self, feed: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Run once; ``feed`` keys are input names with or without ``:0``."""
        matched = _match_feed(feed, [n for n, _, _ in self.inputs], self.path)
        return list(self.session.run(self.outputs, matched))


# ---- parity ------------------------------------------------------------------------------------

def parity_report(results: Mapping[str, Sequence[np.ndarray]]) -> dict:
    """Compare every pair of paths (``"online"``, ``"pb"``, ``"onnx"``, ``"om"``) output by output.

    Returns ``{"online vs pb": {"max_abs": [per output], "mean_abs": [per output]}, ...}``
    (differences taken in float64).
    """
    report: dict = {}
    for (name_a, outs_a), (name_b, outs_b) in itertools.combinations(results.items(), 2):
        if len(outs_a) != len(outs_b):
            raise UserError(f"parity: {name_a} has {len(outs_a)} outputs, {name_b} has {len(outs_b)}")
        max_abs, mean_abs = [], []
        for i, (a, b) in enumerate(zip(outs_a, outs_b)):
            a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
            if a.size != b.size:
                raise UserError(f"parity: output {i} of {name_a} has shape {a.shape}, "
                                f"of {name_b} {b.shape}")
            diff = np.abs(a.reshape(-1) - b.reshape(-1))
            max_abs.append(float(diff.max()) if diff.size else 0.0)
            mean_abs.append(float(diff.mean()) if diff.size else 0.0)
        report[f"{name_a} vs {name_b}"] = {"max_abs": max_abs, "mean_abs": mean_abs}
    return report


def write_parity(report: dict, path, what: str = "parity report path") -> str:
    """Write a parity report as JSON."""
    path = check_output_file(path, what=what)
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    return path


def format_parity(report: dict) -> str:
    """A small text table: one row per pair and output."""
    rows: list[Iterable[str]] = [("pair", "output", "max_abs", "mean_abs")]
    for pair, stats in report.items():
        for i, (mx, mean) in enumerate(zip(stats["max_abs"], stats["mean_abs"])):
            rows.append((pair, str(i), f"{mx:.3e}", f"{mean:.3e}"))
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
