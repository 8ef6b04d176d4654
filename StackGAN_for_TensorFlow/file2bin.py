"""Caption embeddings -> the card's .bin files (64 rows each) for msame / the runner.

The seed's input: the first caption of each test image, 64 rows per .bin. The run (--model_path)
says which graph the bins are for (its stage, z_dim, c_dim, embedding size; read from its
config.json, no TensorFlow). ``--variant deterministic`` (default) also writes the noise bins the
deterministic graph takes (z and eps from --seed), so its outputs can be checked; ``card`` writes
``Placeholder`` bins only (the seed's graph draws its noise inside). The last bin is filled up by
repeating its last row; manifest.json says which rows are real and which image each came from.

Example:
  python file2bin.py --model_path ckt_logs/birds/stageII --data_dir Data/birds --bin_dir out/bin
  python -m common_tools.runner --model out/stackgan.onnx --input out/bin/embedding,out/bin/noise --output out/runner
  python file2bin.py --model_path ckt_logs/birds/stageII --caption_file demo/cfg/birds-captions.txt --bin_dir out/bin_own
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common_tools.errors import UserError, run_cli  # noqa: E402


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_path", required=True,
                   help="the trained run the bins are for (run folder, checkpoints/ or model_<step>.ckpt prefix)")
    p.add_argument("--data_dir", default=None, help="the data set folder (Data/birds): embeddings of --split")
    p.add_argument("--split", default="test", choices=("train", "test"), help="which split's embeddings")
    p.add_argument("--sentence", type=int, default=0, help="which caption of each image (the seed: the first)")
    p.add_argument("--caption_file", default=None,
                   help="instead of --data_dir: sentences, one per line, embedded by common_tools.text_encoder")
    p.add_argument("--max_rows", type=int, default=None, help="only the first N images / sentences")
    p.add_argument("--bin_dir", required=True, help="the folder to write (input folders + manifest.json)")
    p.add_argument("--variant", choices=("deterministic", "card"), default="deterministic",
                   help="deterministic: embedding + noise bins; card: Placeholder bins only")
    p.add_argument("--batch", type=int, default=64, help="rows per .bin (the card's graph: 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise bins")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from stackgan import data, offline, paths
    from stackgan.config import StackGANConfig

    prefix = paths.resolve_checkpoint(args.model_path, "--model_path")
    cfg = paths.saved_config(prefix, StackGANConfig)
    if cfg is None:
        raise UserError(f"--model_path {args.model_path}: no config.json in {paths.run_dir_of(prefix)}")
    if (args.caption_file is None) == (args.data_dir is None):
        raise UserError("give one of --data_dir (a split's embeddings) or --caption_file (your sentences)")
    if args.caption_file:
        try:
            with open(args.caption_file, encoding="utf-8") as f:
                captions = [line.strip() for line in f if line.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read --caption_file {args.caption_file}: "
                            f"{getattr(exc, 'strerror', None) or exc}") from None
        if not captions:
            raise UserError(f"--caption_file {args.caption_file} holds no sentences")
        from common_tools import text_encoder

        captions = captions[:args.max_rows]
        emb, names = text_encoder.encode(captions), None
    else:
        split = data.load_split(args.data_dir, args.split, cfg, images=False)
        if not 0 <= args.sentence < split.embeddings.shape[1]:
            raise UserError(f"--sentence {args.sentence}: the images of {split.directory} have "
                            f"{split.embeddings.shape[1]} captions (0..{split.embeddings.shape[1] - 1})")
        n = len(split) if args.max_rows is None else min(len(split), args.max_rows)
        emb, names = split.embeddings[:n, args.sentence], split.filenames[:n]
        captions = []
        for filename, class_id in zip(names, split.class_id[:n]):
            text = data.read_captions(args.data_dir, filename, class_id)
            captions.append(text[args.sentence] if args.sentence < len(text) else "")
    manifest = offline.file2bin(args.bin_dir, cfg, emb, names, variant=args.variant, seed=args.seed,
                                batch=args.batch, captions=captions)
    inputs = ",".join(os.path.join(args.bin_dir, e["name"]) for e in manifest["inputs"])
    print(f"wrote {len(manifest['samples'])} bins of {args.batch} rows ({len(emb)} captions) to "
          f"{args.bin_dir}; run: python -m common_tools.runner --model <the .onnx> --input {inputs} "
          f"--output <folder>")
    return 0


if __name__ == "__main__":
    run_cli(main)
