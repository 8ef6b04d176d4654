"""Freeze a trained StackGAN generator to a .pb (and ONNX): the card's freeze.py.

Variants: ``deterministic`` (default): inputs ``embedding`` [B, 1024] and ``noise`` [B, z_dim +
c_dim (+ c_dim for Stage-II)], output ``G1/Tanh:0`` (Stage-I run) or ``G2/Tanh:0`` (Stage-II run,
Stage-I inside): outputs can be checked against the online model. ``card``: the seed's graph, input
``Placeholder`` [64, 1024], z and eps drawn inside (for the card's ATC line; not reproducible).

Example:
  python freeze.py --model_path ckt_logs/birds/stageII --pb_path out/stackgan.pb --onnx out/stackgan.onnx
  python freeze.py --model_path ckt_logs/birds/stageII --variant card --pb_path out/model.pb
  atc --model=out/model.pb --framework=3 --output=out/model --soc_version=Ascend310 --input_shape='Placeholder:64,1024'
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common_tools.errors import UserError, check_output_file, run_cli  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_path", required=True,
                   help="the trained run (run folder, checkpoints/ or a model_<step>.ckpt prefix)")
    p.add_argument("--pb_path", default="model.pb", help="the frozen graph to write")
    p.add_argument("--onnx", default=None, help="also write this ONNX file")
    p.add_argument("--variant", choices=("deterministic", "card"), default="deterministic",
                   help="deterministic: embedding + noise inputs; card: Placeholder [64, 1024], noise inside")
    p.add_argument("--batch", type=int, default=1, help="deterministic variant: batch size of the inputs")
    args = p.parse_args(argv)
    if args.batch < 1:
        raise UserError(f"--batch must be >= 1, got {args.batch}")
    check_output_file(args.pb_path, "--pb_path")
    if args.onnx:
        check_output_file(args.onnx, "--onnx")
    from stackgan import paths

    prefix = paths.resolve_checkpoint(args.model_path, "--model_path")
    from common_tools.device import select_device

    select_device("cpu")
    from stackgan import export, infer

    cfg, nets, step = infer.load_generators(prefix, "--model_path")
    written = export.freeze(cfg, nets, args.pb_path, args.onnx, variant=args.variant, batch=args.batch)
    names = ", ".join(export.INPUTS[args.variant])
    print(f"froze Stage-{'I' * cfg.stage} G (checkpoint step {step}): inputs {names} -> "
          f"{export.output_name(cfg)}; wrote {', '.join(written.values())}")
    return 0


if __name__ == "__main__":
    run_cli(main)
