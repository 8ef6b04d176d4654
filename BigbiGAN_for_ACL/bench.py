"""BigBiGAN speed and memory figures -> <out>/bigbigan.json and <out>/bigbigan.md (common_tools.bench).

Examples:
    python bench.py --out ../runs/bench            # paper networks, batch 256: minutes on a CPU
    python bench.py --out /tmp/bench --quick       # tiny config, batch 4, to check that it runs
Each figure runs in its own process (peak RSS is its own): one training iteration (2 D + 1 G/E
updates) at batch 256 in fp32 and in mixed precision (mixed_float16 on GPU, mixed_bfloat16 on CPU),
after a warm-up; G's latency at the card's batch 256 through tf.function, the frozen .pb and ONNX Runtime.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common_tools.bench import Config, bench_main, entries, markdown_table, median_time  # noqa: E402
from common_tools.errors import run_cli  # noqa: E402


def _cfg(quick: bool, batch: int):
    from bigbigan.config import BigBiGANConfig

    return (BigBiGANConfig.tiny() if quick else BigBiGANConfig.paper()).replace(batch_size=batch)


def worker_train(quick: bool, batch: int, mixed: bool, iters: int) -> dict:
    import numpy as np

    from common_tools.device import select_device, set_mixed_precision

    from bigbigan.train import make_step

    cfg = _cfg(quick, batch).replace(n_disc=2, mixed_precision=mixed)
    policy = set_mixed_precision(mixed, select_device(None, stream=None))
    step, rng = make_step(cfg), np.random.default_rng(0)
    x = rng.uniform(0, 1, (batch, 32, 32, cfg.channels)).astype(np.float32)
    y = (np.arange(batch) % 10).astype(np.int32)
    t = median_time(lambda: step(x, y), iters)
    return {"batch_size": batch, "n_disc": cfg.n_disc, "precision": policy, "s_per_iteration": t["median"],
            "images_per_s": batch / t["median"], "warmup_s": t["warmup_s"]}


def worker_infer(quick: bool, runs: int) -> dict:
    import tempfile

    import numpy as np

    from common_tools.export import FrozenGraph, OnnxModel

    from bigbigan import export, offline

    cfg = _cfg(quick, 4)
    G, tmp = export.build_generator(cfg), tempfile.mkdtemp()   # in the harness's TMPDIR, removed with it
    paths = export.export(G, cfg, os.path.join(tmp, "bigbigan.pb"), onnx_path=os.path.join(tmp, "bigbigan.onnx"))
    z, y = offline.draw_inputs(latent_dim=cfg.latent_dim)
    feed = {"x1": z, "x2": y}
    fn = export.serving_function(G, cfg)
    pb, onnx = FrozenGraph(paths["pb"], outputs=[export.OUTPUT + ":0"]), OnnxModel(paths["onnx"])
    calls = {"TF tf.function": lambda: fn(**feed), "frozen .pb": lambda: pb.run(feed),
             "ONNX Runtime CPU": lambda: onnx.run(feed)}
    return {"batch_size": offline.BATCH, "ms": {k: 1000 * median_time(call, runs)["median"] for k, call in calls.items()}}


def configurations(args):
    batch, iters, runs = (4, 1, 3) if args.quick else (256, 3, 10)
    return [Config(f"train batch {batch} {'mixed' if mixed else 'fp32'}", "bench:worker_train",
                   dict(quick=args.quick, batch=batch, mixed=mixed, iters=iters), group="train")
            for mixed in (False, True)] + [
        Config("G latency batch 256", "bench:worker_infer", dict(quick=args.quick, runs=runs), group="infer")]


def table(result) -> str:
    rows = [[f"training iteration ({r['n_disc']} D + 1 G/E), batch {r['batch_size']}, {r['precision']}",
             f"{r['s_per_iteration']:.3g} s ({r['images_per_s']:.3g} img/s), peak RSS {e['peak_rss_mb'] / 1024:.2f} GB"]
            for e in entries(result, "train", ok_only=True) for r in [e["result"]]]
    rows += [[f"G latency batch {e['result']['batch_size']}, {path}", f"{ms:.3g} ms"]
             for e in entries(result, "infer", ok_only=True) for path, ms in e["result"]["ms"].items()]
    return markdown_table(["figure", "value"], rows)


if __name__ == "__main__":
    run_cli(lambda argv: bench_main(
        "bigbigan", "BigBiGAN speed and memory", configurations, table=table, argv=argv,
        folder=os.path.dirname(os.path.abspath(__file__)),
        notes=["an iteration = 2 D updates + 1 joint G/E update on one batch (the reference's D_G_ratio)"]))
