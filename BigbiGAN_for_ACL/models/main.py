"""BigBiGAN (card interface): train, freeze G to bigbigan.pb (+ bigbigan.onnx), write gpu_out.bin.

    python -m common_tools.synthetic digits --out ../runs/data/synthdigits --num 6000 --seed 0
    python pic2bin.py --output_bin_dir ../runs/bigbigan/bin
    python models/main.py --input_bin_dir ../runs/bigbigan/bin --dataset_path ../runs/data/synthdigits \\
        --result_path ../runs/bigbigan/results --train_batch_size 256 --num_epochs 50 \\
        --output_pb_path ../runs/bigbigan/pb --output_gpu_generated_img ../runs/bigbigan/generated_images

--dataset_path: the MNIST IDX files (real MNIST, Fashion-MNIST with --dataset fashion_mnist, or
SynthDigits), the CIFAR-10 python batches (--dataset cifar10) or a tensorflow_datasets folder; never a
download. --result_path is the run folder (config.json, checkpoints/, train_log.jsonl, samples/):
the same command again resumes there; a finished run only re-exports. Then:
  <output_pb_path>/bigbigan.pb            frozen G: x1 float32 [256, latent], x2 int32 [256] -> G/Sigmoid
  <output_pb_path>/bigbigan.onnx          the same graph for python -m common_tools.runner (unless --no_onnx)
  <output_gpu_generated_img>/gpu_out.bin  the online model's images of the bins, float32 [256, 32, 32, C]
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common_tools import runs                                           # noqa: E402
from common_tools.device import add_device_args, npu_precision_mode, select_device, set_mixed_precision  # noqa: E402
from common_tools.distribute import add_strategy_args                   # noqa: E402
from common_tools.errors import check_output_dir, check_output_file, run_cli  # noqa: E402

from bigbigan import data, offline                                       # noqa: E402
from bigbigan.config import BigBiGANConfig                               # noqa: E402

CARD_FLAGS = {"batch_size": "--train_batch_size", "num_epochs": "--num_epochs"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input_bin_dir", required=True, help="folder of fake_image.bin and label.bin (pic2bin.py)")
    p.add_argument("--dataset_path", required=True, help="folder holding the data set (see above)")
    p.add_argument("--result_path", required=True, help="run folder: config, checkpoints, logs, samples")
    p.add_argument("--output_pb_path", required=True, help="folder for bigbigan.pb (or a .pb path)")
    p.add_argument("--output_gpu_generated_img", required=True,
                   help="folder for gpu_out.bin (or a .bin path)")
    p.add_argument("--preset", choices=BigBiGANConfig.PRESETS, default=None,
                   help="starting config (default: the run's saved config.json if any, else paper)")
    p.add_argument("--onnx", default=None, help="ONNX path (default: bigbigan.onnx beside the .pb)")
    p.add_argument("--no_onnx", action="store_true", help="freeze the .pb only")
    p.add_argument("--dry_run", action="store_true", help="print the resolved config and exit")
    runs.add_config_args(p.add_argument_group("config (default: the preset's value)"), BigBiGANConfig,
                         skip=("mixed_precision",), flags=CARD_FLAGS)
    add_device_args(p)
    add_strategy_args(p)                      # --strategy; --train_batch_size stays per replica
    return p


def resolve_config(args) -> BigBiGANConfig:
    if not args.mixed_precision:          # the device flag only switches it on; else keep the config's
        args.mixed_precision = None
    cfg = runs.config_for_run(BigBiGANConfig, args.result_path, args.preset)
    return runs.config_from_args(cfg, args)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    cfg = resolve_config(args)
    if args.dry_run:
        runs.print_config(cfg)
        return 0
    # every input and output checked before any work
    z, y = offline.read_inputs(args.input_bin_dir, latent_dim=cfg.latent_dim, num_classes=cfg.num_classes)
    run_dir = check_output_dir(args.result_path, what="--result_path")
    from bigbigan.export import ONNX_NAME, resolve_pb_path

    pb_path = check_output_file(resolve_pb_path(args.output_pb_path), what="--output_pb_path")
    onnx_path = None if args.no_onnx else check_output_file(
        args.onnx or os.path.join(os.path.dirname(pb_path) or ".", ONNX_NAME), what="--onnx")
    gpu = args.output_gpu_generated_img
    gpu_path = check_output_file(gpu if gpu.endswith(".bin") else os.path.join(gpu, offline.GPU_FILE),
                                 what="--output_gpu_generated_img")
    images, labels = data.load(cfg, args.dataset_path, "train")
    data.check_enough(images, cfg, path=args.dataset_path)

    device = select_device(args.device, precision_mode=npu_precision_mode(cfg.mixed_precision, args.precision_mode))
    set_mixed_precision(cfg.mixed_precision, device, args.precision_mode)
    from bigbigan import export, train

    summary = train.train(cfg, run_dir, data=(images, labels), strategy=args.strategy)
    print(f"trained steps {summary['start']}..{summary['end']} of {summary['total_steps']}; "
          f"checkpoint {summary['checkpoint']}")
    _, G, step = export.load_generator(run_dir)
    paths = export.export(G, cfg, pb_path, onnx_path=onnx_path)
    offline.write_images(gpu_path, export.generate(G, z, y))
    print(f"froze G (step {step}) to {paths['pb']}" + (f" and {paths['onnx']}" if "onnx" in paths else ""))
    print(f"wrote the online model's images of {args.input_bin_dir} to {gpu_path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
