"""PGAN speed and memory figures -> <out>/pgan.json and <out>/pgan.md (common_tools.bench).

Examples:
    python bench.py --out ../runs/bench                    # the paper's networks, batch 16: long on a CPU
    python bench.py --out /tmp/bench --quick               # tiny networks, batch 4: checks that it runs
    python bench.py --out ../runs/bench --only "4x4" "8x8" --native all
Each figure runs in its own process (peak RSS is its own): one training iteration (critic with the
WGAN-GP double backward + G + EMA, n_critic 1) at batch 16 at 4x4, 8x8, 16x16 and 32x32 (the last
during a fade, alpha 0.5), in the CPU fast path ("matmul": convolutions as matmuls) and in nn.Conv2d
("native"; by default only at 4x4 and 8x8, where it takes tens of seconds per iteration on a CPU);
and ONNX Runtime inference of the 128x128 G (22.9 M parameters) at the card's batch 64.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("GLOG_v", "3")

from common_tools.bench import Config, bench_main, entries, markdown_table, median_time  # noqa: E402
from common_tools.errors import run_cli  # noqa: E402

SCALES = (4, 8, 16, 32)
MICRO_32 = 4       # bench's default micro_batch for the 32x32 fade (measured: 22.7 s, 14.8 GB at batch 16)
PYTORCH_S = {4: 0.42, 32: 21.7}   # pytorch_GAN_zoo on this kind of 2-core CPU (shared/specs/pgan.md)


def _cfg(quick: bool, batch: int, form: str, micro: int = 0):
    from pgan.config import PGANConfig

    cfg = PGANConfig.tiny() if quick else PGANConfig.paper()
    if quick:
        cfg = cfg.replace(depth=(8, 8, 8, 4), num_batch=(2, 2, 2, 2), alpha_jumps=(0, 1, 1, 1),
                          alpha_size_jumps=(1, 1, 1, 1), stddev_group=2)
    return cfg.replace(batch_size=batch, conv_form=form, micro_batch=micro)


def worker_train(quick: bool, batch: int, resolution: int, form: str, alpha: float, repeats: int,
                 micro: int = 0) -> dict:
    import numpy as np

    from common_tools.device import setup_mindspore

    setup_mindspore("cpu", 0, mode="graph")
    import mindspore as ms

    from pgan.network_G import Generator
    from pgan.network_D import Discriminator
    from pgan.optimizer import Adam, LossScale
    from pgan.step import TrainStep, copy_parameters

    cfg = _cfg(quick, batch, form, micro)
    k = SCALES.index(resolution) + 1
    ms.set_seed(0)
    G = Generator(cfg.depth, cfg.latent_dim, num_scales=k, conv_form=form)
    D = Discriminator(cfg.depth, num_scales=k, stddev_group=cfg.stddev_group, conv_form=form)
    avg_G = Generator(cfg.depth, cfg.latent_dim, num_scales=k, conv_form=form)
    copy_parameters(G, avg_G)
    opt_d = Adam(D.trainable_params(), cfg.lr, cfg.beta1, cfg.beta2)
    opt_g = Adam(G.trainable_params(), cfg.lr, cfg.beta1, cfg.beta2)
    scalers = [LossScale(cfg.loss_scale_value, cfg.scale_factor, cfg.scale_window) for _ in range(2)]
    step = TrainStep(cfg, G, D, avg_G, opt_d, opt_g, *scalers, np.random.default_rng(0))
    x = np.random.default_rng(1).uniform(-1, 1, (batch, 3, resolution, resolution)).astype(np.float32)
    t = median_time(lambda: step(x, alpha), repeats)
    return {"batch_size": batch, "micro_batch": micro, "resolution": resolution, "alpha": alpha, "form": form,
            "s_per_iteration": t["median"], "min_s": t["min"], "warmup_s": t["warmup_s"],
            "G_params": sum(int(p.size) for p in G.trainable_params()),
            "D_params": sum(int(p.size) for p in D.trainable_params())}


def worker_infer(quick: bool, batch: int, runs: int) -> dict:
    import tempfile

    import numpy as np

    from common_tools.device import setup_mindspore

    setup_mindspore("cpu", 0, mode="graph")
    import mindspore as ms

    from common_tools.export import OnnxModel
    from pgan.network_G import Generator

    cfg = _cfg(quick, batch, "native")
    G = Generator(cfg.depth, cfg.latent_dim, num_scales=cfg.num_scales, conv_form="native")
    G.set_train(False)
    z = np.random.RandomState(1).randn(batch, cfg.latent_dim).astype(np.float32)
    path = os.path.join(tempfile.mkdtemp(), "PGAN")       # in the harness's TMPDIR, removed with it
    ms.export(G, ms.Tensor(z), ms.Tensor(np.float32(0.0)), file_name=path, file_format="ONNX")
    model = OnnxModel(path + ".onnx")
    feed = {"z": z, "alpha": np.array(0.0, np.float32)}
    t = median_time(lambda: model.run(feed), runs)
    return {"batch_size": batch, "resolution": G.resolution, "ms": 1000 * t["median"],
            "images_per_s": batch / t["median"], "G_params": sum(int(p.size) for p in G.trainable_params())}


def add_arguments(parser):
    parser.add_argument("--native", choices=("small", "all", "none"), default="small",
                        help="nn.Conv2d (native) figures at 4x4 and 8x8 (small, default), every scale (all), none")
    parser.add_argument("--repeats", type=int, default=2, help="timed iterations per figure after one warm-up")
    parser.add_argument("--batch", type=int, default=16,
                        help="training batch (default 16, the reference's)")
    parser.add_argument("--micro_batch", type=int, default=None,
                        help="images per gradient pass in every training row (PGANConfig.micro_batch; 0 = the "
                             "whole batch); default: chunks of 4 for the 32x32 fade (its batch 16 at once does "
                             "not fit in 24 GB on a CPU), the whole batch elsewhere")


def configurations(args):
    batch, repeats = (4, 1) if args.quick else (args.batch, args.repeats)
    native = {"small": (4, 8), "all": SCALES, "none": ()}[args.native]
    configs = []
    for r in SCALES:
        alpha = 0.5 if r == 32 else 0.0
        for form in ("matmul", "native"):
            if form == "native" and r not in native:
                continue
            default = (2 if args.quick else MICRO_32) if r == 32 else 0     # quick: batch 4 in chunks of 2
            m = args.micro_batch if args.micro_batch is not None else default
            m = m if 0 < m < batch else 0
            configs.append(Config(f"train {r}x{r}{' fade' if alpha else ''} {form} batch {batch}"
                                  + (f" (chunks of {m})" if m else ""),
                                  "bench:worker_train", dict(quick=args.quick, batch=batch, resolution=r, form=form,
                                                             alpha=alpha, repeats=repeats, micro=m), group="train"))
    configs.append(Config(f"ONNX Runtime G {'tiny' if args.quick else '128x128'} batch {4 if args.quick else 64}",
                          "bench:worker_infer", dict(quick=args.quick, batch=4 if args.quick else 64,
                                                     runs=1 if args.quick else 3), group="infer"))
    return configs


def _batch(r) -> str:
    """'16', or '16 (4 x 4)' for a batch made of 4 chunks of 4 (micro_batch)."""
    b, m = r["batch_size"], r.get("micro_batch", 0)
    return f"{b} ({b // m} x {m})" if 0 < m < b else str(b)


def table(result) -> str:
    rows = []
    for e in entries(result, "train", ok_only=True):
        r = e["result"]
        ref = PYTORCH_S.get(r["resolution"]) if r["batch_size"] == 16 else None
        ratio = f"{r['s_per_iteration'] / ref:.2f}x" if ref else ""
        rows.append([f"{r['resolution']}x{r['resolution']}" + (f" (fade, alpha {r['alpha']})" if r["alpha"] else ""),
                     r["form"], _batch(r), f"{r['s_per_iteration']:.3g} s", f"{r['warmup_s']:.3g} s",
                     f"{e['peak_rss_mb'] / 1024:.2f} GB", f"{ref} s" if ref else "", ratio])
    out = markdown_table(["training iteration (D + G + EMA)", "conv form", "batch", "s/iteration",
                          "first (compile)", "peak RSS", "PyTorch", "vs PyTorch"], rows)
    rows = [[f"G {e['result']['resolution']}x{e['result']['resolution']} ({e['result']['G_params']:,} params)",
             e["result"]["batch_size"], f"{e['result']['ms']:.4g} ms", f"{e['result']['images_per_s']:.3g}",
             f"{e['peak_rss_mb'] / 1024:.2f} GB"] for e in entries(result, "infer", ok_only=True)]
    return out + "\n\n" + markdown_table(["ONNX Runtime inference", "batch", "latency", "images/s", "peak RSS"], rows)


if __name__ == "__main__":
    run_cli(lambda argv: bench_main(
        "pgan", "PGAN speed and memory (MindSpore 2.10)", configurations, table=table, argv=argv,
        folder=os.path.dirname(os.path.abspath(__file__)), add_arguments=add_arguments,
        reference={"pytorch_s_per_iteration_batch16": {str(k): v for k, v in PYTORCH_S.items()},
                   "target": "within 1.5x of PyTorch", "card_ascend910_s_per_step": 1.1},
        notes=["an iteration = critic update (Wasserstein + drift + gradient penalty, double backward) + G update "
               "+ averaged-G update, at the batch of its row, paper widths (512 x4, 256, 128; latent 512); "
               "'16 (4 x 4)': the gradients of 4 chunks of 4 images summed before one update (--micro_batch)",
               "matmul = the CPU default (up to 8x8 one GEMM + a constant shift matrix, above im2col over the "
               "flattened NHWC image + one matmul); native = ops.conv2d "
               "(oneDNN's reference kernel on MindSpore 2.10's CPU wheel)",
               "the CPU is shared with other jobs: figures are upper bounds"]))
