"""PSNR / SSIM of the reconstructions (target attributes = source ones), the paper's protocol.

Examples:
    python psnr_ssim.py --experiment_name demo                       # output/demo/om_testing, else sample_testing
    python psnr_ssim.py --experiment_name demo --img_dir output/demo/sample_testing --json psnr.json
Reads the strips test.py / bin2img.py wrote (input | 12-px gap | reconstruction | flips ...) and
compares the input crop with the reconstruction as uint8 images: PSNR = 10·log10(255²/MSE), SSIM of
Wang et al. 2004 (11x11 Gaussian, sigma 1.5), each averaged over images. Paper: 31.67 dB / 0.948.
Every strip must be one of this experiment's: img_size high, the reconstruction and one flip per
attribute; any other (another model's, another config's) is refused in one line naming it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common_tools.errors import UserError, check_output_file, run_cli  # noqa: E402
from stgan.cli import DEFAULT_OUTPUT_ROOT  # noqa: E402


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--experiment_name", required=True)
    p.add_argument("--output_root", default=DEFAULT_OUTPUT_ROOT)
    p.add_argument("--img_dir", default=None, help="strip folder (default: om_testing, else sample_testing)")
    p.add_argument("--json", default=None, help="also write the numbers here")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.json:
        check_output_file(args.json, "--json")
    from common_tools.metrics.psnr_ssim import psnr_ssim_batch
    from common_tools.runs import load_config
    from stgan.config import STGANConfig
    from stgan.strips import read_strips

    exp_dir = os.path.join(args.output_root, args.experiment_name)
    cfg = load_config(STGANConfig, exp_dir)
    img_dir = args.img_dir
    if img_dir is None:
        img_dir = next((os.path.join(exp_dir, d) for d in ("om_testing", "sample_testing")
                        if os.path.isdir(os.path.join(exp_dir, d))), None)
        if img_dir is None:
            raise UserError(f"{exp_dir} has neither om_testing/ nor sample_testing/: run test.py or bin2img.py first")
    _, inputs, results = read_strips(img_dir, cfg.img_size, n_results=cfg.n_att + 1)
    result = psnr_ssim_batch(list(inputs), list(results[:, 0]))
    print(f"psnr/ssim over {result['n']} reconstructions in {img_dir}: "
          f"{result['psnr']:.2f} dB / {result['ssim']:.4f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**result, "img_dir": img_dir}, f, indent=2)
    return 0


if __name__ == "__main__":
    run_cli(main)
