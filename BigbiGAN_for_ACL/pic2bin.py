"""pic2bin: the generator's offline inputs as .bin files for msame's file mode.

    python pic2bin.py --output_bin_dir bin
    # bin/fake_image.bin  x1 float32 [256, 100]  z ~ truncated normal (±2 sd), the training distribution
    # bin/label.bin       x2 int32   [256]       labels 0..9 (sample i has class i mod 10)

The card's pic2bin drew the noise uniformly from [0, 1); G is trained on truncated-normal z, so
here the noise comes from that distribution. Same --seed, same bytes.
"""

from __future__ import annotations

import argparse
import os

from common_tools.errors import UserError, check_output_dir, check_output_file, run_cli

from bigbigan import offline


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--output_bin_dir", required=True,
                   help="bin output folder; gets fake_image.bin and label.bin")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    p.add_argument("--latent_dim", type=int, default=100,
                   help="noise size per sample: the config's latent_dim (default 100, x1:256,100)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.latent_dim < 4 or args.latent_dim % 4:
        raise UserError(f"--latent_dim must be a positive multiple of 4, got {args.latent_dim}")
    out = check_output_dir(args.output_bin_dir, what="--output_bin_dir")
    for name in (offline.NOISE_FILE, offline.LABEL_FILE):
        check_output_file(os.path.join(out, name), what="--output_bin_dir")
    z, y = offline.draw_inputs(seed=args.seed, latent_dim=args.latent_dim)
    noise, label = offline.write_inputs(out, z, y)
    print(f"wrote {noise} (float32 {list(z.shape)}, truncated normal) and {label} (int32 {list(y.shape)})")
    return 0


if __name__ == "__main__":
    run_cli(main)
