"""The card's offline inference flow (run_infer_310.sh) over ``common_tools.offline``: noise .bin
inputs -> the exported generator (MindIR on Ascend 310, .om through msame, .onnx through the open
runner) -> ``result_Files/generated_<N>.png`` and ``time_Result/``. No MindSpore, no TensorFlow.

    preprocess:   <bin_dir>/z/pgan_<k>.bin       noise [batch, latent] float32 (the card's seed-1 randn)
                  <bin_dir>/alpha/pgan_<k>.bin   alpha, a float32 scalar 0.0 (4 bytes)
                  <bin_dir>/manifest.json        shapes read from the model file, NIMAGES in meta
    inference:    msame / python -m common_tools.runner --input <bin_dir>/z,<bin_dir>/alpha --output result_bin
                  -> result_bin/<timestamp>/pgan_<k>_output_0.bin   [batch, 3, R, R] float32
    postprocess:  result_Files/generated_0.png .. generated_<NIMAGES-1>.png (one face each, R x R)
                  time_Result/test_perform_static.txt (the inference times the runner printed)

The batch (64 as the card exports it) and latent size come from the model's own inputs, so the
same bins fit only the graph they were written for (``read_outputs`` refuses another model's).

    manifest = write_noise("preprocess_Result", "PGAN.onnx", nimages=64)
    paths = write_images("preprocess_Result", "result_bin", "result_Files")
"""

from __future__ import annotations

import os
import re

import numpy as np

from common_tools import offline
from common_tools.errors import UserError, check_output_dir

PREFIX = "pgan_"
INPUTS = ("z", "alpha")
TIME_FILE = "test_perform_static.txt"
_TIME_LINE = re.compile(r"Inference time: ([0-9.]+) ?ms")


def _mindir_signature(path: str) -> tuple:
    from mindspore.train import mind_ir_pb2  # the protobuf only: no graph is built

    model = mind_ir_pb2.ModelProto()
    with open(path, "rb") as f:
        model.ParseFromString(f.read())
    name = mind_ir_pb2.TensorProto.DataType.Name
    ins = [(i.name.split(":")[-1], list(i.tensor[0].dims), name(i.tensor[0].data_type).lower()) for i in model.graph.input]
    outs = [(list(o.tensor[0].dims), name(o.tensor[0].data_type).lower()) for o in model.graph.output]
    return ins, outs


def _onnx_signature(path: str) -> tuple:
    import onnx
    from onnx import helper

    graph = onnx.load(path, load_external_data=False).graph
    init = {t.name for t in graph.initializer}

    def dims(value):
        return [d.dim_value if d.HasField("dim_value") else -1 for d in value.type.tensor_type.shape.dim]

    def dtype(value):
        return np.dtype(helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)).name

    ins = [(v.name, dims(v), dtype(v)) for v in graph.input if v.name not in init]
    return ins, [(dims(v), dtype(v)) for v in graph.output]


def model_signature(path) -> dict:
    """{"inputs": [(name, shape, dtype)], "outputs": [(shape, dtype)], "batch", "latent_dim",
    "resolution"} of an exported PGAN generator (.onnx or .mindir; .om: pass the .onnx or .mindir
    it came from)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f"model not found: {path} (export one: python export.py --checkpoint_g AvG_N.ckpt "
                        "--file_format MINDIR or ONNX)")
    low = path.lower()
    try:
        if low.endswith(".onnx"):
            ins, outs = _onnx_signature(path)
        elif low.endswith(".mindir"):
            ins, outs = _mindir_signature(path)
        else:
            raise UserError(f"{path}: expected the .mindir or .onnx export.py writes (for an .om, give "
                            "--model_signature the .onnx/.mindir it was converted from)")
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign file: say which
        raise UserError(f"{path} is not a readable model file ({type(exc).__name__})") from None
    if len(ins) != 2 or len(ins[0][1]) != 2 or ins[1][1] != [] or len(outs) != 1 or len(outs[0][0]) != 4:
        raise UserError(f"{path} is not a PGAN generator export: expected inputs z [batch, latent] and alpha "
                        f"(scalar) -> [batch, 3, R, R], got inputs {[(n, s) for n, s, _ in ins]} and outputs "
                        f"{[s for s, _ in outs]}")
    (batch, latent), (shape, _) = ins[0][1], outs[0]
    if batch < 1 or latent < 1:
        raise UserError(f"{path}: input z has a dynamic shape {ins[0][1]}; export with a fixed --batch_size")
    return {"inputs": ins, "outputs": outs, "batch": int(batch), "latent_dim": int(latent),
            "resolution": int(shape[-1])}


def write_noise(bin_dir, model_path, nimages: int, seed: int = 1) -> dict:
    """The card's preprocess: ceil(nimages / batch) noise files + alpha 0.0 each; returns the manifest.

    The noise is the card's (``np.random.seed(seed); randn(count, latent)``) for all images at once,
    so the first 64 images are eval.py's 64 faces.
    """
    if int(nimages) < 1:
        raise UserError(f"NIMAGES must be >= 1, got {nimages}")
    sig = model_signature(model_path)
    batch, latent, r = sig["batch"], sig["latent_dim"], sig["resolution"]
    count = -(-int(nimages) // batch)
    z = np.random.RandomState(seed).randn(count * batch, latent).astype(np.float32)
    alpha = np.float32(0.0).reshape(())
    samples = ((f"{PREFIX}{k:04d}", {"z": z[k * batch:(k + 1) * batch], "alpha": alpha}) for k in range(count))
    return offline.write_inputs(
        bin_dir, {"z": ((batch, latent), "float32"), "alpha": ((), "float32")}, samples,
        outputs=[((batch, 3, r, r), "float32")],
        meta={"model": os.path.abspath(os.fspath(model_path)), "nimages": int(nimages), "seed": int(seed),
              "resolution": r})


def to_uint8(images: np.ndarray) -> np.ndarray:
    """G's NCHW output in [-1, 1] -> uint8 NHWC, as eval.py (clip, (x + 1) * 127.5, round)."""
    x = np.clip(np.asarray(images, np.float32), -1.0, 1.0).transpose(0, 2, 3, 1)
    return np.round((x + 1.0) * 127.5).astype(np.uint8)


def read_images(bin_dir, output) -> tuple:
    """(float32 [NIMAGES, 3, R, R] the model wrote, the output folder read), checked against the manifest."""
    manifest = offline.read_manifest(bin_dir)
    (out,), out_dir = offline.read_outputs(bin_dir, output)
    images = out.reshape((-1,) + tuple(out.shape[2:]))
    return images[: int(manifest["meta"].get("nimages", len(images)))], out_dir


def write_images(bin_dir, output, result_dir) -> list:
    """The card's postprocess: ``<result_dir>/generated_<N>.png``, one face per image; returns the paths."""
    from PIL import Image

    images, _ = read_images(bin_dir, output)
    result_dir = check_output_dir(result_dir, "result_Files")
    paths = []
    for n, image in enumerate(to_uint8(images)):
        path = os.path.join(result_dir, f"generated_{n}.png")
        Image.fromarray(image).save(path)
        paths.append(path)
    return paths


def inference_times(log_path) -> list:
    """The per-inference times (ms) msame or the runner printed into ``log_path``."""
    if not os.path.isfile(log_path):
        raise UserError(f"inference log not found: {log_path} (the runner's output, as run_infer_310.sh tees it)")
    with open(log_path, encoding="utf-8", errors="replace") as f:
        return [float(m.group(1)) for m in _TIME_LINE.finditer(f.read())]


def write_times(time_dir, times_ms) -> str:
    """``<time_dir>/test_perform_static.txt``: the model zoo's line with the average and the count."""
    if not times_ms:
        raise UserError("no 'Inference time:' lines in the inference log: the inference did not run")
    time_dir = check_output_dir(time_dir, "time_Result")
    path = os.path.join(time_dir, TIME_FILE)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"NN inference cost average time: {float(np.mean(times_ms)):.3f} ms of infer_count {len(times_ms)}\n")
        f.write("per inference (ms): " + " ".join(f"{t:.3f}" for t in times_ms) + "\n")
    return path
