"""evaluate: what BigBiGAN is for, measured on a trained run (E's features, G's labels, x -> E -> G).

    python evaluate.py --result_path ../runs/bigbigan/results --dataset_path ../runs/data/synthdigits \\
        --output_dir ../runs/bigbigan/evaluation
    # -> evaluation.json, reconstructions.png, samples_per_class.png; four summary lines printed

- linear probe: a ridge classifier (strength validated on a held-out sixth of the train split)
  fitted on E(x) of the train split, scored on the test split, beside the same probe on raw
  pixels and on a randomly initialised E (and on E's pooled RevNet features, the paper's "avepool");
- label consistency: the share of G(z, y) (100 per class) that a classifier trained on real
  images (the pixel probe) assigns to y;
- reconstruction x -> E(x) -> G(E(x), y): MSE in [0, 1] pixels, beside G(z ~ prior, y), and a grid;
- encoder collapse: the spread of E(x) over the test set against the prior's (0.88).

--result_path is models/main.py's run folder (config.json + checkpoints/); --checkpoint picks
another checkpoint of it. --num_train / --num_test limit the splits (default: all).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common_tools.errors import UserError, check_output_dir, run_cli  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--result_path", required=True, help="trained run folder (config.json, checkpoints/)")
    p.add_argument("--dataset_path", required=True, help="data folder (MNIST IDX, CIFAR-10 batches, "
                   "a tensorflow_datasets folder or SynthDigits)")
    p.add_argument("--output_dir", required=True, help="folder for evaluation.json and the grids")
    p.add_argument("--checkpoint", default=None, help="a checkpoint of the run (default: its latest)")
    p.add_argument("--num_train", type=int, default=None, help="train images for the probes (default: all)")
    p.add_argument("--num_test", type=int, default=None, help="test images (default: all)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    out = check_output_dir(args.output_dir, what="--output_dir")
    config = os.path.join(args.result_path, "config.json")
    if not os.path.isfile(config):
        raise UserError(f"--result_path {args.result_path}: no config.json; expected a run folder of "
                        "models/main.py --result_path (config.json + checkpoints/)")
    for name in ("num_train", "num_test"):
        value = getattr(args, name)
        if value is not None and value < 20:
            raise UserError(f"--{name} {value}: expected at least 20 images (the probe holds out a sixth)")
    from bigbigan.evaluate import EVALUATION_FILE, describe, run_evaluation

    result = run_evaluation(args.result_path, args.dataset_path, out, checkpoint=args.checkpoint,
                            num_train=args.num_train, num_test=args.num_test)
    for line in describe(result):
        print(line)
    print(f"wrote {os.path.join(out, EVALUATION_FILE)}, reconstructions.png, samples_per_class.png "
          f"(checkpoint step {result['checkpoint_step']})")
    return 0


if __name__ == "__main__":
    run_cli(main)
