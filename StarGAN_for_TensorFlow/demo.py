"""The whole StarGAN pipeline on SynthFaces, on CPU, in a few minutes: what `make demo` runs.

Example:
  python demo.py --out ../runs/demo/stargan --data ../runs/data/synthfaces
  python demo.py --out ../runs/long/stargan --data ../runs/data/synthfaces --preset long   # 60 minutes
  python demo.py --out /tmp/try --data ../runs/data/synthfaces --set g_lr=1e-4 --set n_critic=2

Stages (common_tools.stages; <out>/summary.json, schema 1, for `python -m common_tools.report`):
  data (2000 faces, seed 0; kept when there) -> train (demo or long preset, plus --set overrides;
  resumes, a finished run is kept)
  -> test grids -> freeze .pb + ONNX -> img2bin -> the msame-compatible runner on the ONNX -> bin2img
  -> parity (online / .pb / .onnx / runner) -> translation accuracy, reconstruction error, FID (when
  the Inception weights exist). The Ascend .om stage cannot run here: `make om` says why.
"""

from __future__ import annotations

import argparse
import os
import shutil

from common_tools.errors import check_output_dir, run_cli

PLAN = ("data", "train", "test", "freeze", "img2bin", "runner", "bin2img", "parity", "evaluate", "om")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="demo output folder (the run's output_dir)")
    p.add_argument("--data", required=True, help="SynthFaces folder (generated there if missing)")
    p.add_argument("--num_faces", type=int, default=2000)
    p.add_argument("--preset", choices=("demo", "long"), default="demo",
                   help="demo: minutes on a CPU (make demo); long: about an hour (make demo LONG=1)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a StarGANConfig field of the preset (repeatable), e.g. --set n_critic=2")
    p.add_argument("--iterations", type=int, default=None, help="override the preset's iterations")
    p.add_argument("--command", default=None,
                   help="the command shown as reproducing the demo (default: this script's command line)")
    p.add_argument("--offline_images", type=int, default=8, help="test images through the offline path")
    p.add_argument("--eval_batches", type=int, default=None, help="limit evaluation (batches of 16)")
    p.add_argument("--no_fid", action="store_true", help="skip FID")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from common_tools.runs import parse_assignments

    overrides = parse_assignments(args.overrides, example="n_critic=2")
    if args.iterations:
        overrides["training_iterations"] = str(args.iterations)
    from common_tools import runs
    from stargan.config import StarGANConfig

    cfg = runs.apply_overrides(StarGANConfig.preset(args.preset), **overrides)   # before any work
    out = os.path.abspath(check_output_dir(args.out, "--out"))
    import numpy as np

    from common_tools import export, runner
    from common_tools.offline import input_folders, read_inputs
    from common_tools.stages import Demo
    from common_tools.synthetic import faces
    from stargan import data, evaluate, offline, test
    from stargan.export import OUTPUT, freeze_generator, load_generator
    from stargan.train import train

    images, attrs = (os.path.join(args.data, n) for n in ("img_align_celeba", "list_attr_celeba.txt"))
    title = "StarGAN (TF2) on SynthFaces: train, test, freeze, ONNX, offline runner, evaluation"
    with Demo(out, model="stargan", title=title, plan=PLAN, command=args.command) as demo:
        with demo.stage("data") as st:
            if os.path.isfile(attrs):
                st.skip(f"SynthFaces already in {args.data}")
            else:
                faces.generate(args.data, args.num_faces, seed=0)
        with demo.stage("train") as st:
            result = train(cfg, out, images, attrs)
            if result["status"] == "already_done":
                st.skip(f"{out} holds a finished run of {result['end']} iterations: kept")
        demo.number("iterations", result["end"])
        with demo.stage("test"):                        # the first two test batches of 8
            cfg, G, _ = load_generator(None, out)
            _, test_split = data.load_splits(cfg, images, attrs)
            batches = data.dataset(cfg, images, test_split, training=False, batch_size=8, repeat=False)
            grids = test.run_test(G, ((x.numpy(), c.numpy()) for x, c in batches), cfg.selected_attrs,
                                  os.path.join(out, "results"), limit=2)
            shutil.copyfile(grids[0], os.path.join(out, "test_grid.png"))
        with demo.stage("freeze"):
            paths = freeze_generator(G, cfg, os.path.join(out, "stargan_model.pb"),
                                     os.path.join(out, "stargan_model.onnx"))
        with demo.stage("img2bin"):
            bin_dir, one = os.path.join(out, "bin"), data.dataset(cfg, images, test_split, training=False,
                                                                  batch_size=1, repeat=False)
            files = [f for f in test_split.files if f not in set(one.image_check.skipped)]
            offline.write_bins(cfg, one, files, bin_dir, limit=args.offline_images)
        with demo.stage("runner"):
            shutil.rmtree(os.path.join(out, "infer_out"), ignore_errors=True)
            res = runner.run(paths["onnx"], inputs=input_folders(bin_dir),
                             output=os.path.join(out, "infer_out"), log=lambda line: None)
        demo.number("runner_ms_per_image", round(float(np.mean(res.times_ms)), 2))
        with demo.stage("bin2img"):
            rows, _ = offline.read_rows(bin_dir, res.output_dir)
            grid = offline.save_grids(rows, os.path.join(out, "offline_results"))[0]
            shutil.copyfile(grid, os.path.join(out, "offline_grid.png"))
        with demo.stage("parity"):                      # the same .bin inputs through every path
            x, c = (read_inputs(bin_dir, name)[:, 0] for name in ("x_real", "c_trg"))
            pb, onnx = export.FrozenGraph(paths["pb"], outputs=[OUTPUT]), export.OnnxModel(paths["onnx"])
            feeds = [{"x_real": x[i:i + 1], "c_trg": c[i:i + 1]} for i in range(len(x))]
            report = export.parity_report({
                "online": [np.asarray(G(x, c))], "pb": [np.concatenate([pb.run(f)[0] for f in feeds])],
                "onnx": [np.concatenate([onnx.run(f)[0] for f in feeds])],
                "runner": [rows[:, 1:].reshape((-1,) + rows.shape[2:])]})
            export.write_parity(report, os.path.join(out, "parity.json"))
        demo.number("parity_max_abs", {pair.replace(" ", "_"): float(f"{r['max_abs'][0]:.3g}")
                                       for pair, r in report.items()})
        with demo.stage("evaluate"):
            batches = data.dataset(cfg, images, test_split, training=False, batch_size=16, repeat=False)
            ev = evaluate.evaluate(G, cfg, batches, images, attrs, out_path=os.path.join(out, "eval.json"),
                                   fid=not args.no_fid, limit=args.eval_batches)
            judge = judge_on_real(cfg, data.dataset(cfg, images, test_split, training=False, batch_size=16,
                                                    repeat=False), ev, args.eval_batches)
        acc = ev.get("accuracy")
        if acc:
            demo.number("accuracy_mean", round(acc["mean"], 4), target=(">=", 0.8))
            demo.number("accuracy", {k: round(v, 4) for k, v in acc["per_attribute"].items()})
            for k in acc["per_attribute"]:
                demo.target(f"accuracy.{k}", ">=", 0.5)
            demo.number("others_changed", round(acc["others_changed"], 4))
            demo.number("classifier_test_accuracy", ev["classifier"]["test_accuracy"])
        if judge:
            demo.number("judge_on_real_test", judge)
        demo.number("reconstruction_l1", round(ev["reconstruction_l1"], 4), target=("<=", 0.15))
        if ev.get("fid") is not None:
            demo.number("fid", {"value": round(ev["fid"], 2), "real": ev["n_images"],
                                "fake": ev["n_translations"]})
            demo.paper("fid.value", "15.34 (CelebA 128 px, 2,000 test images, 200k iterations)")
        demo.skip("om", "no Ascend toolkit here: `make om` prints the card's ATC command and says so")
        columns = ["input", *cfg.selected_attrs]
        demo.image("test_grid.png", "test phase: input, then " + ", ".join(cfg.selected_attrs), columns=columns)
        demo.image("offline_grid.png", "offline: img2bin -> msame-compatible runner (ONNX) -> bin2img",
                   columns=columns, command="make infer MODEL=stargan  (after the demo)")
        demo.image(f"samples/{result['end']}-images.png", "training samples (fixed test inputs)", columns=columns)
        demo.note(f"{args.preset} preset{''.join(' --set ' + o for o in args.overrides)}: "
                  f"{cfg.image_size} px, conv dims {cfg.g_conv_dim}/{cfg.d_conv_dim}, "
                  f"{cfg.g_repeat_num} residual blocks, batch {cfg.batch_size}, n_critic {cfg.n_critic}, "
                  f"lr {cfg.g_lr}/{cfg.d_lr}, lambda_cls {cfg.lambda_cls}, lambda_gp {cfg.lambda_gp}, "
                  f"{result['end']} iterations; {len(test_split)} test faces of {args.num_faces} SynthFaces, CPU")
        if judge:
            demo.note("judge_on_real_test: the classifier's accuracy on the real test faces, seen as the "
                      "translations are (the demo's resolution, the same view): no translation is judged "
                      "better than that")
        demo.notes += ev["notes"]
    print(evaluate.format_report(ev))
    return 0


def judge_on_real(cfg, batches, ev, limit=None) -> dict:
    """The shared classifier's accuracy per selected attribute on the real test images, through the
    same view as the translations (our resolution and crop, resized to its input): the ceiling of
    the translation accuracy. Empty when no classifier was used."""
    if not ev.get("classifier"):
        return {}
    import numpy as np

    from common_tools.metrics import AttributeClassifier
    from stargan.evaluate import CLASSIFIER_SIZE, classifier_view

    clf = AttributeClassifier.load(ev["classifier"]["dir"])
    xs, cs = [], []
    for i, (x, c) in enumerate(batches):
        if limit is not None and i >= limit:
            break
        xs.append(x.numpy()), cs.append(c.numpy())
    x, c = np.concatenate(xs), np.concatenate(cs)
    pred = clf.predict(classifier_view(x, clf.preprocess, CLASSIFIER_SIZE)) > 0.5
    return {a: round(float(np.mean(pred[:, clf.attrs.index(a)] == (c[:, i] > 0.5))), 4)
            for i, a in enumerate(cfg.selected_attrs)}


if __name__ == "__main__":
    run_cli(main)
