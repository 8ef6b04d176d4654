"""StarGAN: train, test (translation grids) and evaluate — the seed's main.py interface.

Examples (SynthFaces demo data; CelebA works the same with its own paths):
  python -m common_tools.synthetic faces --out ../runs/data/synthfaces --num 2000 --seed 0
  python main.py --phase train --preset demo --image_root ../runs/data/synthfaces/img_align_celeba \\
      --metadata_path ../runs/data/synthfaces/list_attr_celeba.txt --output_dir ../runs/stargan
  python main.py --phase test --image_root ../runs/data/synthfaces/img_align_celeba \\
      --metadata_path ../runs/data/synthfaces/list_attr_celeba.txt --output_dir ../runs/stargan \\
      --checkpoint model-1500
  python main.py --phase eval  (same flags as test)

Training resumes from the latest checkpoint in <output_dir>/checkpoints/ (a changed network setting
is refused, a changed schedule setting is applied and said); Ctrl-C saves a checkpoint first.
Data parallel (--strategy, default auto): e.g. two workers on this host
  python -m common_tools.launch --workers 127.0.0.1:12345,127.0.0.1:12346 -- \\
      python main.py --phase train --strategy multi_worker ... (the flags above)
test/eval rebuild the networks from <output_dir>/config.json, so only the data, batch size and
checkpoint are given there. Config flags left out keep the preset's (or the saved run's) value.
"""

from __future__ import annotations

import argparse
import dataclasses
import os

from common_tools import runs
from common_tools.device import add_device_args, npu_precision_mode, select_device, set_mixed_precision
from common_tools.distribute import add_strategy_args
from common_tools.errors import UserError, check_output_dir, check_output_file, run_cli

from stargan.config import PRESETS, StarGANConfig

# card flags with their own parsing (several words; bare switches)
OWN_FLAGS = ("selected_attrs", "xla", "mixed_precision")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--phase", choices=("train", "test", "eval"), default="train", help="model phase")
    p.add_argument("--image_root", required=True, help="the root path of images (img_align_celeba/)")
    p.add_argument("--metadata_path", required=True, help="the path of metadata (list_attr_celeba.txt)")
    p.add_argument("--output_dir", required=True, help="checkpoint, summary and result directory")
    p.add_argument("--preset", choices=PRESETS, default=None,
                   help="starting config (default: the run's saved config.json if any, else paper)")
    p.add_argument("--selected_attrs", nargs="+", default=None,
                   help='selected attributes, e.g. "Black_Hair Blond_Hair Brown_Hair Male Young"')
    p.add_argument("--c_dim", type=int, default=None,
                   help="the dimension of condition: the number of selected_attrs (checked against them)")
    p.add_argument("--checkpoint", default=None,
                   help="test/eval: checkpoint name (model-200000) or path; default the latest")
    p.add_argument("--xla", action="store_true", default=None, help="compile the train step with XLA")
    p.add_argument("--max_batches", type=int, default=None, help="test/eval: stop after N batches")
    p.add_argument("--dry_run", action="store_true", help="print the resolved config and exit")
    runs.add_config_args(p.add_argument_group("config (train; test/eval read config.json, but --batch_size)"),
                         StarGANConfig, skip=OWN_FLAGS)
    add_device_args(p)
    add_strategy_args(p)
    return p


def resolve_config(args) -> StarGANConfig:
    """Preset (or the run's saved config, or paper), then the flags that were given."""
    fields = {f.name for f in dataclasses.fields(StarGANConfig)} - set(OWN_FLAGS)
    overrides = {k: v for k, v in vars(args).items() if k in fields}
    if args.selected_attrs:
        overrides["selected_attrs"] = " ".join(args.selected_attrs)
    overrides.update({k: "true" for k in ("xla", "mixed_precision") if getattr(args, k)})
    cfg = runs.config_for_run(StarGANConfig, args.output_dir, args.preset, overrides)
    if args.c_dim is not None and args.c_dim != cfg.c_dim:
        raise UserError(f"--c_dim {args.c_dim} disagrees with the {cfg.c_dim} selected_attrs "
                        f"({' '.join(cfg.selected_attrs)}): c_dim is their number; give "
                        f"{args.c_dim} attributes or leave --c_dim out")
    return cfg


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    out = args.output_dir
    if args.phase == "train":
        cfg = resolve_config(args)
        if args.dry_run:
            runs.print_config(cfg)
            return 0
        from stargan import data

        data.load_splits(cfg, args.image_root, args.metadata_path)   # bad data: one line, before TF
        check_output_dir(out, "--output_dir")
        device = select_device(args.device,
                               precision_mode=npu_precision_mode(cfg.mixed_precision, args.precision_mode))
        set_mixed_precision(cfg.mixed_precision, device, args.precision_mode)
        from stargan.train import train

        result = train(cfg, out, args.image_root, args.metadata_path, strategy=args.strategy)
        print(f"trained iterations {result['start']}..{result['end']}; checkpoint {result['checkpoint']}")
        return 0

    if not os.path.isdir(out):
        raise UserError(f"--output_dir {out} is not a folder: expected the run folder training wrote")
    result_dir, eval_path = os.path.join(out, "results"), os.path.join(out, "eval.json")
    if args.phase == "test":
        check_output_dir(result_dir, "--output_dir's results folder")
    else:
        check_output_file(eval_path, "--output_dir's eval.json")
    select_device(args.device)
    from stargan import data, export

    cfg, G, step = export.load_generator(args.checkpoint, out)
    if args.batch_size:
        cfg = runs.apply_overrides(cfg, batch_size=args.batch_size)
    _, test_split = data.load_splits(cfg, args.image_root, args.metadata_path)
    batches = data.dataset(cfg, args.image_root, test_split, training=False, repeat=False)
    if args.phase == "test":
        from stargan.test import run_test

        paths = run_test(G, ((x.numpy(), c.numpy()) for x, c in batches), cfg.selected_attrs,
                         result_dir, limit=args.max_batches)
        print(f"wrote {len(paths)} translation grids to {result_dir} (checkpoint step {step})")
        return 0
    from stargan.evaluate import evaluate, format_report

    report = evaluate(G, cfg, batches, image_root=args.image_root, metadata_path=args.metadata_path,
                      out_path=eval_path, limit=args.max_batches)
    print(format_report(report))
    return 0


if __name__ == "__main__":
    run_cli(main)
