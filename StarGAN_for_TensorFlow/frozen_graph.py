"""Freeze a trained StarGAN generator to a .pb (and ONNX) for ATC / msame / the open runner.

Example:
  python frozen_graph.py --phase frozen_graph --input_checkpoint ../runs/stargan/checkpoints/model-1500 \\
      --out_pb_path ../runs/stargan/stargan_model.pb --onnx

The graph has inputs x_real [1, S, S, 3] (NHWC, [-1, 1]) and c_trg [1, c_dim] and the output
G/Tanh:0, S and c_dim from the run's config.json, so the seed's ATC command works unchanged:
  atc --model=stargan_model.pb --framework=3 --output=stargan --soc_version=Ascend910 \\
      --input_format=NHWC --input_shape="x_real:1,128,128,3;c_trg:1,5" --output_type=FP32 \\
      --out_nodes="G/Tanh:0"
"""

from __future__ import annotations

import argparse
import os

from common_tools.errors import check_output_file, run_cli


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--phase", choices=("frozen_graph",), default="frozen_graph")
    p.add_argument("--input_checkpoint", required=True,
                   help="checkpoint prefix, e.g. <output_dir>/checkpoints/model-200000 (or a folder)")
    p.add_argument("--out_pb_path", required=True, help="the .pb to write")
    p.add_argument("--onnx", nargs="?", const="", default=None, metavar="PATH",
                   help="also write ONNX (default path: the .pb with .onnx)")
    p.add_argument("--output_dir", default=None,
                   help="the training output_dir holding config.json (default: found from the checkpoint)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    onnx_path = None
    if args.onnx is not None:
        onnx_path = args.onnx or os.path.splitext(args.out_pb_path)[0] + ".onnx"
    check_output_file(args.out_pb_path, "--out_pb_path")          # both, before any work
    if onnx_path is not None:
        check_output_file(onnx_path, "--onnx")
    from stargan.export import INPUTS, OUTPUT, freeze_generator, load_generator

    cfg, G, step = load_generator(args.input_checkpoint, args.output_dir)
    paths = freeze_generator(G, cfg, args.out_pb_path, onnx_path)
    s = cfg.image_size
    print(f"froze G (step {step}, {s} px, c_dim {cfg.c_dim}) -> {paths['pb']}"
          + (f" and {paths['onnx']}" if "onnx" in paths else ""))
    print(f"inputs {INPUTS[0]}:1,{s},{s},3;{INPUTS[1]}:1,{cfg.c_dim}  output {OUTPUT}")
    return 0


if __name__ == "__main__":
    run_cli(main)
