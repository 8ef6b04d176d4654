"""PGAN training, the card's train.py: progressive growing 4x4 -> ... on CPU, GPU or Ascend.

Examples:
  python -m common_tools.synthetic faces --out ../runs/data/synthfaces --num 2000 --seed 0
  python train.py --train_data_path ../runs/data/synthfaces --config_path ./demo_config.yaml
  python train.py --train_data_path /data/celeba/img_align_celeba --config_path ./910_config.yaml
  python train.py --train_data_path DIR --config_path ./cpu_config.yaml --ckpt_save_dir runs/pgan_cpu

The run folder (--ckpt_save_dir, else the YAML's ckpt_save_dir) holds config.json, train_log.jsonl
and checkpoints/AvG_<step>.ckpt (the averaged generator for eval.py / export.py) with G_, D_,
opt_G_, opt_D_<step>.ckpt. Run the same command again to resume (after Ctrl-C or a kill), at the
same scale, alpha and step. Every config field is also a flag (--num_batch 10,20 ...), given after
the YAML's values; without --config_path a resumed run keeps its saved config.json.

Data parallel: started by msrun (scripts/run_distributed_msrun.sh, GPU/CPU) or with a rank table
(scripts/run_distributed_train.sh, Ascend), each process is one rank of the job (pgan/distributed.py):
batch_size is per device, rank 0 writes the run folder's checkpoints, every rank logs its own output.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GLOG_v", "3")  # MindSpore's C++ INFO/WARNING lines off; errors still shown

from common_tools import runs                                   # noqa: E402
from common_tools.device import DEVICES, select_device, setup_mindspore  # noqa: E402
from common_tools.errors import UserError, check_output_dir, run_cli  # noqa: E402

from pgan.config import PRESETS, PGANConfig, from_yaml         # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train_data_path", default=None,
                   help="folder of face images, or a CelebA / SynthFaces root holding img_align_celeba/")
    p.add_argument("--config_path", default=None,
                   help="card YAML: 910_config.yaml, gpu_config.yaml, cpu_config.yaml, demo_config.yaml, tiny_config.yaml")
    p.add_argument("--preset", choices=PRESETS, default=None, help="start from a preset instead of a YAML file")
    p.add_argument("--ckpt_save_dir", default=None,
                   help="the run folder (default: the YAML's ckpt_save_dir, else ./output)")
    p.add_argument("--device", choices=DEVICES, default="auto", help="auto = Ascend, else GPU, else CPU")
    p.add_argument("--device_id", type=int, default=int(os.environ.get("DEVICE_ID", "0") or 0),
                   help="device number (default $DEVICE_ID or 0)")
    p.add_argument("--max_steps", type=int, default=None, help="stop after N iterations of this call (saved)")
    p.add_argument("--dry_run", action="store_true", help="print the resolved config and exit")
    group = p.add_argument_group("config fields (override the YAML / preset / saved config)")
    runs.add_config_args(group, PGANConfig)
    return p


def resolve(args):
    """(config, run folder, data path): preset or YAML or the run's saved config, then the flags."""
    extras = {}
    if args.preset:
        cfg = PGANConfig.preset(args.preset)
    elif args.config_path:
        cfg, extras = from_yaml(args.config_path)
    else:
        cfg = None
    run_dir = args.ckpt_save_dir or extras.get("ckpt_save_dir") or "./output"
    if cfg is None:
        cfg = runs.config_for_run(PGANConfig, run_dir)
    cfg = runs.config_from_args(cfg, args)
    data = args.train_data_path or extras.get("train_data_path") or None
    return cfg, run_dir, data


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    cfg, run_dir, data_path = resolve(args)
    if args.dry_run:
        runs.print_config(cfg)
        return 0
    if not data_path:
        raise UserError("no --train_data_path given (and none in the YAML): expected a folder of face images, "
                        "e.g. python -m common_tools.synthetic faces --out DIR, then --train_data_path DIR")
    if args.max_steps is not None and args.max_steps < 1:
        raise UserError(f"--max_steps must be >= 1, got {args.max_steps}")
    run_dir = check_output_dir(run_dir, "--ckpt_save_dir")
    from pgan.dataset import ImageFolder, image_dir

    image_dir(data_path)  # a missing folder is one line before MindSpore starts
    device = select_device(args.device, framework="mindspore")
    setup_mindspore(device, args.device_id, mode="graph")
    from pgan import distributed

    cluster = distributed.init()  # None unless msrun / a rank table started this process
    data = ImageFolder(data_path, cfg.crop_cx, cfg.crop_cy, cfg.crop_size, seed=cfg.seed)
    from pgan.train import train

    summary = train(cfg, run_dir, data, cluster=cluster, max_steps=args.max_steps)
    print(f"trained iterations {summary['start']}..{summary['end']} of {cfg.total_steps}; "
          f"checkpoint {summary['checkpoint']}")
    return 0


if __name__ == "__main__":
    run_cli(main)
