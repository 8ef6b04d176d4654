"""The whole BigBiGAN card on SynthDigits, end to end, in one process (what `make demo` runs).

Example:
    python demo.py --out ../runs/demo/bigbigan                 # --iterations 50 for a quick check
    python demo.py --out ../runs/long/bigbigan --preset long   # make demo LONG=1: 7,000 iterations
Stages: data (SynthDigits 6000 + 1000, seed 0, made once), pic2bin, train the demo preset in
<out>/results (resumes), freeze + ONNX, gpu_out (online G), pb (frozen graph), runner (the card's
msame line on the ONNX export), getAcc (pairwise differences, images), evaluate (= evaluate.py into
<out>/evaluation: linear probe of E(x) vs raw pixels vs a random E, label consistency,
reconstruction, encoder collapse; a grid per class); om is skipped (no Ascend toolkit).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

FOLDER = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(FOLDER)
sys.path.insert(0, FOLDER)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common_tools.errors import run_cli  # noqa: E402

STAGES = ("data", "pic2bin", "train", "freeze+onnx", "gpu_out", "pb", "runner", "getAcc", "evaluate",
          "om")


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(REPO, "runs", "demo", "bigbigan"))
    p.add_argument("--data_dir", default=os.path.join(REPO, "runs", "data", "synthdigits"))
    p.add_argument("--preset", choices=("demo", "long"), default="demo",
                   help="demo: minutes on a CPU (make demo); long: about half an hour (make demo LONG=1)")
    p.add_argument("--iterations", type=int, default=None, help="override the preset's iterations")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    import numpy as np

    from common_tools.export import FrozenGraph
    from common_tools.imagesets import find_dataset
    from common_tools.runner import run as run_model
    from common_tools.stages import Demo

    from bigbigan import data, offline
    from bigbigan.config import BigBiGANConfig

    out = os.path.abspath(args.out)
    cfg = BigBiGANConfig.preset(args.preset)
    if args.iterations:
        cfg = cfg.replace(iterations=args.iterations)
    run_dir, bin_dir, pb_dir = (os.path.join(out, n) for n in ("results", "bin", "pb"))
    gen_dir, om_out = os.path.join(out, "generated_images"), os.path.join(out, "om_out")
    with Demo(out, model="bigbigan", title="BigbiGAN_for_ACL demo (SynthDigits, 32 px, CPU)", plan=STAGES,
              command="make demo MODEL=bigbigan" + (" LONG=1" if args.preset == "long" else ""),
              log="results/train_log.jsonl") as demo:
        with demo.stage("data") as st:
            try:
                find_dataset(args.data_dir, "mnist")
                st.skip(f"{args.data_dir} already there")
            except Exception:  # noqa: BLE001 - not there yet: make it
                from common_tools.synthetic.digits import generate

                generate(args.data_dir, 6000, seed=0, num_test=1000)
        with demo.stage("pic2bin"):
            offline.write_inputs(bin_dir, *offline.draw_inputs(seed=0, latent_dim=cfg.latent_dim))
            z, y = offline.read_inputs(bin_dir, latent_dim=cfg.latent_dim)
        with demo.stage("train") as st:
            from bigbigan import export, train   # TensorFlow: after Demo() checked --out

            if os.path.isfile(os.path.join(run_dir, "config.json")):
                from common_tools.runs import load_config

                try:
                    saved = load_config(BigBiGANConfig, run_dir)
                except Exception:  # noqa: BLE001 - unreadable: the demo's own folder, start over
                    saved = None
                if saved != cfg:                 # the preset changed since: the demo's own folder, afresh
                    shutil.rmtree(run_dir)
                    st.note(f"the {args.preset} preset changed since the last demo run: trained afresh")

            images, labels = data.load(cfg, args.data_dir, "train")
            summary = train.train(cfg, run_dir, data=(images, labels))
        with demo.stage("freeze+onnx"):
            cfg, G, _ = export.load_generator(run_dir)
            paths = export.export(G, cfg, pb_dir, onnx_path=os.path.join(pb_dir, export.ONNX_NAME))
        with demo.stage("gpu_out"):
            gpu = offline.write_images(os.path.join(gen_dir, offline.GPU_FILE), export.generate(G, z, y))
        with demo.stage("pb"):
            (pb_images,) = FrozenGraph(paths["pb"], outputs=[export.OUTPUT + ":0"]).run({"x1": z, "x2": y})
            pb = offline.write_images(os.path.join(gen_dir, offline.PB_FILE), pb_images)
        with demo.stage("runner"):
            result = run_model(paths["onnx"], [os.path.join(bin_dir, offline.NOISE_FILE),
                                               os.path.join(bin_dir, offline.LABEL_FILE)],
                               output=om_out, log=lambda line: None)
        demo.number("runner_ms_batch256", round(float(np.mean(result.times_ms)), 2))
        with demo.stage("getAcc"):
            outputs = {name: offline.read_images(p) for name, p in
                       (("gpu", gpu), ("pb", pb), ("om", offline.resolve_om_output(om_out)))}
            parity = offline.compare(outputs)
            written = offline.save_images(os.path.join(om_out, "generated_images"), outputs)
        demo.image(os.path.relpath(written["side_by_side"], out), "the first 8 images of the bins: GPU | pb | om (ONNX runner)")
        with demo.stage("evaluate"):
            from bigbigan.evaluate import describe, run_evaluation   # = python evaluate.py

            report = run_evaluation(run_dir, args.data_dir, os.path.join(out, "evaluation"))
        demo.image("evaluation/samples_per_class.png", "G(z, y): one row per class 0..9, z ~ truncated normal",
                   command="cd BigbiGAN_for_ACL && python evaluate.py --result_path {} --dataset_path {} "
                           "--output_dir {}".format(*(os.path.relpath(p, FOLDER) for p in
                                                      (run_dir, args.data_dir, os.path.join(out, "evaluation")))))
        demo.image("evaluation/reconstructions.png", "test digits (top) and G(E(x), y) (bottom)")
        demo.skip("om", "no Ascend toolkit here: `python -m common_tools.atc` prints the card's ATC command")
        demo.numbers.update(iterations=summary["end"], batch_size=cfg.batch_size, n_disc=cfg.n_disc,
                            parity_max_abs={pair: v["max_abs"][0] for pair, v in parity.items()},
                            parity_mean_abs={pair: v["mean_abs"][0] for pair, v in parity.items()})
        p = report["probe"]
        demo.number("probe.E", round(p["E"], 4), target=(">=", round(p["random_E"], 4)))
        for name in ("random_E", "pixels", "E_pooled", "random_E_pooled"):
            demo.number(f"probe.{name}", round(p[name], 4))
        demo.number("label_consistency", round(report["label_consistency"], 4))
        demo.number("classifier_test_accuracy", round(report["classifier_test_accuracy"], 4))
        demo.number("reconstruction_mse", round(report["reconstruction_mse"], 5))
        demo.number("reconstruction_mse_prior_z", round(report["reconstruction_mse_prior_z"], 5))
        demo.number("inversion_corr", round(report["inversion_corr"], 4))
        demo.number("encoder_spread", round(report["collapse"]["spread"], 4))
        demo.number("encoder_collapsed", report["collapse"]["collapsed"])
        demo.number("generator_spread", round(report["generator"]["spread"], 4))
        demo.number("generator_collapsed", report["generator"]["collapsed"])
        demo.note(f"{args.preset} preset: widths ch {cfg.ch} / en_ch {cfg.en_ch}, batch {cfg.batch_size}, "
                  f"{summary['end']} iterations of {cfg.n_disc} D + 1 G/E updates on "
                  f"{len(images)} SynthDigits, CPU")
        demo.note(f"linear probes: ridge classifier (strength validated on a held-out sixth) fitted on "
                  f"{report['n_train']} train features, scored on {report['n_test']} test digits; label "
                  f"consistency of {report['n_generated']} samples under the pixel probe; encoder spread = "
                  "mean sd of E(x) (z: 0.88); evaluation/evaluation.json holds every figure")
        for line in describe(report):
            demo.note(line)
    print(f"demo: probe E(x) {p['E']:.3f} (random E {p['random_E']:.3f}, pixels "
          f"{p['pixels']:.3f}), label consistency {report['label_consistency']:.3f}, "
          f"parity max {max(demo.numbers['parity_max_abs'].values()):.2e}")
    return 0


if __name__ == "__main__":
    run_cli(main)
