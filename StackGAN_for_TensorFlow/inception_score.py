"""Inception Score of generated birds (or flowers), the protocol of StackGAN-inception-model.

IS is computed on INDIVIDUAL samples (each 256x256 image its own file, e.g. the test_single/
folder that `TRAIN.FLAG False` inference writes), never on collages: the card's 1.37 (against the
paper's 3.70) came from scoring grids of real + Stage-I + Stage-II images. Protocol of the reference:
every image resized to 299x299 (bilinear), scaled to [-1, 1], shuffled; the CUB-fine-tuned
Inception-v3 (50 classes + background; flowers: 20) gives p(y|x); IS = exp(E KL(p(y|x) || p(y)))
on each of 10 splits, printed as mean and std.

--checkpoint_dir: the fine-tuned TF-slim checkpoint of StackGAN-inception-model
(inception_finetuned_models/birds_valid299/model.ckpt-5000, or its folder); it is not shipped here.
--domain_classifier: instead, SynthBirds' own classifier (the demo writes it): the domain IS in its
20 classes, which compares runs of this project only.

Example:
  python inception_score.py --image_folder ckt_logs/birds/stageII/eval/test_single \\
      --checkpoint_dir inception_finetuned_models/birds_valid299/model.ckpt-5000
  python inception_score.py --image_folder runs/demo/stackgan/png --domain_classifier runs/demo/stackgan/classifier
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common_tools.errors import UserError, run_cli  # noqa: E402

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


def load_images(folder: str, say=print):
    """Every .jpg/.png under ``folder`` (sorted) as uint8 RGB arrays; an unreadable file is skipped
    and named in one line. Returns (images, paths)."""
    import numpy as np
    from PIL import Image

    if not os.path.isdir(folder):
        raise UserError(f"--image_folder {folder} is not a folder: expected the folder of generated samples")
    paths = sorted(os.path.join(d, f) for d, _, files in os.walk(folder) for f in files
                   if f.lower().endswith(IMAGE_EXTENSIONS))
    images, kept = [], []
    for path in paths:
        try:
            with Image.open(path) as img:
                images.append(np.asarray(img.convert("RGB")))
            kept.append(path)
        except (OSError, ValueError) as exc:
            say(f"warning: skipped unreadable image {path} ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})")
    if not images:
        raise UserError(f"--image_folder {folder}: no readable .jpg/.png images in it")
    shapes = {im.shape[:2] for im in images}
    odd = [s for s in shapes if s[0] != s[1]]
    if odd:
        say(f"warning: {sum(im.shape[0] != im.shape[1] for im in images)} images are not square "
            f"(e.g. {odd[0][1]}x{odd[0][0]}): score single samples, never grids (the card's 1.37 came from collages)")
    return images, kept


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image_folder", required=True, help="the folder of generated samples (searched recursively)")
    p.add_argument("--checkpoint_dir", default=None,
                   help="the CUB-fine-tuned Inception-v3 checkpoint (prefix or folder) of StackGAN-inception-model")
    p.add_argument("--num_classes", type=int, default=50, help="its classes without the background (birds 50, flowers 20)")
    p.add_argument("--domain_classifier", default=None,
                   help="SynthBirds: the folder of the domain classifier instead of the Inception checkpoint")
    p.add_argument("--splits", type=int, default=10, help="splits (the reference: 10)")
    p.add_argument("--batch_size", type=int, default=64, help="images per forward pass")
    p.add_argument("--seed", type=int, default=0, help="seed of the shuffle (the reference: unseeded)")
    args = p.parse_args(argv)
    if args.splits < 1 or args.batch_size < 1:
        raise UserError("--splits and --batch_size must be >= 1")
    if not args.domain_classifier and not args.checkpoint_dir:
        raise UserError("no --checkpoint_dir: the bird Inception Score needs the CUB-fine-tuned Inception-v3 of "
                        "StackGAN-inception-model (inception_finetuned_models/birds_valid299/model.ckpt-5000), "
                        "not shipped here; on SynthBirds use --domain_classifier")
    say = lambda m: print(m, file=sys.stderr)  # noqa: E731
    images, _ = load_images(args.image_folder, say)
    if len(images) < args.splits:
        raise UserError(f"--image_folder {args.image_folder}: {len(images)} images for {args.splits} splits")
    from common_tools.device import select_device

    select_device("cpu", stream=None)
    import numpy as np

    from common_tools.metrics import inception_score as m

    if args.domain_classifier:
        from stackgan.evaluate import Classifier

        clf = Classifier.load(args.domain_classifier)
        order = np.random.default_rng(args.seed).permutation(len(images))
        stack = np.stack([images[i] for i in order]) if len({im.shape for im in images}) == 1 else None
        if stack is None:
            raise UserError(f"--image_folder {args.image_folder}: images of several sizes; the domain "
                            "classifier scores one size at a time")
        mean, std = m.inception_score_from_probs(clf.predict(stack)["class"], args.splits)
        print(f"domain IS (SynthBirds classifier, {len(images)} images, {args.splits} splits): "
              f"mean: {mean:.2f} std: {std:.2f}")
        return 0
    net = m.SlimInceptionV3.from_checkpoint(args.checkpoint_dir)
    if net.num_classes != args.num_classes:
        raise UserError(f"--checkpoint_dir {args.checkpoint_dir} has {net.num_classes} classes (+ background), "
                        f"--num_classes says {args.num_classes}")
    result = m.finetuned_inception_score(images, net, splits=args.splits, batch_size=args.batch_size,
                                         seed=args.seed)
    print(f"Inception Score ({len(images)} images, {args.splits} splits): mean: {result['is']:.2f} "
          f"std: {result['is_std']:.2f}")
    return 0


if __name__ == "__main__":
    run_cli(main)
