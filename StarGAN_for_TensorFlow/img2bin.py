"""Test images and their target labels -> .bin folders for msame / the open runner (folder mode).

Example:
  python img2bin.py --image_root ../runs/data/synthfaces/img_align_celeba \\
      --metadata_path ../runs/data/synthfaces/list_attr_celeba.txt --output_dir ../runs/stargan \\
      --bin_dir ../runs/stargan/bin --num 8
  python -m common_tools.runner --model ../runs/stargan/stargan_model.onnx \\
      --input ../runs/stargan/bin/x_real,../runs/stargan/bin/c_trg --output ../runs/stargan/infer_out

Writes <bin_dir>/x_real/stargan_<image>_<k>.bin [1,S,S,3] and <bin_dir>/c_trg/stargan_<image>_<k>.bin
[1,c_dim] (k: the target attribute, as in the test phase) and <bin_dir>/manifest.json for bin2img.py.
Image size, attributes and the test split (n_test) come from <output_dir>/config.json.
"""

from __future__ import annotations

import argparse

from common_tools import runs
from common_tools.errors import check_output_dir, run_cli


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image_root", required=True, help="folder of the images (img_align_celeba/)")
    p.add_argument("--metadata_path", required=True, help="list_attr_celeba.txt")
    p.add_argument("--output_dir", required=True, help="the training output_dir (its config.json)")
    p.add_argument("--bin_dir", required=True, help="where to write x_real/, c_trg/, manifest.json")
    p.add_argument("--num", type=int, default=None, help="first N test images (default: all)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    check_output_dir(args.bin_dir, "--bin_dir")
    from stargan import data, offline
    from stargan.config import StarGANConfig

    cfg = runs.load_config(StarGANConfig, args.output_dir)
    _, test_split = data.load_splits(cfg, args.image_root, args.metadata_path)   # before TF starts
    batches = data.dataset(cfg, args.image_root, test_split, training=False, batch_size=1, repeat=False)
    skipped = set(batches.image_check.skipped)
    files = [f for f in test_split.files if f not in skipped]
    n = len(offline.write_bins(cfg, batches, files, args.bin_dir, limit=args.num)["samples"]) // cfg.c_dim
    print(f"wrote {n * cfg.c_dim} input pairs ({n} images x {cfg.c_dim} targets) to "
          f"{args.bin_dir}/x_real and {args.bin_dir}/c_trg")
    return 0


if __name__ == "__main__":
    run_cli(main)
