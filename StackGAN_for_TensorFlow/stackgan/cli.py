"""The card's ``stageI/run_exp.py`` / ``stageII/run_exp.py``: the reference's YAML config, every key
settable on the command line, training (TRAIN.FLAG True) or the test-set image grids (False).

Settings, later ones winning: the preset (``--preset``; else the run folder's saved config.json so a
rerun resumes as it trained; else ``paper``) for this stage, then the YAML file (``--cfg``, the
reference's keys: ``TRAIN.MAX_EPOCH``, ``TRAIN.PRETRAINED_MODEL``, ``GAN.GF_DIM``, ...; read with
``yaml.safe_load`` when PyYAML is installed, else a parser of the plain ``key: value`` subset these
files use), then ``--set KEY VALUE [KEY VALUE ...]`` (py-faster-rcnn's override form, which the
reference's misc/config.py comes from; ``KEY=VALUE`` works too), then the explicit flags.

Device: ``--gpu N`` sets CUDA_VISIBLE_DEVICES=N before TensorFlow starts (``-1``: CPU only; without
``--gpu`` the YAML's GPU_ID, when it has one); ``--device`` (auto, npu, gpu, cpu) chooses among what
is visible; ``--strategy`` (auto, one, mirrored, multi_worker) the data parallelism
(common_tools.distribute; ``--batch_size`` stays per replica). Bad input is one ``error:`` line (exit 2); the data and the Stage-I checkpoint are
checked before TensorFlow is imported.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List, Optional

from common_tools import runs
from common_tools.distribute import add_strategy_args
from common_tools.device import add_device_args, npu_precision_mode, select_device, set_mixed_precision
from common_tools.errors import UserError, check_output_dir

from . import data, paths
from .config import PRESETS, YAML_KEYS, StackGANConfig

STAGE_NAMES = {1: "stageI", 2: "stageII"}

# keys the scripts read themselves (not config fields)
SCRIPT_KEYS = {
    "CONFIG_NAME": "the run's name: the default run folder is ckt_logs/<DATASET_NAME>/<CONFIG_NAME>",
    "GPU_ID": "the GPU to use when --gpu is not given (CUDA_VISIBLE_DEVICES)",
    "TRAIN.FLAG": "True: train; False: write image grids for the test embeddings from TRAIN.PRETRAINED_MODEL",
    "TRAIN.FINETUNE_LR": "fine-tune Stage-I G during Stage-II (not supported: must be False)",
    "TRAIN.FT_LR_RETIO": "the fine-tuning lr ratio (unused: TRAIN.FINETUNE_LR is not supported)",
    "GAN.NETWORK_TYPE": "must be 'default' (the reference's only network)",
    "TEST.BATCH_SIZE": "inference batch size (default 64)",
    "TEST.NUM_COPY": "inference: samples per caption (default TRAIN.NUM_COPY, at most 16)",
    "TEST.PRETRAINED_MODEL": "demo/demo.py: the checkpoint to generate from",
    "TEST.CAPTION_PATH": "demo/demo.py: a text file of captions, one per line",
}
KNOWN_KEYS = {**{k: f"config field {v}" for k, v in YAML_KEYS.items()}, **SCRIPT_KEYS}


# ---------------------------------------------------------------------------------------------
# YAML and --set
# ---------------------------------------------------------------------------------------------

def _scalar(text: str):
    """A YAML scalar: true/false, null, int, float, quoted or bare string."""
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    low = t.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("null", "~", ""):
        return None
    for cast in (int, float):
        try:
            return cast(t)
        except ValueError:
            pass
    return t


def _mini_yaml(text: str, path: str) -> dict:
    """Nested ``key: value`` mappings by indentation, ``#`` comments: the subset of YAML the
    reference's cfg files use (no lists, no flow style, no multi-line strings)."""
    root: dict = {}
    stack = [(-1, root)]
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        key, sep, value = line.strip().partition(":")
        if not sep or not key or key.startswith("-"):
            raise UserError(f"{path} line {n}: expected 'KEY: value', got {raw.strip()!r}")
        while indent <= stack[-1][0]:
            stack.pop()
        parent = stack[-1][1]
        if value.strip():
            parent[key.strip()] = _scalar(value)
        else:
            parent[key.strip()] = child = {}
            stack.append((indent, child))
    return root


def _flatten(tree: dict, prefix: str = "") -> Dict[str, object]:
    out = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def check_keys(settings: Dict[str, object], where: str) -> None:
    for key in settings:
        if key not in KNOWN_KEYS:
            raise UserError(f"{where}: {key} is not a valid config key (known: "
                            f"{', '.join(sorted(KNOWN_KEYS))})")


def read_yaml(path: str) -> Dict[str, object]:
    """The reference's cfg file as flat ``{"TRAIN.MAX_EPOCH": 600, ...}``; unknown keys refused."""
    if not os.path.isfile(path):
        raise UserError(f"--cfg {path} not found: expected a YAML file such as stageI/cfg/birds.yml")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        import yaml
    except ImportError:
        tree = _mini_yaml(text, path)
    else:
        try:
            tree = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise UserError(f"--cfg {path} is not valid YAML{where}: "
                            f"{getattr(exc, 'problem', None) or exc}") from None
    if tree is None:
        tree = {}
    if not isinstance(tree, dict):
        raise UserError(f"--cfg {path}: expected a mapping of KEY: value, got a {type(tree).__name__}")
    settings = _flatten(tree)
    check_keys(settings, f"--cfg {path}")
    return settings


def parse_set(items: Optional[List[List[str]]]) -> Dict[str, object]:
    """``--set TRAIN.FLAG False TRAIN.MAX_EPOCH 10`` / ``--set TRAIN.FLAG=False`` -> settings."""
    words = [w for group in (items or []) for w in group]
    out, i = {}, 0
    while i < len(words):
        word = words[i]
        if "=" in word:
            key, value = word.split("=", 1)
            i += 1
        elif i + 1 < len(words):
            key, value = word, words[i + 1]
            i += 2
        else:
            raise UserError(f"--set {word}: expected KEY VALUE pairs (or KEY=VALUE), e.g. "
                            "--set TRAIN.FLAG False")
        out[key] = _scalar(value)
    check_keys(out, "--set")
    return out


def config_overrides(settings: Dict[str, object]) -> Dict[str, object]:
    """{config field: value} of the settings that are config fields."""
    return {YAML_KEYS[k]: v for k, v in settings.items() if k in YAML_KEYS and v is not None}


def _check_unsupported(settings: Dict[str, object]) -> None:
    if settings.get("TRAIN.FINETUNE_LR"):
        raise UserError("TRAIN.FINETUNE_LR True (fine-tuning Stage-I G in Stage-II) is not supported "
                        "here: Stage-II trains with Stage-I G frozen; set it False")
    kind = settings.get("GAN.NETWORK_TYPE", "default")
    if kind != "default":
        raise UserError(f"GAN.NETWORK_TYPE {kind!r} is not known: the reference's only network is 'default'")


# ---------------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------------

def build_parser(stage: int) -> argparse.ArgumentParser:
    name = STAGE_NAMES[stage]
    examples = {
        1: ("  python misc/preprocess_birds.py                        # Data/birds/{train,test}/76images.pickle ...\n"
            "  python stageI/run_exp.py --cfg stageI/cfg/birds.yml --gpu 0\n"
            "  python stageI/run_exp.py --cfg stageI/cfg/birds.yml --set TRAIN.FLAG False \\\n"
            "      TRAIN.PRETRAINED_MODEL ckt_logs/birds/stageI   # test-set grids from the Stage-I run\n"),
        2: ("  python stageII/run_exp.py --cfg stageII/cfg/birds.yml --gpu 0   # on ckt_logs/birds/stageI\n"
            "  python stageII/run_exp.py --cfg stageII/cfg/birds.yml --set TRAIN.FLAG False \\\n"
            "      TRAIN.PRETRAINED_MODEL ckt_logs/birds/stageII  # test-set grids, Stage-I above Stage-II\n"),
    }[stage]
    p = argparse.ArgumentParser(
        prog=f"python {name}/run_exp.py",
        description=f"StackGAN {name}: train, or generate the test-set grids (TRAIN.FLAG False).\n\n"
                    f"Example:\n{examples}"
                    "  python -m common_tools.synthetic birds --out Data/synth --num 200 --seed 0   # data to try it on\n\n"
                    "Settings: preset (or the run's saved config.json) < --cfg YAML < --set < flags.\n"
                    "YAML/--set keys: " + ", ".join(sorted(KNOWN_KEYS)),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cfg", dest="cfg_file", default=None, help="the reference's YAML config file")
    p.add_argument("--gpu", dest="gpu_id", type=int, default=None,
                   help="GPU id: sets CUDA_VISIBLE_DEVICES before TensorFlow starts; -1 = CPU only "
                        "(default: the YAML's GPU_ID if any)")
    p.add_argument("--set", dest="set", nargs="+", action="append", metavar="KEY VALUE",
                   help="override YAML keys: --set TRAIN.FLAG False TRAIN.MAX_EPOCH 10 (or KEY=VALUE)")
    p.add_argument("--preset", choices=PRESETS, default=None,
                   help="starting config (default: the run's saved config.json, else paper)")
    p.add_argument("--data_dir", default=None,
                   help="the data set folder with train/ and test/ (default Data/<DATASET_NAME>)")
    p.add_argument("--output_dir", default=None,
                   help="training: the run folder (default ckt_logs/<DATASET_NAME>/<CONFIG_NAME>); "
                        "inference: where the grids go (default <the checkpoint's run>/eval)")
    p.add_argument("--sentences", type=int, default=1,
                   help="inference: captions per test image to generate from (the reference: 1)")
    p.add_argument("--max_images", type=int, default=None, help="inference: only the first N test images")
    p.add_argument("--seed", dest="infer_seed", type=int, default=0, help="inference: noise seed")
    p.add_argument("--dry_run", action="store_true", help="print the resolved config and exit")
    add_device_args(p)
    add_strategy_args(p)
    return p


def _setup_gpu(args, settings) -> Optional[str]:
    """Apply --gpu / GPU_ID as CUDA_VISIBLE_DEVICES; returns the device to request."""
    gpu = args.gpu_id if args.gpu_id is not None else settings.get("GPU_ID")
    device = args.device
    if gpu is None:
        return device
    if isinstance(gpu, bool) or not isinstance(gpu, int):
        raise UserError(f"GPU_ID must be an integer, got {gpu!r}")
    value = "-1" if gpu < 0 else str(gpu)
    old = os.environ.get("CUDA_VISIBLE_DEVICES")
    if old is not None and old != value and args.gpu_id is not None:
        print(f"note: --gpu {gpu} replaces CUDA_VISIBLE_DEVICES={old}", file=sys.stderr)
    os.environ["CUDA_VISIBLE_DEVICES"] = value
    if gpu < 0 and device == "auto":
        device = "cpu"
    return device


def _base_config(stage: int, preset: Optional[str], run_dir: Optional[str]) -> StackGANConfig:
    if preset:
        return StackGANConfig.preset(preset).for_stage(stage)
    if run_dir and os.path.isfile(os.path.join(run_dir, runs.CONFIG_NAME)):
        saved = runs.load_config(StackGANConfig, run_dir)
        if saved.stage != stage:
            raise UserError(f"{run_dir} holds a Stage-{'I' * saved.stage} run, and this is "
                            f"{STAGE_NAMES[stage]}/run_exp.py: give another --output_dir")
        return saved
    return StackGANConfig.paper().for_stage(stage)


def resolve_config(stage: int, args, settings) -> tuple:
    """(cfg, run_dir, data_dir) of a training run."""
    overrides = config_overrides(settings)
    if args.mixed_precision:
        overrides["mixed_precision"] = True
    probe = runs.apply_overrides(_base_config(stage, args.preset, None), **overrides)
    name = settings.get("CONFIG_NAME") or STAGE_NAMES[stage]
    run_dir = args.output_dir or os.path.join("ckt_logs", probe.dataset_name, str(name))
    cfg = runs.apply_overrides(_base_config(stage, args.preset, run_dir), **overrides)
    if cfg.stage != stage:
        raise UserError(f"{STAGE_NAMES[stage]}/run_exp.py trains Stage-{'I' * stage}, not stage {cfg.stage}")
    data_dir = args.data_dir or os.path.join("Data", cfg.dataset_name)
    return cfg, run_dir, data_dir


def _start_device(args, device, cfg) -> str:
    chosen = select_device(device, precision_mode=npu_precision_mode(cfg.mixed_precision,
                                                                     args.precision_mode))
    set_mixed_precision(cfg.mixed_precision, chosen, args.precision_mode)
    return chosen


def train_main(stage: int, args, settings, device) -> int:
    cfg, run_dir, data_dir = resolve_config(stage, args, settings)
    if args.dry_run:
        runs.print_config(cfg)
        print(f"run folder: {run_dir}\ndata: {data_dir}")
        return 0
    check_output_dir(run_dir, "--output_dir")
    if stage == 1 and cfg.pretrained_model:
        print("note: Stage-I training does not read TRAIN.PRETRAINED_MODEL: it resumes from its run "
              f"folder {run_dir}", file=sys.stderr)
    splits = data.load_splits(cfg, data_dir)                          # bad data: one line, before TF
    from common_tools.checkpoint import latest_checkpoint

    if stage == 2 and latest_checkpoint(os.path.join(run_dir, "checkpoints")) is None:
        print(f"Stage-I G from {paths.stage1_checkpoint(cfg)}", file=sys.stderr)
    _start_device(args, device, cfg)
    from .train import train

    result = train(cfg, run_dir, splits=splits, strategy=args.strategy)
    print(f"trained iterations {result['start']}..{result['end']}; checkpoint {result['checkpoint']}")
    return 0


def infer_main(stage: int, args, settings, device) -> int:
    key = "TRAIN.PRETRAINED_MODEL"
    checkpoint = settings.get(key)
    if not checkpoint:
        raise UserError(f"TRAIN.FLAG False generates from a trained run, but {key} is empty: e.g. "
                        f"--set {key} ckt_logs/birds/{STAGE_NAMES[stage]}")
    prefix = paths.resolve_checkpoint(str(checkpoint), key)
    saved = paths.saved_config(prefix, StackGANConfig)
    if saved is None:
        raise UserError(f"{key} {checkpoint}: no config.json in {paths.run_dir_of(prefix)}: expected "
                        "the run folder training wrote")
    if saved.stage != stage:
        raise UserError(f"{key} {checkpoint} is a Stage-{'I' * saved.stage} run: use "
                        f"{STAGE_NAMES[saved.stage]}/run_exp.py for it")
    data_keys = {k: v for k, v in config_overrides(settings).items()
                 if k in ("dataset_name", "embedding_type", "num_copy")}
    cfg = runs.apply_overrides(saved, **data_keys)
    data_dir = args.data_dir or os.path.join("Data", cfg.dataset_name)
    with_images = os.path.isfile(os.path.join(data_dir, "test", data.images_name(cfg.load_size)))
    split = data.load_split(data_dir, "test", cfg, images=with_images)
    out = args.output_dir or os.path.join(paths.run_dir_of(prefix), "eval")
    if args.dry_run:
        runs.print_config(cfg)
        print(f"checkpoint: {prefix}\ndata: {data_dir}\noutput: {out}")
        return 0
    check_output_dir(out, "--output_dir")
    if args.sentences < 1 or (args.max_images is not None and args.max_images < 1):
        raise UserError("--sentences and --max_images must be >= 1")
    if not with_images:
        print(f"note: no {data.images_name(cfg.load_size)} in {data_dir}/test: the grids have no "
              "real image column", file=sys.stderr)
    _start_device(args, device, cfg)
    from . import infer

    cfg, nets, step = infer.load_generators(prefix, key)
    written = infer.evaluate(
        cfg, nets, split, out, sentences=args.sentences,
        copies=int(settings.get("TEST.NUM_COPY") or cfg.num_copy),
        max_images=args.max_images, batch_size=int(settings.get("TEST.BATCH_SIZE") or 64),
        seed=args.infer_seed, captions=lambda f, c: data.read_captions(data_dir, f, c),
        say=lambda m: print(m, file=sys.stderr))
    print(f"wrote {len(written)} grids to {os.path.join(out, 'test')} and their samples to "
          f"{os.path.join(out, 'test_single')} (checkpoint step {step})")
    return 0


def main(stage: int, argv=None) -> int:
    args = build_parser(stage).parse_args(argv)
    settings = read_yaml(args.cfg_file) if args.cfg_file else {}
    settings.update(parse_set(args.set))
    _check_unsupported(settings)
    device = _setup_gpu(args, settings)
    if not runs.coerce(bool, settings.get("TRAIN.FLAG", True), "TRAIN.FLAG"):
        return infer_main(stage, args, settings, device)
    return train_main(stage, args, settings, device)
