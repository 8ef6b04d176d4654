"""getAcc: compare the images of the online model (gpu_out.bin), the .pb (pb_out.bin) and the .om
(msame's bigbigan_output_0.bin, or the ONNX runner's), pairwise, and write the om images.

    python -m common_tools.runner --model ../runs/bigbigan/pb/bigbigan.onnx \\
        --input ../runs/bigbigan/bin/fake_image.bin,../runs/bigbigan/bin/label.bin \\
        --output ../runs/bigbigan/om_out --outfmt BIN --loop 1
    python getAcc.py --input_om_out ../runs/bigbigan/om_out \\
        --input_gpu_generated_img ../runs/bigbigan/generated_images/gpu_out.bin \\
        --input_pb_generated_img ../runs/bigbigan/generated_images/pb_out.bin \\
        --output_om_generated_img ../runs/bigbigan/om_out/generated_images

Prints the max and mean absolute difference of every pair (the card reports ~1e-4 for the mean) and
writes <output_om_generated_img>/: images/om_NNN.png, om_grid.png (16x16), side_by_side.png (the
first 8 images, left to right: GPU, pb, om) and accuracy.json. Each input may be the file or its
folder; --input_om_out may also be msame's --output folder (its newest subfolder is used).
"""

from __future__ import annotations

import argparse
import json
import os

from common_tools.errors import check_output_dir, check_output_file, run_cli

from bigbigan import offline


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input_om_out", required=True, help="bigbigan_output_0.bin, or msame's output folder")
    p.add_argument("--input_gpu_generated_img", required=True, help="gpu_out.bin (or its folder)")
    p.add_argument("--input_pb_generated_img", required=True, help="pb_out.bin (or its folder)")
    p.add_argument("--output_om_generated_img", required=True, help="folder for the om images and the report")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    paths = {"gpu": offline.resolve_file(args.input_gpu_generated_img, offline.GPU_FILE, "--input_gpu_generated_img"),
             "pb": offline.resolve_file(args.input_pb_generated_img, offline.PB_FILE, "--input_pb_generated_img"),
             "om": offline.resolve_om_output(args.input_om_out)}
    out = check_output_dir(args.output_om_generated_img, what="--output_om_generated_img")
    report_path = check_output_file(os.path.join(out, "accuracy.json"), what="--output_om_generated_img")
    outputs = {name: offline.read_images(path) for name, path in paths.items()}
    report = offline.compare(outputs)
    print(offline.format_report(report))
    written = offline.save_images(out, outputs, show="om")
    with open(report_path, "w", encoding="utf-8") as f:
        json.dump({"inputs": paths, "pairs": report, "images": written}, f, indent=1)
        f.write("\n")
    print(f"wrote {written['grid']}, {written['side_by_side']} (GPU | pb | om) and {report_path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
