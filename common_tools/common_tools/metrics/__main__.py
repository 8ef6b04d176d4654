"""CLI: python -m common_tools.metrics fid|kid|is|swd|msssim|psnr_ssim|attr_train|attr_eval ...

Image sets are folders of images or .npz files holding one array [N, H, W, 3] (uint8, or floats in
[0, 255]; key ``images`` if there are several). The result is printed as JSON (and written with --out).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

import numpy as np

from common_tools.errors import UserError, run_cli

EXAMPLES = """examples:
  python -m common_tools.metrics fid runs/data/synthfaces/img_align_celeba runs/demo/<model>/fakes --out fid.json
  python -m common_tools.metrics kid real_dir fake_dir
  python -m common_tools.metrics is fake_dir --is_weights inception_softmax_2048x1008.npy
  python -m common_tools.metrics swd real.npz fake.npz
  python -m common_tools.metrics msssim fake_dir --num 1000
  python -m common_tools.metrics psnr_ssim originals_dir reconstructions_dir
  python -m common_tools.metrics attr_train --data_root runs/data/synthfaces --out_dir runs/attr_clf --image_size 64 --steps 300
  python -m common_tools.metrics attr_train --data_root runs/data/synthfaces --out_dir runs/clf_c --crop center:178 \
      --resize bilinear --split seeded --image_size 64 --steps 300
  python -m common_tools.metrics attr_eval --classifier runs/attr_clf --data_root runs/data/synthfaces
"""


# ---- inputs ----------------------------------------------------------------------------------------------

def load_npz_images(path: str) -> np.ndarray:
    try:
        with np.load(path) as z:
            keys = z.files
            if not keys:
                raise UserError(f"{path}: empty .npz; expected an array [N, H, W, 3]")
            key = "images" if "images" in keys else keys[0]
            if len(keys) > 1 and key != "images":
                raise UserError(f"{path}: several arrays {keys}; name the images array 'images'")
            return z[key]
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None


def load_set(path: str, num: int | None = None, names: bool = False):
    """An image set from a folder or .npz as an array [N, H, W, 3] (and the file names if asked)."""
    from common_tools.metrics.fid import check_images, list_images, load_image

    if os.path.isfile(path) and path.endswith(".npz"):
        x = load_npz_images(path)[:num]
        check_images(x, path)
        files = [f"{i:06d}" for i in range(len(x))]
    else:
        if not os.path.exists(path):
            raise UserError(f"image folder or .npz not found: {path}")
        paths = list_images(path)[:num]
        ims = [load_image(p) for p in paths]
        for p, im in zip(paths, ims):
            if im.shape != ims[0].shape:
                raise UserError(f"{p}: image size {im.shape[1]}x{im.shape[0]} differs from "
                                f"{ims[0].shape[1]}x{ims[0].shape[0]} of {paths[0]}; expected one size per set")
        x = np.stack(ims)
        files = [os.path.basename(p) for p in paths]
    return (x, files) if names else x


def source(path: str, num: int | None):
    """For FID/KID/IS: folders are passed through (cached statistics), .npz loaded."""
    if os.path.isdir(path) and num is None:
        return path
    return load_set(path, num)


# ---- commands --------------------------------------------------------------------------------------------

def cmd_fid(a) -> dict:
    from common_tools.metrics.fid import fid_between

    value = fid_between(source(a.real, a.num), source(a.fake, a.num), batch_size=a.batch_size,
                        cache_dir=a.cache_dir)
    return {"metric": "FID (2015-12-05 Inception pool3)", "fid": value}


def cmd_kid(a) -> dict:
    from common_tools.metrics.kid import kid_between

    out = kid_between(source(a.real, a.num), source(a.fake, a.num), batch_size=a.batch_size,
                      num_subsets=a.subsets, max_subset_size=a.subset_size)
    return {"metric": "KID (2015-12-05 Inception pool3)", **out}


def cmd_is(a) -> dict:
    from common_tools.metrics.inception_score import inception_score, load_softmax_weights

    load_softmax_weights(a.is_weights)  # fail before computing features
    out = inception_score(source(a.images, a.num), a.is_weights, splits=a.splits, batch_size=a.batch_size)
    return {"metric": "Inception Score", **out}


def cmd_swd(a) -> dict:
    from common_tools.metrics.swd import swd

    return {"metric": "SWD x1e3 (PGGAN)", **swd(load_set(a.real, a.num), load_set(a.fake, a.num), seed=a.seed)}


def cmd_msssim(a) -> dict:
    from common_tools.metrics.msssim import msssim_diversity

    return {"metric": "MS-SSIM over pairs (lower = more diverse)", **msssim_diversity(load_set(a.images, a.num))}


def cmd_psnr_ssim(a) -> dict:
    from common_tools.metrics.psnr_ssim import psnr_ssim_batch

    x, xn = load_set(a.a, a.num, names=True)
    y, yn = load_set(a.b, a.num, names=True)
    if os.path.isdir(a.a) and os.path.isdir(a.b):
        common = sorted(set(xn) & set(yn))
        if not common:
            raise UserError(f"{a.a} and {a.b} share no file names; expected pairs with the same names")
        x = x[[xn.index(n) for n in common]]
        y = y[[yn.index(n) for n in common]]
    if x.shape != y.shape:
        raise UserError(f"image sets differ in shape: {a.a} {x.shape} vs {a.b} {y.shape}; expected pairs of one size")
    return {"metric": "PSNR (dB) / SSIM (Wang et al. 2004, 11x11 Gaussian 1.5)",
            **psnr_ssim_batch(x, y, data_range=a.data_range)}


SPLITS = ("partition", "seeded")


def split_spec(name: str, seed: int = 1234, n_test: int = 1999):
    """--split partition: list_eval_partition.txt (else CelebA's official number ranges);
    --split seeded: shuffle with ``seed``, the first ``n_test`` rows (at most a tenth) are the test set."""
    from common_tools import celeba

    if name == "partition":
        return celeba.PartitionSplit()
    if name == "seeded":
        return celeba.SeededSplit(seed=seed, n_test=n_test, max_test_fraction=0.1)
    raise UserError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")


def crop_spec(text: str, image_size: int):
    """--crop default | center:SIZE | box:TOP,LEFT,SIZE (default: the classifier protocol's face crop)."""
    from common_tools import celeba
    from common_tools.metrics.attr_classifier import default_preprocess

    kind, _, args = text.partition(":")
    try:
        if kind == "default" and not args:
            return default_preprocess(image_size).crop
        if kind == "center":
            return celeba.CenterCrop(int(args))
        if kind == "box":
            top, left, size = (int(v) for v in args.split(","))
            return celeba.Crop(top, left, size)
    except ValueError:
        pass
    raise UserError(f"--crop {text!r}: expected default, center:SIZE or box:TOP,LEFT,SIZE (e.g. box:40,15,148)")


def cmd_attr_train(a) -> dict:
    from common_tools import celeba
    from common_tools.metrics.attr_classifier import RESOLUTION_JITTER, AttributeClassifier, train_classifier

    preprocess = celeba.Preprocess(crop=crop_spec(a.crop, a.image_size), resize=a.resize, flip=a.flip)
    out = train_classifier(a.data_root, a.attrs, a.out_dir, image_size=a.image_size, steps=a.steps,
                           batch_size=a.batch_size, preprocess=preprocess,
                           split=split_spec(a.split, a.split_seed, a.n_test), seed=a.seed,
                           jitter=None if a.no_jitter else RESOLUTION_JITTER)
    meta = AttributeClassifier.load(out).meta
    return {"classifier": out, "test_accuracy": meta.get("test_accuracy"), "train_seconds": meta.get("train_seconds")}


def cmd_attr_eval(a) -> dict:
    from common_tools import celeba
    from common_tools.metrics.attr_classifier import AttributeClassifier, _dataset, _split_indices

    clf = AttributeClassifier.load(a.classifier)
    preprocess = clf.preprocess  # a classifier from before the recorded specs: one line, retrain it
    split = split_spec(a.split, a.split_seed, a.n_test) if a.split else clf.split
    table = celeba.read_attributes(os.path.join(a.data_root, "list_attr_celeba.txt"))
    labels = np.asarray(table.labels(clf.attrs), np.float32)
    _, test_idx = _split_indices(table, a.data_root, split)
    if a.num:
        test_idx = test_idx[:a.num]
    if len(test_idx) == 0:
        raise UserError(f"the test split of {a.data_root} is empty")
    files = np.array(table.files)[test_idx]
    ds = _dataset(a.data_root, list(files), labels[test_idx], preprocess, clf.image_size, 64, False, 0)
    xs, ys = zip(*[(np.asarray(x), np.asarray(y)) for x, y in ds])
    return {"classifier": a.classifier, "split": "test", **clf.accuracy(np.concatenate(xs), np.concatenate(ys))}


# ---- parser ----------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m common_tools.metrics", description=__doc__.split("\n")[0],
                                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    def add(name, fn, help_):
        s = sub.add_parser(name, help=help_, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
        s.set_defaults(fn=fn)
        s.add_argument("--out", help="also write the JSON result to this file")
        return s

    for name, fn, help_ in (("fid", cmd_fid, "FID between two image sets"), ("kid", cmd_kid, "KID between two image sets")):
        s = add(name, fn, help_)
        s.add_argument("real", help="folder of images or .npz")
        s.add_argument("fake", help="folder of images or .npz")
        s.add_argument("--batch_size", type=int, default=50)
        s.add_argument("--num", type=int, default=None, help="use only the first N images of each set")
        if name == "fid":
            s.add_argument("--cache_dir", default=None, help="folder statistics cache (default ~/.cache/ganzoo/fid_stats)")
        else:
            s.add_argument("--subsets", type=int, default=100)
            s.add_argument("--subset_size", type=int, default=1000)
    s = add("is", cmd_is, "Inception Score of an image set (needs --is_weights)")
    s.add_argument("images")
    s.add_argument("--is_weights", default=None, help="softmax weights [2048, 1008] .npy/.npz of the 2015 graph")
    s.add_argument("--splits", type=int, default=10)
    s.add_argument("--batch_size", type=int, default=50)
    s.add_argument("--num", type=int, default=None)
    s = add("swd", cmd_swd, "sliced Wasserstein distance (PGGAN) between two sets")
    s.add_argument("real")
    s.add_argument("fake")
    s.add_argument("--num", type=int, default=None)
    s.add_argument("--seed", type=int, default=0)
    s = add("msssim", cmd_msssim, "MS-SSIM diversity over consecutive pairs of one set")
    s.add_argument("images")
    s.add_argument("--num", type=int, default=None)
    s = add("psnr_ssim", cmd_psnr_ssim, "PSNR and SSIM between pairs (same file names in two folders)")
    s.add_argument("a")
    s.add_argument("b")
    s.add_argument("--data_range", type=float, default=255)
    s.add_argument("--num", type=int, default=None)
    s = add("attr_train", cmd_attr_train, "train the attribute classifier on a CelebA-format folder")
    s.add_argument("--data_root", required=True, help="folder with img_align_celeba/, list_attr_celeba.txt")
    s.add_argument("--out_dir", required=True)
    s.add_argument("--attrs", nargs="+", default=["Bald", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair",
                                                  "Bushy_Eyebrows", "Eyeglasses", "Male", "Mouth_Slightly_Open",
                                                  "Mustache", "No_Beard", "Pale_Skin", "Young"])
    s.add_argument("--image_size", type=int, default=128)
    s.add_argument("--steps", type=int, default=1500)
    s.add_argument("--batch_size", type=int, default=32)
    s.add_argument("--crop", default="default",
                   help="default (the protocol's face crop for --image_size), center:SIZE or box:TOP,LEFT,SIZE")
    s.add_argument("--resize", default="bicubic_tf1", choices=["bicubic_tf1", "bilinear"])
    s.add_argument("--flip", action="store_true", help="random horizontal flips of training images")
    s.add_argument("--no_jitter", action="store_true",
                   help="no resolution jitter (by default half the training batches are shrunk to a random "
                        "size >= 24 px and resized back, so generators' low-resolution faces are judged fairly)")
    s.add_argument("--split", default="partition", choices=SPLITS,
                   help="partition: list_eval_partition.txt (else CelebA's number ranges); "
                        "seeded: shuffled, the first --n_test rows (at most a tenth) are the test set")
    s.add_argument("--split_seed", type=int, default=1234, help="seed of --split seeded")
    s.add_argument("--n_test", type=int, default=1999, help="test rows of --split seeded")
    s.add_argument("--seed", type=int, default=0)
    s = add("attr_eval", cmd_attr_eval, "test-split accuracy per attribute of a trained classifier")
    s.add_argument("--classifier", required=True, help="folder written by attr_train")
    s.add_argument("--data_root", required=True)
    s.add_argument("--split", default=None, choices=SPLITS, help="default: the one it was trained with")
    s.add_argument("--split_seed", type=int, default=1234, help="seed of --split seeded")
    s.add_argument("--n_test", type=int, default=1999, help="test rows of --split seeded")
    s.add_argument("--num", type=int, default=None)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        result = args.fn(args)
    for w in caught:
        if issubclass(w.category, UserWarning):
            print(f"warning: {w.message}", file=sys.stderr)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    run_cli(main)
