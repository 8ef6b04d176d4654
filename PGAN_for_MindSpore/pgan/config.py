"""PGANConfig: every setting of a progressive-growing run, the card's YAML vocabulary as field names.

The per-scale schedule (iterations, batch size, fade length) lives in the card's YAML files beside
the entry scripts: ``910_config.yaml`` (the card's Ascend run = the paper's values, the defaults
here), ``gpu_config.yaml`` (the card's GPU run: batch 8 at 128x128, lr 0.002), ``cpu_config.yaml``
(a reduced network and schedule this CPU trains in hours), ``demo_config.yaml`` (minutes) and
``tiny_config.yaml`` (tests, seconds). :func:`from_yaml` reads one; the config is saved as
``<run_dir>/config.json`` and eval/export rebuild G from that file (or from the checkpoint's shapes).

Fade-in (the card's ``cal_each_batch_alpha``): at scale k, iteration j of that scale,

    alpha = 1 - floor(j / alpha_size_jumps[k]) / alpha_jumps[k]   while j < alpha_jumps[k] * alpha_size_jumps[k]
    alpha = 0                                                      afterwards (and always when alpha_jumps[k] == 0)

so alpha starts at 1 (the previous scale's output) and falls in ``alpha_jumps[k]`` equal steps.
Everything the loop needs at a global step (scale, alpha, batch, lr, how many images were drawn
before it) is a function of the step: :meth:`PGANConfig.phase`.

    cfg, extras = from_yaml("910_config.yaml")       # extras: train_data_path, ckpt_save_dir, ...
    cfg = PGANConfig.preset("tiny")
    cfg.phase(100_000)                               # Phase(scale_index=1, local_step=52000, alpha=0.0, ...)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import NamedTuple, Optional, Tuple

from common_tools import runs
from common_tools.errors import UserError

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # PGAN_for_MindSpore/

# card YAML keys that belong to the card's infrastructure (ModelArts, device, export), not to training:
# accepted and ignored, so the card's own files load unchanged
IGNORED_KEYS = (
    "enable_modelarts", "data_url", "train_url", "checkpoint_url", "data_path", "output_path",
    "load_path", "device_target", "gpu_distribute_training", "distributed_training", "enable_profiling",
    "dataset_name", "name", "resume_load_scale", "resume_check_d", "resume_check_g", "ckpt_file",
    "file_name", "file_format", "eval_img_save_dir", "save_ckpt_from_device_with_id",
)
# card YAML keys the entry scripts read (returned by from_yaml as extras)
SCRIPT_KEYS = ("train_data_path", "ckpt_save_dir")
PRESET_FILES = {"paper": "910_config.yaml", "tiny": "tiny_config.yaml", "demo": "demo_config.yaml"}


class Phase(NamedTuple):
    """Where a global step falls in the schedule."""
    scale_index: int      # 0 = 4x4
    local_step: int       # iteration within that scale (0-based)
    alpha: float          # fade-in coefficient of this step (1 = previous scale only, 0 = newest only)
    batch_size: int       # images of this step
    lr: float             # learning rate of this step
    resolution: int       # image side, 4 * 2 ** scale_index
    images_before: int    # images drawn by all earlier steps (the data stream's position)


@dataclass(frozen=True)
class PGANConfig(runs.Presets):
    # --- networks (fixed once trained) -------------------------------------------------------------
    depth: Tuple[int, ...] = runs.arch((512, 512, 512, 512, 256, 128))  # feature maps per scale, 4x4 first (len = number of scales)
    latent_dim: int = runs.arch(512)               # size of the latent vector z
    stddev_group: int = runs.arch(4)               # minibatch standard deviation group size in D's last block
    leaky_slope: float = runs.arch(0.2)            # leaky ReLU slope in G and D
    # --- per-scale schedule (the card's YAML keys) -------------------------------------------------
    num_batch: Tuple[int, ...] = runs.sched((48_000, 96_000, 96_000, 96_000, 96_000, 96_000))  # iterations per scale
    alpha_jumps: Tuple[int, ...] = runs.sched((0, 600, 600, 600, 600, 600))  # fade-in: alpha steps per scale (0 = no fade)
    alpha_size_jumps: Tuple[int, ...] = runs.sched((32, 32, 32, 32, 32, 32))  # fade-in: iterations per alpha step
    batch_size: int = runs.sched(16)               # batch size of every scale unless batch_size_list is given
    batch_size_list: Tuple[int, ...] = runs.sched(())  # batch size per scale (empty: batch_size everywhere)
    lr: float = runs.sched(0.001)                  # Adam learning rate of G and D unless lr_list is given
    lr_list: Tuple[float, ...] = runs.sched(())    # learning rate per scale (empty: lr everywhere)
    # --- optimisation --------------------------------------------------------------------------------
    beta1: float = runs.sched(0.0)                 # Adam beta1 (the paper's 0; MindSpore's nn.Adam refuses 0, so the step has its own Adam)
    beta2: float = runs.sched(0.99)                # Adam beta2
    lambda_gp: float = runs.sched(10.0)            # WGAN-GP gradient penalty weight
    epsilon_drift: float = runs.sched(0.001)       # weight of the drift term eps * sum D(real)^2
    ema_decay: float = runs.sched(0.999)           # averaged generator: avgG <- decay * avgG + (1 - decay) * G
    loss_scale_value: int = runs.sched(12)         # initial loss scale 2 ** loss_scale_value
    scale_factor: float = runs.sched(10.0)         # loss scale divided by this on overflow, multiplied after scale_window good steps
    scale_window: int = runs.sched(1000)           # good steps before the loss scale grows
    max_overflow_streak: int = runs.sched(10)      # this many skipped (overflowing) steps in a row stop the run
    conv_form: str = runs.sched("auto")            # convolution form: auto (matmul on CPU, native on GPU/NPU), matmul, native
    micro_batch: int = runs.sched(0)               # images per gradient pass (0 = the whole batch): a batch's gradients summed over chunks of this many, then one update; the same update in less memory
    seed: int = runs.sched(1)                      # weights, latent/penalty draws and data order (the card's set_seed(1))
    # --- data (the card's Crop + NumpyResize) ------------------------------------------------------------
    crop_cx: int = runs.sched(89)                  # centre column of the crop box (aligned CelebA 178x218)
    crop_cy: int = runs.sched(121)                 # centre row of the crop box
    crop_size: int = runs.sched(128)               # side of the crop box before resizing to the scale
    # --- logging and checkpoints ---------------------------------------------------------------------
    model_save_step: int = runs.sched(10_000)      # checkpoint every N iterations (and at every scale's end)
    log_every: int = runs.sched(100)               # JSONL record every N iterations
    sample_every: int = runs.sched(1_000)          # preview grid of the averaged G every N iterations (0 = never)
    max_to_keep: int = runs.sched(5)               # checkpoints kept on disk

    def __post_init__(self):
        n = len(self.depth)
        if n < 1 or min(self.depth) < 1:
            raise UserError(f"depth must list positive feature-map counts per scale, got {list(self.depth)}")
        for name in ("num_batch", "alpha_jumps", "alpha_size_jumps"):
            if len(getattr(self, name)) != n:
                raise UserError(f"{name} has {len(getattr(self, name))} entries but depth has {n} "
                                f"(one per scale): {list(getattr(self, name))}")
        for name in ("batch_size_list", "lr_list"):
            if getattr(self, name) and len(getattr(self, name)) != n:
                raise UserError(f"{name} must be empty or have one entry per scale ({n}), got "
                                f"{list(getattr(self, name))}")
        if min(self.num_batch) < 1 or min(self.alpha_size_jumps) < 1 or min(self.alpha_jumps) < 0:
            raise UserError("num_batch and alpha_size_jumps must be >= 1 and alpha_jumps >= 0 at every scale")
        for k in range(n):
            fade = self.alpha_jumps[k] * self.alpha_size_jumps[k]
            if fade > self.num_batch[k]:
                raise UserError(f"the fade of scale {4 * 2 ** k} ({self.alpha_jumps[k]} x {self.alpha_size_jumps[k]} "
                                f"= {fade} iterations) is longer than its num_batch {self.num_batch[k]}")
        if self.alpha_jumps[0] != 0:
            raise UserError(f"alpha_jumps[0] must be 0: the 4x4 scale has nothing to fade from, got {self.alpha_jumps[0]}")
        for name in ("batch_size", "latent_dim", "stddev_group", "scale_window", "model_save_step",
                     "log_every", "max_to_keep", "max_overflow_streak", "crop_size"):
            if getattr(self, name) < 1:
                raise UserError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size_list and min(self.batch_size_list) < 1:
            raise UserError(f"batch_size_list entries must be >= 1, got {list(self.batch_size_list)}")
        if self.sample_every < 0:
            raise UserError(f"sample_every must be >= 0, got {self.sample_every}")
        if not 0.0 <= self.beta1 < 1.0 or not 0.0 <= self.beta2 < 1.0 or not 0.0 <= self.ema_decay <= 1.0:
            raise UserError("beta1 and beta2 must be in [0, 1) and ema_decay in [0, 1]")
        if self.scale_factor <= 1.0:
            raise UserError(f"scale_factor must be > 1, got {self.scale_factor}")
        if self.micro_batch < 0 or (self.micro_batch and self.micro_batch % self.stddev_group):
            raise UserError(f"micro_batch must be 0 or a multiple of stddev_group ({self.stddev_group}: its "
                            f"groups must not straddle two chunks), got {self.micro_batch}")
        for b in sorted(set(self.batch_size_list or (self.batch_size,))):
            if self.micro_batch and b > self.micro_batch and b % self.micro_batch:
                raise UserError(f"micro_batch {self.micro_batch} does not divide the batch size {b}")
        if self.conv_form not in ("auto", "matmul", "native"):
            raise UserError(f"conv_form must be auto, matmul or native, got {self.conv_form!r}")

    # ---- presets: the YAML files beside the entry scripts ------------------------------------------
    @classmethod
    def paper(cls) -> "PGANConfig":
        """The card's 910 run = the paper: CelebA 128x128, 48k + 5 x 96k iterations, batch 16."""
        return cls()

    @classmethod
    def tiny(cls) -> "PGANConfig":
        """Tests: 4x4 -> 8x8 with a fade, 8 and 4 feature maps, batch 4, 5 iterations (tiny_config.yaml)."""
        return from_yaml(os.path.join(FOLDER, PRESET_FILES["tiny"]))[0]

    @classmethod
    def demo(cls) -> "PGANConfig":
        """A CPU demo: 4 -> 8 -> 16 on SynthFaces in minutes (demo_config.yaml)."""
        return from_yaml(os.path.join(FOLDER, PRESET_FILES["demo"]))[0]

    # ---- derived values -----------------------------------------------------------------------------
    @property
    def num_scales(self) -> int:
        return len(self.depth)

    @property
    def scales(self) -> Tuple[int, ...]:
        """Image sides per scale: 4, 8, 16, ..."""
        return tuple(4 * 2 ** k for k in range(self.num_scales))

    @property
    def total_steps(self) -> int:
        return sum(self.num_batch)

    def batch_for(self, k: int) -> int:
        return self.batch_size_list[k] if self.batch_size_list else self.batch_size

    def lr_for(self, k: int) -> float:
        return float(self.lr_list[k]) if self.lr_list else float(self.lr)

    def alpha_for(self, k: int, j: int) -> float:
        """Fade-in coefficient of iteration j of scale k (the card's cal_each_batch_alpha)."""
        jumps, size = self.alpha_jumps[k], self.alpha_size_jumps[k]
        if jumps == 0 or j >= jumps * size:
            return 0.0
        return 1.0 - (j // size) / jumps

    def phase(self, step: int) -> Phase:
        """The schedule at global step ``step`` (0-based, < total_steps)."""
        if not 0 <= step < self.total_steps:
            raise ValueError(f"step {step} is outside the schedule (0..{self.total_steps - 1})")
        start, images = 0, 0
        for k, n in enumerate(self.num_batch):
            if step < start + n:
                j = step - start
                return Phase(k, j, self.alpha_for(k, j), self.batch_for(k), self.lr_for(k),
                             4 * 2 ** k, images + j * self.batch_for(k))
            start += n
            images += n * self.batch_for(k)
        raise AssertionError("unreachable")

    def scale_ends(self) -> Tuple[int, ...]:
        """The global step count at the end of each scale (a checkpoint is saved there)."""
        ends, total = [], 0
        for n in self.num_batch:
            total += n
            ends.append(total)
        return tuple(ends)


PRESETS = PGANConfig.PRESETS


def _field_names():
    return [f.name for f in fields(PGANConfig)]


def _parse_yaml(text: str, path: str) -> dict:
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is in requirements.txt
        raise UserError(f"reading {path} needs PyYAML (pip install pyyaml)") from None
    try:
        docs = [d for d in yaml.safe_load_all(text)]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{path} is not valid YAML{where}: {problem}") from None
    data = docs[0] if docs else None  # later documents of the card's files are help texts
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a mapping of config keys (key: value), got {type(data).__name__}")
    return data


def from_yaml(path, base: Optional[PGANConfig] = None) -> Tuple[PGANConfig, dict]:
    """Read a card-style YAML file: ``(config, extras)``.

    Keys are PGANConfig fields (the card's names: depth, num_batch, alpha_jumps, batch_size_list,
    model_save_step, ...) plus ``scales`` (checked against depth), the entry scripts' keys
    (``train_data_path``, ``ckpt_save_dir``: returned in ``extras``) and the card's infrastructure
    keys (ModelArts, device, export: ignored). Any other key is one UserError naming it and the
    valid keys. Fields not in the file keep ``base``'s values (default: the paper's).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f"config file not found: {path} (expected a YAML file such as ./910_config.yaml)")
    with open(path, encoding="utf-8") as f:
        data = _parse_yaml(f.read(), path)
    names = _field_names()
    valid = names + ["scales", *SCRIPT_KEYS]
    unknown = [k for k in data if k not in valid and k not in IGNORED_KEYS]
    if unknown:
        raise UserError(f"unknown key {unknown[0]!r} in {path}: valid keys are {', '.join(valid)} "
                        f"(and the card's ignored ones: {', '.join(IGNORED_KEYS)})")
    extras = {k: data[k] for k in SCRIPT_KEYS if k in data}
    changes = {}
    for key, value in data.items():
        if key not in names:
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value) if value else ""
        changes[key] = "" if value is None else str(value)
    cfg = base or PGANConfig.paper()
    try:
        cfg = runs.apply_overrides(cfg, **changes)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from None
    if "scales" in data:
        scales = data["scales"]
        if not isinstance(scales, list) or tuple(scales) != cfg.scales:
            raise UserError(f"scales in {path} is {scales} but depth has {cfg.num_scales} entries, so the "
                            f"scales are {list(cfg.scales)} (4, then doubling)")
    return cfg, extras
