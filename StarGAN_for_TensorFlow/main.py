"""StarGAN: train, test (translation grids) and evaluate — the seed's main.py interface.

Examples (SynthFaces demo data; CelebA works the same with its own paths):
  python -m common_tools.synthetic faces --out ../runs/data/synthfaces --num 2000 --seed 0
  python main.py --phase train --preset demo --image_root ../runs/data/synthfaces/img_align_celeba \\
      --metadata_path ../runs/data/synthfaces/list_attr_celeba.txt --output_dir ../runs/stargan
  python main.py --phase test --image_root ../runs/data/synthfaces/img_align_celeba \\
      --metadata_path ../runs/data/synthfaces/list_attr_celeba.txt --output_dir ../runs/stargan \\
      --checkpoint model-1500
  python main.py --phase eval  (same flags as test)

Training resumes from the latest checkpoint in --output_dir. test/eval rebuild the networks from
<output_dir>/config.json, so only the data, batch size and checkpoint are given there.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common_tools import runs                                    # noqa: E402
from common_tools.device import (add_device_args, npu_precision_mode, select_device,  # noqa: E402
                                 set_mixed_precision)
from common_tools.errors import run_cli                          # noqa: E402

from stargan.config import PRESETS, StarGANConfig                # noqa: E402

# flags that map one-to-one onto StarGANConfig fields
CONFIG_FLAGS = ("image_size", "batch_size", "c_dim", "training_iterations", "lr_update_step",
                "num_step_decay", "summary_steps", "save_steps", "checkpoint_steps", "n_critic",
                "g_lr", "d_lr", "g_conv_dim", "d_conv_dim", "g_repeat_num", "d_repeat_num",
                "n_test", "seed", "inject_nan_at")


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
    p.add_argument("--checkpoint", default=None,
                   help="test/eval: checkpoint name (model-200000) or path; default the latest")
    p.add_argument("--xla", action="store_true", default=None, help="compile the train step with XLA")
    p.add_argument("--max_batches", type=int, default=None, help="test/eval: stop after N batches")
    p.add_argument("--dry_run", action="store_true", help="print the resolved config and exit")
    helps = {"batch_size": "batch size", "c_dim": "the dimension of condition (= number of selected_attrs)",
             "training_iterations": "number of total iterations for training D",
             "lr_update_step": "learning_rate update step",
             "num_step_decay": "lr decays linearly to 0 over the last N iterations",
             "summary_steps": "summary period", "save_steps": "save sample period",
             "checkpoint_steps": "checkpoint period"}
    for name in CONFIG_FLAGS:
        p.add_argument(f"--{name}", default=None,
                       help=helps.get(name, argparse.SUPPRESS if name == "inject_nan_at" else f"config {name}"))
    add_device_args(p)
    return p


def resolve_config(args) -> StarGANConfig:
    """Preset (or the run's saved config, or paper), then the flags that were given."""
    if args.preset:
        cfg = StarGANConfig.preset(args.preset)
    elif os.path.isfile(os.path.join(args.output_dir, runs.CONFIG_NAME)):
        cfg = runs.load_config(StarGANConfig, args.output_dir)
    else:
        cfg = StarGANConfig.paper()
    changes = {name: getattr(args, name) for name in CONFIG_FLAGS if getattr(args, name) is not None}
    if args.selected_attrs:
        attrs = tuple(a for item in args.selected_attrs for a in item.split())
        changes["selected_attrs"] = attrs
        changes.setdefault("c_dim", str(len(attrs)))
    if args.xla:
        changes["xla"] = "true"
    if args.mixed_precision:
        changes["mixed_precision"] = "true"
    return runs.apply_overrides(cfg, **changes)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.phase == "train":
        cfg = resolve_config(args)
        if args.dry_run:
            runs.print_config(cfg)
            return 0
        device = select_device(args.device,
                               precision_mode=npu_precision_mode(cfg.mixed_precision, args.precision_mode))
        set_mixed_precision(cfg.mixed_precision, device, args.precision_mode)
        from stargan.train import train

        result = train(cfg, args.image_root, args.metadata_path, args.output_dir)
        print(f"trained iterations {result['start']}..{result['end']}; checkpoint {result['checkpoint']}")
        return 0

    select_device(args.device)
    from stargan import data, export

    cfg, G, step = export.load_generator(args.checkpoint, args.output_dir)
    if args.batch_size:
        cfg = runs.apply_overrides(cfg, batch_size=args.batch_size)
    _, test_split = data.load_splits(cfg, args.image_root, args.metadata_path)
    batches = data.dataset(cfg, args.image_root, test_split, training=False, repeat=False)
    if args.phase == "test":
        from stargan.test import run_test

        paths = run_test(G, ((x.numpy(), c.numpy()) for x, c in batches), cfg.selected_attrs,
                         os.path.join(args.output_dir, "results"), limit=args.max_batches)
        print(f"wrote {len(paths)} translation grids to {os.path.join(args.output_dir, 'results')} "
              f"(checkpoint step {step})")
        return 0
    from stargan.evaluate import evaluate, format_report

    report = evaluate(G, cfg, batches, image_root=args.image_root, metadata_path=args.metadata_path,
                      out_path=os.path.join(args.output_dir, "eval.json"), limit=args.max_batches)
    print(format_report(report))
    return 0


if __name__ == "__main__":
    run_cli(main)
