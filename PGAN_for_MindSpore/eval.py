"""PGAN evaluation, the card's eval.py: an 8 x 8 grid of 64 faces from the averaged generator.

Examples:
  python eval.py --checkpoint_g output/checkpoints/AvG_528000.ckpt
  python eval.py --checkpoint_g output                       # the run's newest AvG checkpoint
  python eval.py --checkpoint_g AvG_5000.ckpt --scale 32 --img_out_dir img_eval
  python eval.py --checkpoint_g output --metrics_data ../runs/data/synthfaces --n_metrics 1024   # + metrics.json

The generator's scale and widths come from the checkpoint (and its run's config.json), not from
edits to this file as the card asks; --scale only checks it. As the card: seed 1, 64 latent
vectors, G(z, 0.0), clipped, every face resized to 128 x 128, written to <img_out_dir>/result.jpg.
With --metrics_data (the training images): <img_out_dir>/metrics.json with the sliced Wasserstein
distance per Laplacian level (PGGAN, x 1e3) and the MS-SSIM of generated pairs (--fid adds FID where
TensorFlow and the Inception weights are installed; it is never needed).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GLOG_v", "3")

from common_tools.device import DEVICES, select_device, setup_mindspore  # noqa: E402
from common_tools.errors import UserError, check_output_file, run_cli  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint_g", required=True,
                   help="AvG_<step>.ckpt, or a run folder / its checkpoints/ folder (the newest AvG)")
    p.add_argument("--img_out_dir", default="img_eval", help="folder of result.jpg (default img_eval)")
    p.add_argument("--scale", type=int, default=None, help="the resolution the checkpoint must hold (a check)")
    p.add_argument("--seed", type=int, default=1, help="noise seed (the card's 1)")
    p.add_argument("--n_images", type=int, default=64, help="faces in the grid (default 64, 8 per row)")
    p.add_argument("--tile_size", type=int, default=128, help="side of each face in the grid (the card's 128)")
    p.add_argument("--metrics_data", default=None,
                   help="real images (a face folder / CelebA root): also write metrics.json (SWD, MS-SSIM)")
    p.add_argument("--n_metrics", type=int, default=1024, help="images per set for the metrics (paper: 16,384)")
    p.add_argument("--fid", action="store_true", help="with --metrics_data: FID too (needs TensorFlow + weights)")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--device_target", default=None, help="the card's flag: Ascend, GPU or CPU (same as --device)")
    p.add_argument("--device_id", type=int, default=int(os.environ.get("DEVICE_ID", "0") or 0))
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.n_images < 1 or args.tile_size < 1:
        raise UserError("--n_images and --tile_size must be >= 1")
    if args.n_metrics < 2:
        raise UserError(f"--n_metrics must be >= 2 (MS-SSIM pairs images), got {args.n_metrics}")
    out = check_output_file(os.path.join(args.img_out_dir, "result.jpg"), "--img_out_dir")
    if args.fid and not args.metrics_data:
        raise UserError("--fid needs --metrics_data (the real images to compare with)")
    if args.fid:
        from pgan.evaluate import fid_status

        ok, why = fid_status()
        if not ok:
            raise UserError(f"--fid: {why[len('FID skipped: '):]}; leave --fid out for SWD and MS-SSIM only")
    data = None
    if args.metrics_data:
        from pgan.dataset import ImageFolder

        data = ImageFolder(args.metrics_data, seed=args.seed)
    from pgan.inference import card_device, generate, grid_image, load_generator, noise

    device = select_device(card_device(args.device, args.device_target), framework="mindspore")
    setup_mindspore(device, args.device_id, mode="graph")

    G, info = load_generator(args.checkpoint_g, scale=args.scale)
    images = generate(G, noise(args.n_images, info["latent_dim"], args.seed), 0.0)
    grid_image(images, tile=args.tile_size).save(out, quality=95)
    r = info["resolution"]
    print(f"wrote {out}: {args.n_images} faces of the {r}x{r} generator {info['path']}")
    if data is not None:
        import json

        from pgan.evaluate import quality

        figures = quality(G, data, n=args.n_metrics, seed=args.seed, fid=args.fid)
        path = os.path.join(args.img_out_dir, "metrics.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=1)
        swd = figures["swd"] or {}
        shown = ", ".join(f"{k} {v:.1f}" for k, v in swd.items())
        print(f"wrote {path}: SWD x1e3 {shown or 'n/a'}; MS-SSIM {figures['msssim']}"
              + "".join(f"; {n}" for n in figures["notes"]))
    return 0


if __name__ == "__main__":
    run_cli(main)
