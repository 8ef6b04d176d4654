"""msame's (or the runner's) output bins -> one PNG per caption, with a parity report on request.

The outputs are checked against the manifest file2bin wrote (every bin's output present, of the size
its graph gives, no output of another model's inputs) before anything is read. With --model_path and
the deterministic bins, --parity writes the max / mean |difference| of online / .pb / .onnx / runner.

Example:
  python bin2img.py --bin_dir out/bin --output out/runner --save_dir out/png
  python bin2img.py --bin_dir out/bin --output out/runner --save_dir out/png --model_path ckt_logs/birds/stageII \
      --pb out/stackgan.pb --onnx out/stackgan.onnx --parity out/parity.json
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common_tools.errors import UserError, check_output_file, run_cli  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin_dir", required=True, help="the inputs file2bin wrote (with manifest.json)")
    p.add_argument("--output", required=True, help="the runner's / msame's --output folder (or its subfolder)")
    p.add_argument("--save_dir", required=True, help="where the PNGs go")
    p.add_argument("--model_path", default=None, help="parity: the trained run (online generator)")
    p.add_argument("--pb", default=None, help="parity: the deterministic frozen .pb")
    p.add_argument("--onnx", default=None, help="parity: the deterministic .onnx")
    p.add_argument("--parity", default=None, help="write the parity report (JSON) here")
    args = p.parse_args(argv)
    if args.parity:
        check_output_file(args.parity, "--parity")
        if not args.model_path:
            raise UserError("--parity needs --model_path (the online generator to compare with)")
    from stackgan import offline

    pngs = offline.bin2img(args.bin_dir, args.output, args.save_dir)
    print(f"wrote {len(pngs)} images to {args.save_dir}")
    if args.parity:
        from common_tools.device import select_device

        select_device("cpu")
        from common_tools.export import format_parity, write_parity
        from stackgan import infer

        cfg, nets, _ = infer.load_generators(args.model_path, "--model_path")
        report = offline.parity(cfg, nets, args.bin_dir, args.pb, args.onnx, args.output)
        write_parity(report, args.parity, "--parity")
        print(format_parity(report))
    return 0


if __name__ == "__main__":
    run_cli(main)
