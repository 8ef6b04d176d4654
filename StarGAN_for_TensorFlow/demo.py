"""The whole StarGAN pipeline on SynthFaces, on CPU, in a few minutes: what `make demo` runs.

Example:
  python demo.py --out ../runs/demo/stargan --data ../runs/data/synthfaces

Steps (each skipped when its output is already there, so a second run only re-measures):
  data (2000 faces, seed 0) -> train (demo preset; resumes) -> test grids -> freeze .pb + ONNX
  -> img2bin -> the msame-compatible runner on the ONNX -> bin2img -> parity (online / .pb / .onnx /
  runner) -> translation accuracy, reconstruction error, FID (when the Inception weights exist)
  -> <out>/summary.json for `python -m common_tools.report`.
The Ascend .om step (ATC) cannot run here: `make om` prints the exact command and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common_tools.errors import run_cli  # noqa: E402

STAGES = ("data", "train", "test", "freeze", "img2bin", "runner", "bin2img", "parity", "evaluate")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="demo output folder (the run's output_dir)")
    p.add_argument("--data", required=True, help="SynthFaces folder (generated there if missing)")
    p.add_argument("--num_faces", type=int, default=2000)
    p.add_argument("--iterations", type=int, default=None, help="override the demo preset's iterations")
    p.add_argument("--offline_images", type=int, default=8, help="test images through the offline path")
    p.add_argument("--eval_batches", type=int, default=None, help="limit evaluation (batches of 16)")
    p.add_argument("--no_fid", action="store_true", help="skip FID")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    import numpy as np

    from common_tools import export
    from common_tools.logging import progress
    from common_tools import runner
    from common_tools.synthetic import faces

    from stargan import data, evaluate, offline, test
    from stargan.config import StarGANConfig
    from stargan.export import OUTPUT, freeze_generator, load_generator
    from stargan.train import train

    out, t_start = os.path.abspath(args.out), time.time()
    images, attrs = os.path.join(args.data, "img_align_celeba"), os.path.join(args.data, "list_attr_celeba.txt")
    numbers, notes, seconds = {}, [], {}
    bar = progress(total=len(STAGES), desc="stargan demo")

    def stage(name):
        seconds[name] = round(time.time() - stage.t, 1)
        stage.t = time.time()
        bar.set_postfix_str(name)
        bar.update(1)
    stage.t = time.time()

    # 1. data
    if not os.path.isfile(attrs):
        faces.generate(args.data, args.num_faces, seed=0)
    stage("data")

    # 2. train (resumes; a finished run is kept)
    cfg = StarGANConfig.demo()
    if args.iterations:
        cfg = cfg.replace(training_iterations=args.iterations)
    result = train(cfg, images, attrs, out)
    numbers["iterations"] = result["end"]
    stage("train")

    # 3. test grids (the first two batches of 8)
    cfg, G, step = load_generator(os.path.join(out, "checkpoint"))
    _, test_split = data.load_splits(cfg, images, attrs)
    grid_batches = data.dataset(cfg, images, test_split, training=False, batch_size=8, repeat=False)
    grids = test.run_test(G, ((x.numpy(), c.numpy()) for x, c in grid_batches), cfg.selected_attrs,
                          os.path.join(out, "results"), limit=2)
    shutil.copyfile(grids[0], os.path.join(out, "test_grid.png"))
    stage("test")

    # 4. freeze + ONNX
    paths = freeze_generator(G, cfg, os.path.join(out, "stargan_model.pb"),
                             os.path.join(out, "stargan_model.onnx"))
    stage("freeze")

    # 5. img2bin (fresh each time)
    bin_dir = os.path.join(out, "bin")
    shutil.rmtree(bin_dir, ignore_errors=True)
    one = data.dataset(cfg, images, test_split, training=False, batch_size=1, repeat=False)
    files = [f for f in test_split.files if f not in set(one.image_check.skipped)]
    manifest = offline.write_bins(cfg, one, files, bin_dir, limit=args.offline_images)
    stage("img2bin")

    # 6. the msame-compatible runner on the ONNX model (folder mode)
    infer_root = os.path.join(out, "infer_out")
    shutil.rmtree(infer_root, ignore_errors=True)
    res = runner.run(paths["onnx"], inputs=[os.path.join(bin_dir, "x_real"), os.path.join(bin_dir, "c_trg")],
                     output=infer_root, log=lambda line: None)
    numbers["runner_ms_per_image"] = round(float(np.mean(res.times_ms)), 2)
    stage("runner")

    # 7. bin2img
    rows, _ = offline.read_outputs(bin_dir, infer_root, res.output_dir)
    offline_grids = offline.save_grids(rows, os.path.join(out, "offline_results"))
    shutil.copyfile(offline_grids[0], os.path.join(out, "offline_grid.png"))
    stage("bin2img")

    # 8. parity: the same inputs through G online, the .pb, the .onnx and the runner's files
    pb, onnx = export.FrozenGraph(paths["pb"], outputs=[OUTPUT]), export.OnnxModel(paths["onnx"])
    results = {"online": [], "pb": [], "onnx": [], "runner": []}
    for image, row in zip(manifest["images"], rows):
        for k, name in enumerate(image["bins"]):
            feed = {"x_real": row[0][None], "c_trg": _read_c(bin_dir, name, cfg.c_dim)}
            results["online"].append(np.asarray(G(feed["x_real"], feed["c_trg"])))
            results["pb"].append(pb.run(feed)[0])
            results["onnx"].append(onnx.run(feed)[0])
            results["runner"].append(row[1 + k][None])
    stacked = {k: [np.concatenate(v)] for k, v in results.items()}
    report = export.parity_report(stacked)
    export.write_parity(report, os.path.join(out, "parity.json"))
    numbers["parity_max_abs"] = {pair.replace(" ", "_"): float(f"{r['max_abs'][0]:.3g}")
                                 for pair, r in report.items()}
    stage("parity")

    # 9. evaluation on the test split
    batches = data.dataset(cfg, images, test_split, training=False, batch_size=16, repeat=False)
    ev = evaluate.evaluate(G, cfg, batches, images, attrs, out_path=os.path.join(out, "eval.json"),
                           fid=not args.no_fid, limit=args.eval_batches)
    if "accuracy" in ev:
        numbers["accuracy_mean"] = round(ev["accuracy"]["mean"], 4)
        numbers["accuracy"] = {k: round(v, 4) for k, v in ev["accuracy"]["per_attribute"].items()}
        numbers["others_changed"] = round(ev["accuracy"]["others_changed"], 4)
        numbers["classifier_test_accuracy"] = ev["classifier"]["test_accuracy"]
    numbers["reconstruction_l1"] = round(ev["reconstruction_l1"], 4)
    if ev.get("fid") is not None:
        numbers["fid"] = {"value": round(ev["fid"], 2), "real": ev["n_images"], "fake": ev["n_translations"]}
    notes += ev.get("notes", [])
    stage("evaluate")
    bar.close()

    numbers["seconds"] = seconds
    numbers["total_seconds"] = round(time.time() - t_start, 1)
    attrs_text = ", ".join(cfg.selected_attrs)
    summary = {
        "model": "stargan",
        "title": "StarGAN (TF2) on SynthFaces: train, test, freeze, ONNX, offline runner, evaluation",
        "numbers": numbers,
        "images": [
            {"path": "test_grid.png", "caption": f"test phase: input, then {attrs_text}"},
            {"path": "offline_grid.png", "caption": "offline: img2bin -> msame-compatible runner (ONNX) -> bin2img"},
            {"path": f"samples/{result['end']}-images.png", "caption": "training samples (fixed test inputs)"},
        ],
        "notes": [f"demo preset: {cfg.image_size} px, conv dims {cfg.g_conv_dim}/{cfg.d_conv_dim}, "
                  f"{cfg.g_repeat_num} residual blocks, batch {cfg.batch_size}, {result['end']} iterations "
                  f"on {len(test_split)} test / the rest train of {args.num_faces} SynthFaces, CPU",
                  "the Ascend .om step (ATC + msame) cannot run here: `make om` prints the exact command"] + notes,
        "log": "train_log.jsonl",
    }
    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    print(evaluate.format_report(ev))
    print(f"demo: {numbers['total_seconds']} s; wrote {os.path.join(out, 'summary.json')}")
    return 0


def _read_c(bin_dir, name, c_dim):
    from common_tools import binio

    return binio.read_bin(os.path.join(bin_dir, "c_trg", name), (1, c_dim))


if __name__ == "__main__":
    run_cli(main)
