"""The card's offline files: pic2bin's two inputs, the three generated-image outputs, getAcc's check.

msame's file mode (``--input fake_image.bin,label.bin``) feeds one batch of 256:

    <bin_dir>/fake_image.bin    x1  float32 [256, latent_dim]   z ~ truncated normal (±2 sd), as in training
    <bin_dir>/label.bin         x2  int32   [256]               class of each sample, 0..9 (i mod 10)
    gpu_out.bin / pb_out.bin / bigbigan_output_0.bin             float32 [256, 32, 32, C] in [0, 1]

(the online Keras model's, the frozen .pb's and the .om's (or ONNX runner's) images of these
inputs). The card's pic2bin drew the noise uniformly from [0, 1): G never saw such z in training,
so its images were off-distribution; here it is the training distribution. Every reader checks
sizes (the file named, bytes expected and found) and labels before use.

    z, y = draw_inputs(seed=0)                     # [256, 100] float32, [256] int32
    write_inputs("bin", z, y)
    z, y = read_inputs("bin")                      # sizes and labels checked
    report = compare({"gpu": a, "pb": b, "om": c})  # {"gpu vs pb": {"max_abs": [..], "mean_abs": [..]}, ...}
"""

from __future__ import annotations

import os
import sys

import numpy as np

from common_tools import binio
from common_tools.errors import UserError

BATCH = 256                          # the card's offline batch (ATC: x1:256,100;x2:256)
NOISE_FILE = "fake_image.bin"        # x1
LABEL_FILE = "label.bin"             # x2
GPU_FILE = "gpu_out.bin"             # the online model's images (models/main.py)
PB_FILE = "pb_out.bin"               # the frozen graph's images (pb_validate.py)
OM_FILE = "bigbigan_output_0.bin"    # msame's (or the runner's) images of bigbigan.om / .onnx
IMAGE_SIZE = 32
TRUNCATION = 2.0                     # tf.random.truncated_normal: redrawn beyond 2 sd


def truncated_normal(rng: np.random.Generator, shape, bound: float = TRUNCATION) -> np.ndarray:
    """float32 N(0, 1) samples redrawn until |x| <= bound (tf.random.truncated_normal's law)."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > bound
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > bound
    return out.astype(np.float32)


def draw_inputs(seed: int = 0, batch: int = BATCH, latent_dim: int = 100, num_classes: int = 10):
    """(z float32 [batch, latent_dim] ~ truncated normal, y int32 [batch] = i mod num_classes)."""
    rng = np.random.default_rng(seed)
    z = truncated_normal(rng, (batch, latent_dim))
    y = (np.arange(batch) % num_classes).astype(np.int32)
    return z, y


def write_inputs(bin_dir, z, y) -> tuple:
    """Write fake_image.bin and label.bin into ``bin_dir``; returns their paths."""
    z, y = np.asarray(z, np.float32), np.asarray(y, np.int32)
    noise, label = os.path.join(bin_dir, NOISE_FILE), os.path.join(bin_dir, LABEL_FILE)
    binio.write_bin(noise, z)
    binio.write_bin(label, y)
    return noise, label


def input_paths(bin_dir) -> tuple:
    """(fake_image.bin, label.bin) paths of ``bin_dir``, both checked to exist (one line otherwise)."""
    bin_dir = os.fspath(bin_dir)
    if not os.path.isdir(bin_dir):
        raise UserError(f"input bin folder not found: {bin_dir} (expected the --output_bin_dir of "
                        f"pic2bin.py, holding {NOISE_FILE} and {LABEL_FILE})")
    paths = (os.path.join(bin_dir, NOISE_FILE), os.path.join(bin_dir, LABEL_FILE))
    for path in paths:
        if not os.path.isfile(path):
            raise UserError(f"{bin_dir} has no {os.path.basename(path)}: run "
                            f"python pic2bin.py --output_bin_dir {bin_dir} first")
    return paths


def read_inputs(bin_dir, latent_dim: int = 100, batch: int = BATCH, num_classes: int = 10,
                stream=None):
    """(z float32 [batch, latent_dim], y int32 [batch]) from ``bin_dir``, checked: sizes, finite
    noise, labels in 0..num_classes-1. Noise that looks like the card's uniform [0, 1) is said."""
    noise_path, label_path = input_paths(bin_dir)
    z = binio.read_bin(noise_path, (batch, latent_dim), "float32")
    y = binio.read_bin(label_path, (batch,), "int32")
    if not np.isfinite(z).all():
        raise UserError(f"{noise_path}: {int((~np.isfinite(z)).sum())} non-finite values; expected "
                        "noise drawn from a truncated normal")
    if y.min() < 0 or y.max() >= num_classes:
        bad = y[(y < 0) | (y >= num_classes)]
        raise UserError(f"{label_path}: label {int(bad[0])} ({len(bad)} outside the range); expected "
                        f"int32 classes 0..{num_classes - 1}")
    if z.min() >= 0.0 and z.max() < 1.0:
        print(f"note: {noise_path} holds only values in [0, 1) (the card's uniform noise); G was "
              "trained on truncated-normal z, so its images will be off-distribution",
              file=stream or sys.stderr, flush=True)
    return z, y


def image_shape(path, batch: int = BATCH) -> tuple:
    """[batch, 32, 32, C] of an image .bin, C (1 or 3) from its size; one line for any other size."""
    size = os.path.getsize(path)
    per_channel = batch * IMAGE_SIZE * IMAGE_SIZE * 4
    if size % per_channel or size // per_channel not in (1, 3):
        raise UserError(f"{path}: {size} bytes; expected float32 [{batch}, {IMAGE_SIZE}, {IMAGE_SIZE}, C] "
                        f"images, C = 1 ({per_channel} bytes) or 3 ({3 * per_channel} bytes)")
    return (batch, IMAGE_SIZE, IMAGE_SIZE, size // per_channel)


def read_images(path, batch: int = BATCH) -> np.ndarray:
    """float32 [batch, 32, 32, C] images from one of the three output files."""
    if not os.path.isfile(path):
        raise UserError(f"image .bin not found: {path}")
    return binio.read_bin(path, image_shape(path, batch), "float32")


def write_images(path, images) -> str:
    """Write float32 images as raw .bin (gpu_out.bin, pb_out.bin)."""
    binio.write_bin(path, np.asarray(images, np.float32))
    return path


def resolve_file(path, name: str, what: str) -> str:
    """``path`` when it is a file, else ``path/<name>`` (the card names a folder or the file)."""
    path = os.fspath(path)
    if os.path.isfile(path):
        return path
    if os.path.isdir(path):
        candidate = os.path.join(path, name)
        if os.path.isfile(candidate):
            return candidate
        raise UserError(f"{what} {path} is a folder without {name}")
    raise UserError(f"{what} not found: {path} (expected {name} or the folder holding it)")


def resolve_om_output(path) -> str:
    """msame's output: the file itself, a folder holding it, or the --output root (the newest
    timestamped subfolder holding bigbigan_output_0.bin, as msame and the runner write)."""
    path = os.fspath(path)
    if os.path.isfile(path) or (os.path.isdir(path) and os.path.isfile(os.path.join(path, OM_FILE))):
        return resolve_file(path, OM_FILE, "--input_om_out")
    if os.path.isdir(path):                   # the newest subfolder that holds it (getAcc's own
        found = [e for e in os.scandir(path)  # output folder may sit beside them, as in the card)
                 if e.is_dir() and not e.name.startswith(".") and os.path.isfile(os.path.join(e.path, OM_FILE))]
        if not found:
            raise UserError(f"--input_om_out {path}: no {OM_FILE} in it or in its subfolders; run msame "
                            f"(or python -m common_tools.runner) with --output {path} first")
        return os.path.join(max(found, key=lambda e: (e.stat().st_mtime, e.name)).path, OM_FILE)
    raise UserError(f"--input_om_out not found: {path} (expected {OM_FILE}, or msame's --output folder)")


def compare(outputs: dict) -> dict:
    """Pairwise max / mean absolute difference of same-shaped image sets, e.g. gpu, pb, om."""
    from common_tools.export import parity_report

    shapes = {name: np.shape(a) for name, a in outputs.items()}
    if len(set(shapes.values())) != 1:
        raise UserError("the image files differ in shape: " +
                        ", ".join(f"{k} {list(v)}" for k, v in shapes.items()) +
                        "; expected the outputs of one model for the same inputs")
    return parity_report({name: [a] for name, a in outputs.items()})


def format_report(report: dict) -> str:
    lines = [f"{'pair':<14} {'max_abs':>10} {'mean_abs':>10}"]
    for pair, stats in report.items():
        lines.append(f"{pair:<14} {stats['max_abs'][0]:>10.3e} {stats['mean_abs'][0]:>10.3e}")
    return "\n".join(lines)


def save_images(out_dir, outputs: dict, show: str = "om", first: int = 8) -> dict:
    """Write ``outputs[show]`` as one PNG per image plus a 16×16 grid, and the first ``first``
    images of every set side by side (one column per set, left to right in ``outputs`` order)."""
    from common_tools.grids import make_grid, save_grid, save_png

    os.makedirs(out_dir, exist_ok=True)
    images = outputs[show]
    single = os.path.join(out_dir, "images")
    os.makedirs(single, exist_ok=True)
    for i, img in enumerate(images):
        save_png(os.path.join(single, f"{show}_{i:03d}.png"), img, value_range=(0, 1))
    grid = os.path.join(out_dir, f"{show}_grid.png")
    save_grid(grid, images, nrow=16, value_range=(0, 1))
    columns = [make_grid(a[:first], nrow=1, value_range=(0, 1)) for a in outputs.values()]
    gap = np.full((columns[0].shape[0], 8, 3), 255, np.uint8)
    joined = [part for col in columns for part in (col, gap)][:-1]
    side = os.path.join(out_dir, "side_by_side.png")
    save_png(side, np.concatenate(joined, axis=1))
    return {"images": single, "grid": grid, "side_by_side": side}
