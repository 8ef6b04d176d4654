"""The whole STGAN card on SynthFaces, end to end, in one process (what `make demo` runs).

Example:
    python demo.py --out ../runs/demo/stgan
Steps: data (generated once into <repo>/runs/data/synthfaces, 2000 faces, seed 0) -> train the demo
preset (resumes) -> test grids (single, multi, slide) -> ckpt2pb + ONNX -> img2bin -> the
msame-compatible runner -> bin2img -> parity online vs .pb vs ONNX runner -> PSNR/SSIM of the
reconstructions -> attribute-editing accuracy with the shared 64-px classifier -> <out>/summary.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common_tools.errors import run_cli  # noqa: E402
from stgan.cli import DEFAULT_DATA_DIR, REPO  # noqa: E402

STAGES = ("data", "train", "test grids", "ckpt2pb+onnx", "img2bin", "runner", "bin2img", "parity",
          "psnr/ssim", "attribute accuracy")


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(REPO, "runs", "demo", "stgan"))
    p.add_argument("--data_dir", default=DEFAULT_DATA_DIR)
    p.add_argument("--classifier_dir", default=None,
                   help="default: the shared 64-px classifier (common_tools.metrics.default_classifier_dir)")
    p.add_argument("--n_images", type=int, default=100, help="test images for the offline flow (0 = all 200)")
    p.add_argument("--epochs", type=int, default=None, help="override the demo preset's epochs")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    import numpy as np

    from common_tools import binio
    from common_tools import export as ct_export
    from common_tools.grids import save_png
    from common_tools.logging import progress
    from common_tools.metrics.attr_classifier import default_classifier_dir, ensure_classifier
    from common_tools.metrics.psnr_ssim import psnr_ssim_batch
    from common_tools.runner import run_folder
    from stgan import export, offline
    from stgan import test as test_lib
    from stgan.config import STGANConfig
    from stgan.evaluate import editing_accuracy_of_strips, read_strips
    from stgan.train import load_split, train

    args.classifier_dir = args.classifier_dir or default_classifier_dir(64)
    out = os.path.abspath(args.out)
    exp = os.path.join(out, "demo")
    bar = progress(total=len(STAGES), desc="stgan demo")
    timings, t = {}, time.time()

    def done(stage):
        nonlocal t
        timings[stage] = round(time.time() - t, 1)
        t = time.time()
        bar.set_postfix_str(stage)
        bar.update(1)

    if not os.path.isfile(os.path.join(args.data_dir, "list_attr_celeba.txt")):
        from common_tools.synthetic.faces import generate
        generate(args.data_dir, 2000, seed=0)
    done("data")

    cfg = STGANConfig.demo(**({"epochs": args.epochs} if args.epochs else {}))
    summary = train(cfg, args.data_dir, out, log_every=50)
    if summary["status"] != "done":
        from common_tools.errors import UserError
        raise UserError(f"demo training stopped ({summary['status']}); see {exp}/train_log.jsonl")
    shutil.copy(os.path.join(exp, "train_log.jsonl"), os.path.join(out, "train_log.jsonl"))
    done("train")

    test_lib.run(exp, args.data_dir, "single", n_images=6, test_int=1.0,
                 save_dir=os.path.join(exp, "sample_testing_grid"))
    test_lib.run(exp, args.data_dir, "slide", n_images=4, test_att="Blond_Hair", n_slide=7,
                 int_min=-1.0, int_max=1.0)
    test_lib.run(exp, args.data_dir, "multi", n_images=4, test_atts=["Black_Hair", "Eyeglasses"],
                 test_ints=[1.0, 1.0])
    from PIL import Image

    def stack(folder, path):
        rows = [np.asarray(Image.open(os.path.join(folder, n))) for n in sorted(os.listdir(folder))]
        return save_png(path, np.concatenate(rows, axis=0))

    stack(os.path.join(exp, "sample_testing_grid"), os.path.join(out, "single.png"))
    stack(os.path.join(exp, "sample_testing_slide_Blond_Hair"), os.path.join(out, "slide_Blond_Hair.png"))
    stack(os.path.join(exp, "sample_testing_multi_Black_Hair_Eyeglasses"), os.path.join(out, "multi.png"))
    done("test grids")

    cfg, G, prefix = test_lib.load_generator(exp)
    pb = export.export_pb(G, cfg, os.path.join(exp, "pb_model"))
    onnx = export.export_onnx(pb, os.path.join(exp, "onnx", "STGAN.onnx"))
    done("ckpt2pb+onnx")

    part = load_split(args.data_dir, cfg.atts, "test", args.n_images)
    bin_dir = os.path.join(exp, "bin")
    shutil.rmtree(bin_dir, ignore_errors=True)
    n_samples = offline.img2bin(part.image_dir, part.files, part.labels, cfg.atts, bin_dir, cfg.img_size,
                                cfg.thres_int, test_int=2.0)
    done("img2bin")

    inputs = ",".join(os.path.join(bin_dir, k) for k in export.INPUTS)
    t_run = time.time()
    shutil.rmtree(os.path.join(exp, "msame_out"), ignore_errors=True)  # ~70 MB per run at 64 px
    out_dir = run_folder(onnx, inputs, output=os.path.join(exp, "msame_out"), log=lambda s: None)
    runner_ms = 1000 * (time.time() - t_run) / n_samples
    done("runner")

    om_testing = os.path.join(exp, "om_testing")
    shutil.rmtree(om_testing, ignore_errors=True)
    offline.bin2img(part.image_dir, part.files, out_dir, om_testing, cfg.img_size)
    done("bin2img")

    # parity: every sample of the first 4 images through online G, the frozen .pb and the ONNX runner
    frozen = ct_export.FrozenGraph(pb, outputs=["output:0"])
    S, k = cfg.img_size, cfg.n_att
    online, pb_outs, ort_outs = [], [], []
    for name in part.files[:4]:
        stem = os.path.splitext(name)[0]
        for i in range(k + 1):
            feed = {key: binio.read_bin(os.path.join(bin_dir, key, f"{stem}_{i}.bin"), shape)
                    for key, shape in (("input1", [1, S, S, 3]), ("input2", [1, k]), ("input3", [1, k]))}
            online.append(G(feed["input1"], feed["input2"] - feed["input3"], training=False).numpy())
            pb_outs.append(frozen.run(feed)[0])
            ort_outs.append(binio.read_bin(os.path.join(out_dir, f"{stem}_{i}_output_0.bin"), [1, S, S, 3]))
    parity = ct_export.parity_report({"online": [np.concatenate(online)], "pb": [np.concatenate(pb_outs)],
                                      "onnx_runner": [np.concatenate(ort_outs)]})
    ct_export.write_parity(parity, os.path.join(out, "parity.json"))
    done("parity")

    _, inputs_u8, results_u8 = read_strips(om_testing, S)
    quality = psnr_ssim_batch(list(inputs_u8), list(results_u8[:, 0]))
    done("psnr/ssim")

    clf = ensure_classifier(args.data_dir, list(cfg.atts), args.classifier_dir, image_size=64)
    accuracy = editing_accuracy_of_strips(om_testing, args.data_dir, cfg.atts, clf)
    done("attribute accuracy")
    bar.close()

    first = sorted(os.listdir(om_testing))[:6]
    stack_dir = os.path.join(out, "_om_rows")
    os.makedirs(stack_dir, exist_ok=True)
    for n in first:
        shutil.copy(os.path.join(om_testing, n), stack_dir)
    stack(stack_dir, os.path.join(out, "om_testing.png"))
    shutil.rmtree(stack_dir)
    clf_acc = (clf.meta.get("test_accuracy") or {}).get("mean")
    numbers = {
        "iterations": summary["total"], "epochs": cfg.epochs, "train_seconds_this_run": timings["train"],
        "psnr_db": round(quality["psnr"], 2), "ssim": round(quality["ssim"], 4), "psnr_ssim_images": quality["n"],
        "attribute_accuracy_mean": round(accuracy["mean"], 4),
        "attribute_accuracy": {a: round(v, 4) for a, v in accuracy["per_attribute"].items()},
        "others_changed": round(accuracy["others_changed"], 4), "edits_scored": accuracy["n"],
        "classifier_test_accuracy": round(clf_acc, 4) if clf_acc is not None else None,
        "parity_max_abs": {pair: v["max_abs"][0] for pair, v in parity.items()},
        "runner_ms_per_sample": round(runner_ms, 2), "stage_seconds": timings,
    }
    atts = ", ".join(cfg.atts)
    result = {
        "model": "stgan", "title": "STGAN_for_ACL demo (SynthFaces, 64 px, CPU)",
        "numbers": numbers,
        "images": [
            {"path": "single.png", "caption": f"online test.py: input | reconstruction, then flips of {atts}"},
            {"path": "om_testing.png", "caption": "offline: img2bin -> ONNX runner -> bin2img (flipped attribute x2, the card's img2bin)"},
            {"path": "slide_Blond_Hair.png", "caption": "slide mode: Blond_Hair from -1 to 1 (7 steps)"},
            {"path": "multi.png", "caption": "multi mode: Black_Hair and Eyeglasses flipped together"},
        ],
        "notes": [
            f"demo preset: {cfg.img_size} px, widths {cfg.enc_dim}, {cfg.enc_layers} layers, batch {cfg.batch_size}, "
            f"n_d {cfg.n_d}, lr {cfg.lr}, {cfg.epochs} epochs on {args.data_dir} (SynthFaces), CPU",
            f"PSNR/SSIM over {quality['n']} test reconstructions; accuracy with test_int 2 over "
            f"{accuracy['n']} edits scored by the shared 64-px classifier ({args.classifier_dir})",
            "the .om step (ATC + msame) cannot run here: no Ascend toolkit; `make om` prints the card's command",
        ],
        "log": "train_log.jsonl",
        "loss_keys": ["d_loss", "g_loss"],
    }
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(f"demo: PSNR/SSIM {quality['psnr']:.2f} dB / {quality['ssim']:.4f}, attribute accuracy "
          f"{100 * accuracy['mean']:.2f} %, parity max {max(numbers['parity_max_abs'].values()):.2e}; "
          f"{out}/summary.json")
    return 0


if __name__ == "__main__":
    run_cli(main)
