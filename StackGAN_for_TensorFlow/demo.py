"""The whole StackGAN card on SynthBirds, end to end, in one process (what `make demo` runs).

Example:
    python demo.py --out ../runs/demo/stackgan                  # ~4 min on a quiet 2-core CPU
    python demo.py --out /tmp/sg --iterations1 40 --iterations2 10 --num 300   # a quick check
Stages: data (SynthBirds, made once) -> preprocess (the 152 / 38 px pickles) -> stageI (the demo
preset, 32 px) -> stageII (128 px on the frozen Stage-I G) -> freeze+onnx (the deterministic graph
at batch 64 and the card's Placeholder graph) -> file2bin (the first caption of every test image,
64 rows per .bin) -> runner (the msame-compatible runner on the .onnx) -> bin2img (one PNG per
caption) -> parity (online / .pb / .onnx / runner) -> classifier (trained on real SynthBirds) ->
consistency (caption consistency, domain IS / FID, Stage-I and Stage-II) -> grids; om is skipped
(no Ascend toolkit). Both training runs resume when their folders are there (rerun = no retraining).
The demo generator (to use with demo/demo.py --caption): <out>/stageII.
"""

from __future__ import annotations

import argparse
import os
import sys

FOLDER = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(FOLDER)
sys.path.insert(0, FOLDER)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common_tools.errors import UserError, run_cli  # noqa: E402

STAGES = ("data", "preprocess", "stageI", "stageII", "freeze+onnx", "file2bin", "runner", "bin2img",
          "parity", "classifier", "consistency", "grids", "om")
ITERATIONS = (1200, 400)    # Stage-I, Stage-II iterations of the demo preset (batch 16): ~3.5 min on 2 cores
LOAD_SIZE = 152             # Stage-II crops 128 of 152; Stage-I 32 of 38 (the 76 / 304 of the paper, halved)
GRID_CAPTIONS = 6


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(REPO, "runs", "demo", "stackgan"))
    p.add_argument("--data_dir", default=os.path.join(REPO, "runs", "data", "synthbirds"),
                   help="SynthBirds root (made there once: CUB_200_2011/, birds/, text_c10/)")
    p.add_argument("--num", type=int, default=1000, help="SynthBirds images when the data is made")
    p.add_argument("--iterations1", type=int, default=ITERATIONS[0], help="Stage-I iterations")
    p.add_argument("--iterations2", type=int, default=ITERATIONS[1], help="Stage-II iterations")
    return p


def steady_rate(log_path: str) -> dict:
    """Iterations per second between the first and the last logged record (tracing excluded)."""
    from common_tools.logging import read_jsonl

    recs = [r for r in read_jsonl(log_path) if "elapsed" in r]
    if len(recs) < 2:
        return {"it_per_s": None, "s_per_it": None}
    steps, secs = recs[-1]["step"] - recs[0]["step"], recs[-1]["elapsed"] - recs[0]["elapsed"]
    return {"it_per_s": round(steps / secs, 3), "s_per_it": round(secs / steps, 4)} if secs > 0 else {}


def caption_grid(path: str, captions, stage1, stage2, width: int = 34) -> str:
    """One panel per caption: the caption above, Stage-I (enlarged) beside Stage-II."""
    import textwrap

    import numpy as np
    from PIL import Image, ImageDraw

    from common_tools.grids import to_uint8

    size = stage2.shape[1]
    lo = to_uint8(stage1, value_range=(-1, 1)).repeat(size // stage1.shape[1], 1).repeat(size // stage1.shape[1], 2)
    hi = to_uint8(stage2, value_range=(-1, 1))
    text_h, pad = 44, 8
    panel_w, panel_h = 2 * size + 3 * pad, size + text_h + pad
    cols = min(3, len(captions))
    rows = -(-len(captions) // cols)
    sheet = Image.new("RGB", (cols * panel_w, rows * panel_h + 18), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((pad, 2), "each panel: caption, then Stage-I (32 px, enlarged) | Stage-II (128 px)", fill=(80, 80, 80))
    for i, caption in enumerate(captions):
        x, y = (i % cols) * panel_w, 18 + (i // cols) * panel_h
        draw.multiline_text((x + pad, y + 2), "\n".join(textwrap.wrap(caption, width)[:3]), fill="black")
        sheet.paste(Image.fromarray(lo[i]), (x + pad, y + text_h))
        sheet.paste(Image.fromarray(hi[i]), (x + 2 * pad + size, y + text_h))
    sheet.save(path)
    return path


def main(argv=None):
    args = build_parser().parse_args(argv)
    if min(args.iterations1, args.iterations2) < 1 or args.num < 40:
        raise UserError("--iterations1/--iterations2 must be >= 1 and --num >= 40")
    import numpy as np

    from common_tools import offline as bins
    from common_tools.stages import Demo

    from stackgan import data, offline
    from stackgan.config import StackGANConfig

    out = os.path.abspath(args.out)
    birds, cub = os.path.join(args.data_dir, "birds"), os.path.join(args.data_dir, "CUB_200_2011")
    run1, run2 = os.path.join(out, "stageI"), os.path.join(out, "stageII")
    pb_dir, bin_dir, runner_out, png_dir = (os.path.join(out, n) for n in ("pb", "bin", "runner", "png"))
    cfg1 = StackGANConfig.demo().replace(max_iterations=args.iterations1, snapshot_interval=args.iterations1,
                                         sample_steps=args.iterations1, log_steps=10)
    cfg2 = cfg1.for_stage(2).replace(max_iterations=args.iterations2, snapshot_interval=args.iterations2,
                                     sample_steps=args.iterations2, pretrained_model=run1)
    quiet = open(os.devnull, "w")
    with Demo(out, model="stackgan", title="StackGAN_for_TensorFlow demo (SynthBirds, 32 -> 128 px, CPU)",
              plan=STAGES, command="make -C StackGAN_for_TensorFlow demo", log="stageI/train_log.jsonl") as demo:
        with demo.stage("data") as st:
            if os.path.isfile(os.path.join(birds, "test", "filenames.pickle")):
                st.skip(f"{args.data_dir} already there")
            else:
                from common_tools.synthetic.birds import generate

                generate(args.data_dir, args.num, seed=0)
        with demo.stage("preprocess") as st:
            if all(os.path.isfile(os.path.join(birds, s, data.images_name(n)))
                   for s in ("train", "test") for n in (LOAD_SIZE, LOAD_SIZE // 4)):
                st.skip("the 152 / 38 px pickles are there")
            else:
                data.preprocess_birds(birds, cub, load_size=LOAD_SIZE, say=lambda m: None)
        with demo.stage("stageI") as st:
            from common_tools.device import select_device

            select_device("cpu", stream=None)       # TensorFlow: after Demo() checked --out
            from stackgan.train import train

            s1 = train(cfg1, run1, data_dir=birds, stream=quiet, tensorboard=False)
            st.note(f"{s1['end']} iterations, batch {cfg1.batch_size}")
        with demo.stage("stageII") as st:
            s2 = train(cfg2, run2, data_dir=birds, stream=quiet, tensorboard=False)
            st.note(f"{s2['end']} iterations, batch {cfg2.batch_size}")
        rate1, rate2 = steady_rate(os.path.join(run1, "train_log.jsonl")), steady_rate(os.path.join(run2, "train_log.jsonl"))
        with demo.stage("freeze+onnx"):
            from stackgan import export, infer

            cfg, nets, _ = infer.load_generators(run2)
            paths = export.freeze(cfg, nets, os.path.join(pb_dir, "stackgan.pb"),
                                  os.path.join(pb_dir, "stackgan.onnx"), batch=offline.CARD_BATCH)
            card = export.freeze(cfg, nets, os.path.join(pb_dir, "model.pb"), variant="card")
        with demo.stage("file2bin") as st:
            test = data.load_split(birds, "test", cfg, load_size=LOAD_SIZE)
            captions = [(data.read_captions(birds, f, c) or [""])[0] for f, c in zip(test.filenames, test.class_id)]
            manifest = offline.file2bin(bin_dir, cfg, test.embeddings[:, 0], test.filenames, seed=0,
                                        captions=captions)
            st.note(f"{len(manifest['samples'])} bins of 64 captions ({len(test)} test images)")
        with demo.stage("runner"):
            from common_tools.runner import run as run_model

            result = run_model(paths["onnx"], bins.input_folders(bin_dir), output=runner_out, log=lambda line: None)
        demo.number("runner_ms_per_bin64", round(float(np.mean(result.times_ms)), 1))
        with demo.stage("bin2img"):
            pngs = offline.bin2img(bin_dir, runner_out, png_dir)
        with demo.stage("parity"):
            report = offline.parity(cfg, nets, bin_dir, paths["pb"], paths["onnx"], runner_out)
            from common_tools.export import write_parity

            write_parity(report, os.path.join(out, "parity.json"))
        with demo.stage("classifier") as st:
            from stackgan import evaluate

            train_split = data.load_split(birds, "train", cfg, load_size=LOAD_SIZE)
            real = np.concatenate([train_split.images, test.images])
            clf = evaluate.Classifier.train(real, np.concatenate([train_split.class_id, test.class_id]),
                                            crop=cfg.hr_size, epochs=8, seed=0)
            clf.save(os.path.join(out, "classifier"))
            st.note(f"{len(real)} real images, held-out class accuracy {clf.real_accuracy['class']:.3f}")
        with demo.stage("consistency"):
            bins_in = offline.read_bins(bin_dir)
            n = len(test)
            stage2 = bins.read_outputs(bin_dir, runner_out)[0][0].reshape(-1, cfg.hr_size, cfg.hr_size, 3)[:n]
            stage1 = np.concatenate([infer.generate({"G1": nets["G1"]}, e, export.split_noise(cfg, z))["stage1"]
                                     for e, z in zip(bins_in["embedding"], bins_in["noise"])])[:n]
            off = (LOAD_SIZE - cfg.hr_size) // 2
            real_test = test.images[:, off:off + cfg.hr_size, off:off + cfg.hr_size]
            scores = {}
            for name, images in (("stageI", stage1), ("stageII", stage2)):
                scores[name] = {**evaluate.caption_consistency(clf, images, test.class_id, captions),
                                **evaluate.domain_scores(clf, real_test, images)}
            real_scores = evaluate.caption_consistency(clf, real_test, test.class_id, captions)
        with demo.stage("grids"):
            pick = np.linspace(0, n - 1, GRID_CAPTIONS).astype(int)
            caption_grid(os.path.join(out, "captions_stageI_stageII.png"), [captions[i] for i in pick],
                         stage1[pick], stage2[pick])
        demo.image("captions_stageI_stageII.png", "test captions (unseen classes): Stage-I | Stage-II, from the runner's bins")
        for run, name in ((run1, "Stage-I"), (run2, "Stage-II")):
            sample = os.path.join(run, "samples", f"{(args.iterations1 if run == run1 else args.iterations2)}-images.png")
            if os.path.isfile(sample):
                demo.image(sample, f"{name} preview after training (4 test captions x {cfg.num_copy} samples)")
        demo.skip("om", "no Ascend toolkit here: `make om MODEL=stackgan` prints the card's ATC command "
                        "(atc --model=pb/model.pb --framework=3 --input_shape=Placeholder:64,1024)")
        demo.numbers.update(
            iterations={"stageI": s1["end"], "stageII": s2["end"]}, batch_size=cfg.batch_size,
            speed={"stageI": rate1, "stageII": rate2}, n_test_captions=n, n_pngs=len(pngs),
            parity_max_abs={k: v["max_abs"][0] for k, v in report.items()},
            parity_mean_abs={k: v["mean_abs"][0] for k, v in report.items()})
        for stage_name, s in scores.items():
            demo.number(f"{stage_name}.class_accuracy", round(s["class_accuracy"], 4),
                        target=(">=", round(2 * s["class_chance"], 4)))
            demo.number(f"{stage_name}.colour_accuracy", round(s["colour_accuracy"]["mean"], 4),
                        target=(">=", round(2 * s["colour_chance"], 4)))
            demo.number(f"{stage_name}.domain_is", round(s["domain_is"], 3))
            demo.number(f"{stage_name}.domain_fid", round(s["domain_fid"], 3))
        demo.number("real.class_accuracy", round(real_scores["class_accuracy"], 4))
        demo.number("real.colour_accuracy", round(real_scores["colour_accuracy"]["mean"], 4))
        demo.number("real.domain_is", round(scores["stageII"]["domain_is_real"], 3))
        demo.number("parity_max", max(v["max_abs"][0] for v in report.values()), target=("<=", 1e-4))
        demo.paper("stageII.domain_is", "IS 3.70 on CUB (Inception fine-tuned on CUB; not comparable)")
        demo.note(f"demo preset: gf_dim {cfg.gf_dim}, df_dim {cfg.df_dim}, z {cfg.z_dim}, c {cfg.c_dim}, "
                  f"{cfg.num_residual} residual blocks, batch {cfg.batch_size}; {s1['end']} Stage-I + {s2['end']} "
                  f"Stage-II iterations on {len(train_split)} SynthBirds (15 classes), CPU")
        demo.note("caption consistency: a classifier trained on real SynthBirds (held-out real accuracy "
                  f"class {clf.real_accuracy['class']:.2f}, crown {clf.real_accuracy['crown']:.2f}) reads the "
                  "class and the colours of the parts each test caption names from the generated image; chance "
                  "1/20 (class) and 1/9 (colour); targets are twice chance")
        demo.note(f"domain IS / FID: in that classifier's 20 classes / 128-d features, {n} samples "
                  "(FID wants thousands): they compare runs of this project, not papers")
        demo.note("Inception Score: `python inception_score.py --image_folder png --checkpoint_dir <the "
                  "CUB-fine-tuned Inception>` (not shipped; StackGAN-inception-model)")
    print(f"demo: Stage-II class {scores['stageII']['class_accuracy']:.3f} colour "
          f"{scores['stageII']['colour_accuracy']['mean']:.3f} domain IS {scores['stageII']['domain_is']:.2f} "
          f"FID {scores['stageII']['domain_fid']:.2f}; parity max {demo.numbers['parity_max']:.2e}")
    return 0


if __name__ == "__main__":
    run_cli(main)
