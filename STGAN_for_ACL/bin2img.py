"""Turn the offline model's .bin outputs back into the card's side-by-side PNG strips.

Examples:
    python3 bin2img.py --input_dir output/demo/bin --bin_dir output/demo/msame_out --save_dir output/demo/om_testing
    python3 bin2img.py --data_dir /data/celeba/ --bin_dir ./output/1024/msame_out/20211104_165416 \\
        --save_dir ./output/1024/om_testing --experiment_name 1024          # inputs in output/1024/bin
--bin_dir may be msame's --output folder (the newest timestamped subfolder is used) or the subfolder
itself. --input_dir is the folder img2bin.py wrote (default output/<experiment_name>/bin): its
manifest.json says which outputs the model must have written, and they are checked (count, size,
no other model's files) before any strip is drawn. Each strip: the input crop, a 12-px gap, then
outputs stgan_{idx}_0 (reconstruction) ... stgan_{idx}_13.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common_tools.errors import UserError, check_output_dir, run_cli  # noqa: E402
from stgan.cli import DEFAULT_OUTPUT_ROOT  # noqa: E402


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin_dir", required=True, help="msame --output folder or its timestamped subfolder")
    p.add_argument("--save_dir", required=True)
    p.add_argument("--input_dir", default=None, help="img2bin.py's --save_dir (default: output/<experiment_name>/bin)")
    p.add_argument("--experiment_name", default=None)
    p.add_argument("--output_root", default=DEFAULT_OUTPUT_ROOT)
    p.add_argument("--data_dir", default=None, help="the card's flag; not needed (the inputs come from --input_dir)")
    p.add_argument("--img_size", type=int, default=None, help="the card's flag; read from the manifest")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    check_output_dir(args.save_dir, "--save_dir")
    input_dir = args.input_dir
    if input_dir is None:
        if not args.experiment_name:
            raise UserError("give --input_dir (the folder img2bin.py wrote, with its manifest.json) or "
                            "--experiment_name (its inputs in <output_root>/<name>/bin)")
        input_dir = os.path.join(args.output_root, args.experiment_name, "bin")
    from common_tools.offline import read_manifest
    from stgan.offline import bin2img

    size = read_manifest(input_dir)["meta"].get("img_size")
    if args.img_size is not None and args.img_size != size:
        raise UserError(f"--img_size {args.img_size}, but the inputs in {input_dir} are {size}-px images")
    written = bin2img(input_dir, args.bin_dir, args.save_dir)
    print(f"bin2img: wrote {len(written)} strip(s) to {args.save_dir}")
    return 0


if __name__ == "__main__":
    run_cli(main)
