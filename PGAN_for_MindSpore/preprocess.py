"""PGAN offline inference, step 1 (the card's preprocess in run_infer_310.sh): noise .bin inputs.

Examples:
  python preprocess.py --model PGAN.mindir --nimages 64 --output_path ./preprocess_Result
  python preprocess.py --model PGAN.onnx --nimages 200 --output_path ./preprocess_Result --seed 1

Writes <output_path>/z/pgan_<k>.bin (noise [batch, latent] float32, the card's seed-1 randn),
<output_path>/alpha/pgan_<k>.bin (alpha 0.0, a float32 scalar) for ceil(NIMAGES / batch)
inferences, and manifest.json. Batch, latent size and resolution are read from the model file.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GLOG_v", "3")

from common_tools.errors import run_cli  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="the export.py output the bins are for (.mindir or .onnx)")
    p.add_argument("--nimages", type=int, default=64, help="images to generate (default 64)")
    p.add_argument("--output_path", default="./preprocess_Result", help="bin folder (default ./preprocess_Result)")
    p.add_argument("--seed", type=int, default=1, help="noise seed (the card's 1)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from pgan.offline import write_noise

    manifest = write_noise(args.output_path, args.model, args.nimages, args.seed)
    (z, _), batch = manifest["inputs"], manifest["inputs"][0]["shape"][0]
    print(f"wrote {len(manifest['samples'])} inference(s) of z {z['shape']} + alpha 0.0 for {args.nimages} "
          f"images to {args.output_path} (batch {batch})")
    return 0


if __name__ == "__main__":
    run_cli(main)
