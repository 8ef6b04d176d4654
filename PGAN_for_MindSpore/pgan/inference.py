"""The averaged generator for evaluation and export, rebuilt from its checkpoint (no training code).

The card asks the user to edit ``scales``/``depth`` in eval.py to match the checkpoint; here the
architecture comes from the checkpoint itself: the number of scales from its toRGB layers, the
feature maps and the latent size from the weight shapes, and the leaky slope from the run's
``config.json`` when the file sits in a run folder (``<run>/checkpoints/AvG_N.ckpt``), whose depths
must then agree.

    G, info = load_generator("runs/pgan/checkpoints/AvG_5000.ckpt")   # info["resolution"] == 32
    grid = grid_image(generate(G, noise(64, G.latent_dim, seed=1)), tile=128)
"""

from __future__ import annotations

import os
import re

import numpy as np

from common_tools import runs
from common_tools.errors import UserError
from common_tools.ms_checkpoint import checkpoint_file, load_params, read_checkpoint

from .config import PGANConfig
from .network_G import Generator

_TO_RGB = re.compile(r"^to_rgb\.(\d+)\.weight$")


def generator_architecture(params: dict, where: str) -> dict:
    """{"depth", "latent_dim", "image_channels", "num_scales"} from a generator's parameter shapes."""
    if "format_layer.weight" not in params or "scale0.weight" not in params:
        raise UserError(f"{where} holds no generator (no format_layer.weight / scale0.weight): give the "
                        "AvG_<step>.ckpt (or G_<step>.ckpt) of a run")
    scales = sorted(int(m.group(1)) for k in params if (m := _TO_RGB.match(k)))
    if not scales or scales != list(range(len(scales))):
        raise UserError(f"{where} has no consecutive to_rgb.<k>.weight entries: not a progressive generator")
    depth = [int(params["scale0.weight"].shape[0])]
    for k in range(1, len(scales)):
        key = f"scale_layers.{k - 1}.conv1.weight"
        if key not in params:
            raise UserError(f"{where} has to_rgb.{k} but no {key}")
        depth.append(int(params[key].shape[0]))
    return {"depth": tuple(depth), "latent_dim": int(params["format_layer.weight"].shape[1]),
            "image_channels": int(params["to_rgb.0.weight"].shape[0]), "num_scales": len(scales)}


def _run_config(path: str):
    """The PGANConfig of the run folder the checkpoint lives in, or None."""
    run_dir = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    if os.path.isfile(os.path.join(run_dir, runs.CONFIG_NAME)):
        try:
            return runs.load_config(PGANConfig, run_dir)
        except UserError:
            return None
    return None


def load_generator(path_or_dir, scale=None, conv_form="auto", key="AvG"):
    """(Generator with the checkpoint's weights, info). ``path_or_dir``: a .ckpt file, a manifest, a
    run's checkpoints/ folder or a run folder (its newest ``key`` checkpoint). ``scale``: the
    resolution the caller expects; another one is a one-line UserError saying which it holds."""
    given = os.fspath(path_or_dir)
    if os.path.isdir(given) and os.path.isdir(os.path.join(given, "checkpoints")):
        given = os.path.join(given, "checkpoints")
    path = checkpoint_file(given, key)
    params = read_checkpoint(path, "--checkpoint_g")
    arch = generator_architecture(params, path)
    resolution = 4 * 2 ** (arch["num_scales"] - 1)
    if scale is not None and int(scale) != resolution:
        scales = f"{arch['num_scales']} scale" + ("s" if arch["num_scales"] > 1 else "")
        raise UserError(f"{path} holds a {resolution}x{resolution} generator ({scales}, depth "
                        f"{list(arch['depth'])}), not {scale}x{scale}: give a checkpoint of that scale or "
                        f"--scale {resolution}")
    cfg = _run_config(path)
    slope = 0.2
    if cfg is not None:
        if tuple(cfg.depth[: arch["num_scales"]]) != arch["depth"] or cfg.latent_dim != arch["latent_dim"]:
            raise UserError(f"{path} does not match its run's config.json: depth {list(arch['depth'])} and latent "
                            f"{arch['latent_dim']} in the checkpoint, {list(cfg.depth)} and {cfg.latent_dim} there")
        slope = cfg.leaky_slope
    G = Generator(arch["depth"], arch["latent_dim"], num_scales=arch["num_scales"],
                  image_channels=arch["image_channels"], leaky_slope=slope, conv_form=conv_form)
    load_params(G, params, f"--checkpoint_g {path}")
    G.set_train(False)
    return G, {**arch, "resolution": resolution, "path": path, "leaky_slope": slope}


def card_device(device: str, device_target=None) -> str:
    """The card's --device_target (Ascend, GPU, CPU) as a common_tools.device name; else ``device``."""
    if not device_target:
        return device
    mapping = {"ascend": "npu", "gpu": "gpu", "cpu": "cpu"}
    if str(device_target).lower() not in mapping:
        raise UserError(f"--device_target {device_target!r}: expected Ascend, GPU or CPU")
    return mapping[str(device_target).lower()]


def noise(count: int, latent_dim: int, seed: int = 1) -> np.ndarray:
    """The card's eval noise: np.random.seed(seed); np.random.randn(count, latent) as float32."""
    return np.random.RandomState(seed).randn(count, latent_dim).astype(np.float32)


def generate(G, z, alpha: float = 0.0, batch: int = 64) -> np.ndarray:
    """uint8 NHWC images of G(z, alpha), clipped to [-1, 1] (the card's resize_tensor without the resize)."""
    import mindspore as ms

    out = []
    for i in range(0, len(z), batch):
        x = G(ms.Tensor(np.asarray(z[i:i + batch], np.float32)), ms.Tensor(float(alpha), ms.float32)).asnumpy()
        out.append(np.clip(x, -1.0, 1.0).transpose(0, 2, 3, 1))
    images = np.concatenate(out)
    return np.round((images + 1.0) * 127.5).astype(np.uint8)


def grid_image(images: np.ndarray, tile: int = 128, ncol: int = 8):
    """The card's image_compose: tiles resized to tile x tile (PIL bilinear), ncol per row, no gaps."""
    from PIL import Image

    n = len(images)
    nrow = -(-n // ncol)
    sheet = Image.new("RGB", (ncol * tile, nrow * tile))
    for i, image in enumerate(images):
        tile_img = Image.fromarray(image).resize((tile, tile), resample=Image.BILINEAR)
        sheet.paste(tile_img, ((i % ncol) * tile, (i // ncol) * tile))
    return sheet
