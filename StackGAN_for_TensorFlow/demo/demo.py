"""Generate birds from your own sentences with a trained StackGAN run (the card's demo/demo.py).

Each caption is turned into a 1024-d embedding by common_tools.text_encoder (hashed words and
bigrams through a fixed projection, no pretrained model): the embedding space of SynthBirds, so a
model trained on SynthBirds takes new sentences. A model trained on the published char-CNN-RNN
embeddings of CUB cannot use these vectors (that encoder is a Torch7 model that does not run here).

Writes, per caption, <out>/caption<i>.png (Stage-I samples above their Stage-II refinements for a
Stage-II run) and each final sample as <out>/caption<i>_<k>.png, plus <out>/captions.txt.

Example:
  python demo/demo.py --checkpoint ckt_logs/birds/stageII --caption "a small red bird with a black crown"
  python demo/demo.py --cfg demo/cfg/birds-demo.yml --out demo_out     # TEST.PRETRAINED_MODEL, TEST.CAPTION_PATH
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # no PYTHONPATH needed

from common_tools.device import add_device_args, select_device  # noqa: E402
from common_tools.errors import UserError, check_output_dir, run_cli  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None,
                   help="the run to generate from (run folder, checkpoints/ or a model_<step>.ckpt "
                        "prefix); default the YAML's TEST.PRETRAINED_MODEL")
    p.add_argument("--caption", action="append", default=None, help="a sentence (repeat for more)")
    p.add_argument("--caption_file", default=None,
                   help="a text file of captions, one per line (default the YAML's TEST.CAPTION_PATH)")
    p.add_argument("--cfg", dest="cfg_file", default=None, help="a YAML file with TEST.* keys")
    p.add_argument("--num_copy", type=int, default=None, help="samples per caption (default TEST.NUM_COPY, else 8)")
    p.add_argument("--seed", type=int, default=0, help="noise seed")
    p.add_argument("--out", default="demo_out", help="output folder")
    add_device_args(p)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from stackgan import cli, paths

    settings = cli.read_yaml(args.cfg_file) if args.cfg_file else {}
    checkpoint = args.checkpoint or settings.get("TEST.PRETRAINED_MODEL")
    if not checkpoint:
        raise UserError("no checkpoint: give --checkpoint (or TEST.PRETRAINED_MODEL in --cfg)")
    key = "--checkpoint" if args.checkpoint else "TEST.PRETRAINED_MODEL"
    captions = list(args.caption or [])
    caption_file = args.caption_file or settings.get("TEST.CAPTION_PATH")
    if caption_file:
        try:
            with open(caption_file, encoding="utf-8") as f:
                captions += [line.strip() for line in f if line.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read captions from {caption_file}: "
                            f"{getattr(exc, 'strerror', None) or exc}") from None
    if not captions:
        raise UserError("no captions: give --caption \"a small red bird\" or --caption_file FILE")
    copies = args.num_copy or int(settings.get("TEST.NUM_COPY") or 8)
    if copies < 1:
        raise UserError(f"--num_copy must be >= 1, got {copies}")
    from common_tools import text_encoder

    embeddings = text_encoder.encode(captions)                          # [n, 1024]
    prefix = paths.resolve_checkpoint(str(checkpoint), key)
    from stackgan.config import StackGANConfig

    saved = paths.saved_config(prefix, StackGANConfig)
    if saved is not None and saved.embedding_dim != embeddings.shape[1]:
        raise UserError(f"{key} {checkpoint} takes {saved.embedding_dim}-d embeddings, the text encoder "
                        f"makes {embeddings.shape[1]}-d ones")
    out = check_output_dir(args.out, "--out")
    select_device(args.device)
    import numpy as np
    import tensorflow as tf

    from common_tools.grids import make_grid, save_png
    from stackgan import infer

    cfg, nets, step = infer.load_generators(prefix, key)
    rng = tf.random.Generator.from_seed(args.seed)
    samples = [infer.generate(nets, embeddings, infer.draw_noise_for(cfg, len(captions), rng))
               for _ in range(copies)]
    final = "stage2" if cfg.stage == 2 else "stage1"
    for i, caption in enumerate(captions):
        images, per_line = infer.caption_grid(samples, i)
        save_png(os.path.join(out, f"caption{i}.png"), make_grid(images, nrow=per_line, value_range=(-1, 1)))
        for k, sample in enumerate(samples):
            save_png(os.path.join(out, f"caption{i}_{k}.png"), np.asarray(sample[final][i]), value_range=(-1, 1))
    with open(os.path.join(out, "captions.txt"), "w", encoding="utf-8") as f:
        f.write("".join(f"caption{i}.png\t{c}\n" for i, c in enumerate(captions)))
    print(f"wrote {len(captions)} caption grids of {copies} samples to {out} (checkpoint step {step})")
    return 0


if __name__ == "__main__":
    run_cli(main)
