"""The whole PGAN card on SynthFaces, end to end, in one process (what `make demo` runs).

Example:
    python demo.py --out ../runs/demo/pgan                    # --num_batch 20,30,30 for a quick check
Stages: data (SynthFaces, made once), train (demo_config.yaml: 4x4 -> 8x8 -> 16x16 with fades, in
<out>/run, resumes), grids (the averaged G at the end of every scale, the card's eval grid), export
(the card's export.py: MindIR and ONNX, batch 64), preprocess (run_infer_310.sh's noise bins),
runner (the msame-compatible ONNX runner in folder mode), postprocess (result_Files/generated_N.png,
time_Result/), parity (MindSpore G in both convolution forms vs the MindIR in MindSpore vs ONNX
Runtime), metrics (SWD per Laplacian level, MS-SSIM of generated pairs); om is skipped (no Ascend:
the MindIR runs there through run_infer_310.sh). TensorFlow is never imported.
"""

from __future__ import annotations

import argparse
import os
import sys

FOLDER = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(FOLDER)
sys.path.insert(0, FOLDER)
os.environ.setdefault("GLOG_v", "3")

from common_tools.errors import run_cli  # noqa: E402

STAGES = ("data", "train", "grids", "export", "preprocess", "runner", "postprocess", "parity", "metrics", "om")
NUM_FACES = 2000
N_METRICS = 256


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(REPO, "runs", "demo", "pgan"))
    p.add_argument("--data_dir", default=os.path.join(REPO, "runs", "data", "synthfaces"))
    p.add_argument("--config_path", default=os.path.join(FOLDER, "demo_config.yaml"),
                   help="the schedule (default demo_config.yaml; the tests give a smaller one)")
    p.add_argument("--num_batch", default=None, help="override demo_config.yaml's iterations per scale, e.g. 20,30,30")
    p.add_argument("--n_metrics", type=int, default=N_METRICS, help="images per set for SWD / MS-SSIM")
    return p


def per_scale_speed(records, cfg) -> dict:
    """s/iteration per scale from the log's elapsed times, leaving out each scale's first logged
    interval (graph compilation) and fade-to-plateau boundaries included as they come."""
    out = {}
    ends = (0,) + cfg.scale_ends()
    for k, r in enumerate(cfg.scales):
        rows = [x for x in records if ends[k] < x["step"] <= ends[k + 1]]
        if len(rows) >= 3:
            a, b = rows[1], rows[-1]
            out[str(r)] = round((b["elapsed"] - a["elapsed"]) / (b["step"] - a["step"]), 4)
    return out


def main(argv=None):
    args = build_parser().parse_args(argv)
    import numpy as np

    from common_tools import runs
    from common_tools.device import setup_mindspore
    from common_tools.export import parity_report
    from common_tools.logging import read_jsonl
    from common_tools.runner import run as run_model
    from common_tools.stages import Demo

    from common_tools.errors import UserError
    from pgan.config import from_yaml

    out = os.path.abspath(args.out)
    cfg = from_yaml(args.config_path)[0]
    if cfg.num_scales < 3:
        raise UserError(f"{args.config_path}: the demo grows to 16x16 (SWD needs it), so depth needs >= 3 scales, "
                        f"got {list(cfg.depth)}")
    if args.n_metrics < 2:
        raise UserError(f"--n_metrics must be >= 2, got {args.n_metrics}")
    if args.num_batch:
        cfg = runs.apply_overrides(cfg, num_batch=args.num_batch)
    run_dir, bin_dir = os.path.join(out, "run"), os.path.join(out, "preprocess_Result")
    with Demo(out, model="pgan", title="PGAN_for_MindSpore demo (SynthFaces, 4 -> 8 -> 16 px, CPU)", plan=STAGES,
              command="make -C PGAN_for_MindSpore demo", log="run/train_log.jsonl") as demo:
        with demo.stage("data") as st:
            if os.path.isdir(os.path.join(args.data_dir, "img_align_celeba")):
                st.skip(f"{args.data_dir} already there")
            else:
                from common_tools.synthetic.faces import generate

                generate(args.data_dir, NUM_FACES, seed=0)
        with demo.stage("train"):
            setup_mindspore("cpu", 0, mode="graph")
            import mindspore as ms

            from pgan.dataset import ImageFolder
            from pgan.train import train

            data = ImageFolder(args.data_dir, cfg.crop_cx, cfg.crop_cy, cfg.crop_size, seed=cfg.seed)
            summary = train(cfg, run_dir, data, tensorboard=False)
        speed = per_scale_speed(read_jsonl(os.path.join(run_dir, "train_log.jsonl")), cfg)
        with demo.stage("grids"):
            from pgan.inference import generate as generate_faces, grid_image, load_generator, noise

            for end, r in zip(cfg.scale_ends(), cfg.scales):
                G_k, _ = load_generator(os.path.join(run_dir, "checkpoints", f"AvG_{end}.ckpt"), scale=r,
                                        conv_form=cfg.conv_form)
                grid_image(generate_faces(G_k, noise(64, cfg.latent_dim, 1)), tile=32).save(
                    os.path.join(out, f"grid_{r}.png"))
        for end, r in zip(cfg.scale_ends(), cfg.scales):
            demo.image(f"grid_{r}.png", f"{r}x{r}: the averaged G after iteration {end} (eval.py's 64 faces, seed 1)")
        final = os.path.join(run_dir, "checkpoints", f"AvG_{cfg.total_steps}.ckpt")
        with demo.stage("export"):
            import export as export_cli   # the card's export.py, in this process

            for fmt in ("MINDIR", "ONNX"):
                export_cli.main(["--checkpoint_g", final, "--file_format", fmt, "--file_name",
                                 os.path.join(out, "PGAN"), "--device", "cpu"])
        onnx_path, mindir_path = os.path.join(out, "PGAN.onnx"), os.path.join(out, "PGAN.mindir")
        with demo.stage("preprocess"):
            from pgan import offline

            manifest = offline.write_noise(bin_dir, onnx_path, nimages=64, seed=1)
        with demo.stage("runner"):
            from common_tools.offline import input_folders

            lines = []
            result = run_model(onnx_path, input_folders(bin_dir), output=os.path.join(out, "result_bin"),
                               log=lines.append)
        with demo.stage("postprocess"):
            pngs = offline.write_images(bin_dir, os.path.join(out, "result_bin"), os.path.join(out, "result_Files"))
            offline.write_times(os.path.join(out, "time_Result"), result.times_ms)
            runner_images, _ = offline.read_images(bin_dir, os.path.join(out, "result_bin"))
            grid_image(offline.to_uint8(runner_images), tile=32).save(os.path.join(out, "runner_grid.png"))
        demo.image("runner_grid.png", f"result_Files/generated_0..{len(pngs) - 1}.png: the ONNX export on the "
                   "msame-compatible runner (run_infer_310.sh's flow)")
        with demo.stage("parity"):
            from common_tools.offline import read_inputs

            z = read_inputs(bin_dir, "z")[0]                     # [64, latent]: what the runner got
            alpha = ms.Tensor(np.float32(0.0))
            outputs, nets = {"onnxruntime": [runner_images]}, {}
            for form in ("native", "matmul"):
                nets[form], _ = load_generator(final, conv_form=form)
                outputs[f"mindspore_{form}"] = [nets[form](ms.Tensor(z), alpha).asnumpy()]
            outputs["mindir"] = [ms.nn.GraphCell(ms.load(mindir_path))(ms.Tensor(z), alpha).asnumpy()]
            parity = parity_report(outputs)
        for pair, v in parity.items():
            key = pair.replace(" vs ", "_vs_")
            demo.number(f"parity_max_abs.{key}", float(f"{v['max_abs'][0]:.3g}"), target=("<=", 1e-4))
            demo.number(f"parity_mean_abs.{key}", float(f"{v['mean_abs'][0]:.3g}"))
        with demo.stage("metrics"):
            from pgan.evaluate import CARD_MSSSIM, quality

            from pgan.customer_layer import resolve_conv_form

            figures = quality(nets[resolve_conv_form(cfg.conv_form)], data, n=args.n_metrics, seed=1)
        for k, v in figures["swd"].items():
            demo.number(f"swd_x1e3.{k}", round(v, 2))
        demo.number("msssim", round(figures["msssim"], 4), paper=CARD_MSSSIM)
        demo.number("msssim_reals", round(figures["msssim_reals"], 4))
        demo.skip("om", "no Ascend here: bash scripts/run_infer_310.sh PGAN.mindir y 64 0 runs the MindIR "
                  "through the MindSpore C++ API on a 310 (it prints the command and stops here)")
        demo.numbers.update(iterations=summary["end"], batch_size=cfg.batch_size, depth=list(cfg.depth),
                            latent_dim=cfg.latent_dim, runner_ms_batch64=round(float(np.mean(result.times_ms)), 2),
                            offline_inferences=len(manifest["samples"]))
        for r, s in speed.items():
            demo.number(f"s_per_iteration.{r}", s)
        demo.note(f"{os.path.basename(args.config_path)}: depth {list(cfg.depth)}, latent {cfg.latent_dim}, batch {cfg.batch_size}, "
                  f"iterations {list(cfg.num_batch)} per scale with fades of {cfg.alpha_jumps[1]} x "
                  f"{cfg.alpha_size_jumps[1]}, on {len(data)} SynthFaces, CPU, {cfg.conv_form} convolution form")
        demo.note(f"SWD (PGGAN, x 1e3 per Laplacian level) and MS-SSIM on {figures['n']} generated vs real "
                  f"{figures['resolution']}x{figures['resolution']} faces (the paper: 16,384 images at 128 px; the card's MS-SSIM 0.2948 is CelebA 128 px "
                  "on GPU, not comparable); msssim_reals is the data's own. FID is left out: it needs "
                  "TensorFlow (not needed by this project) and thousands of images")
        demo.note("s_per_iteration: one iteration = critic (WGAN-GP, double backward) + G + EMA, from the "
                  "training log, first logged interval of each scale (compilation) left out; the CPU is "
                  "shared with other jobs, so these are upper bounds")
    print(f"demo: {summary['end']} iterations, SWD x1e3 {figures['swd']['swd_avg']:.1f}, MS-SSIM "
          f"{figures['msssim']:.3f}, parity max {max(v['max_abs'][0] for v in parity.values()):.2e}")
    return 0


if __name__ == "__main__":
    run_cli(main)
