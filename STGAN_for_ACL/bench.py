"""STGAN speed and memory figures -> <out>/stgan.json and <out>/stgan.md (common_tools.bench).

Examples:
    python bench.py --out ../runs/bench            # paper widths: training at 128 and 64 px batch 32; minutes
    python bench.py --out /tmp/bench --quick       # tiny config, to check that it runs
Each figure runs in its own process (peak RSS is its own): one training iteration (n_d = 5 D + 1 G
updates) after a warm-up, and G's latency at batch 1 through tf.function, the frozen .pb and ONNX Runtime.
Data parallel, 1 worker vs 2 workers (``--only distributed`` runs just these): the tiny config,
per-replica batch 8 on random data (G's batch norm synchronized over the replicas), each worker a
process with 1 intra-op and 1 inter-op thread started by ``python -m common_tools.launch`` on
127.0.0.1 (MultiWorkerMirroredStrategy, gRPC); images/s over a fixed number of iterations after a
warm-up, and the ratio. On a 2-core CPU this is 2 processes on one machine, not a multi-host figure.
"""

from __future__ import annotations

import os
import sys

FOLDER = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, FOLDER)

from common_tools.bench import (Config, bench_main, distributed_configs, entries, markdown_table,  # noqa: E402
                                median_time, pin_one_thread, ratio_table, timed_iterations, worker_group,
                                write_worker_record)
from common_tools.errors import run_cli  # noqa: E402



def _cfg(quick: bool, img_size: int, batch: int):
    from stgan.config import STGANConfig

    return (STGANConfig.tiny(batch_size=batch, img_size=img_size // 2) if quick
            else STGANConfig.paper(img_size=img_size, batch_size=batch))


def worker_train(quick: bool, img_size: int, batch: int, iters: int) -> dict:
    import numpy as np

    from stgan import step

    cfg, rng = _cfg(quick, img_size, batch), np.random.default_rng(0)
    m, S = step.build(cfg), cfg.img_size
    xa_a = (rng.uniform(-1, 1, (batch, S, S, 3)).astype(np.float32),
            rng.integers(0, 2, (batch, cfg.n_att)).astype(np.float32))
    t = median_time(lambda: step.train_step(m, xa_a), iters)
    return {"img_size": S, "batch_size": batch, "n_d": cfg.n_d, "s_per_iteration": t["median"],
            "images_per_s": cfg.images_per_iteration / t["median"], "warmup_s": t["warmup_s"]}


def worker_infer(quick: bool, img_size: int, runs: int) -> dict:
    import tempfile

    import numpy as np

    from common_tools.export import FrozenGraph, OnnxModel
    from stgan import export
    from stgan.networks import build_generator

    cfg = _cfg(quick, img_size, 1)
    G, tmp = build_generator(cfg), tempfile.mkdtemp()  # in the harness's TMPDIR, removed with it
    paths = export.freeze_generator(G, cfg, os.path.join(tmp, "STGAN.pb"), os.path.join(tmp, "STGAN.onnx"))
    feed = dict(zip(export.INPUTS, (np.zeros((1, cfg.img_size, cfg.img_size, 3), np.float32),
                                    np.full((1, cfg.n_att), 0.5, np.float32), np.full((1, cfg.n_att), -0.5, np.float32))))
    fn, pb, onnx = export.serving_function(G, cfg), FrozenGraph(paths["pb"], outputs=["output:0"]), OnnxModel(paths["onnx"])
    calls = {"TF tf.function": lambda: fn(**feed), "frozen .pb": lambda: pb.run(feed), "ONNX Runtime CPU": lambda: onnx.run(feed)}
    return {"img_size": cfg.img_size, "ms": {k: 1000 * median_time(call, runs)["median"] for k, call in calls.items()}}


def dp_worker(out: str, batch: int, warmup: int, steps: int) -> None:
    """One worker of the 1-vs-2-workers figure (started by common_tools.launch): the tiny config on
    a random global batch, ``warmup`` iterations (tracing, the collectives' set-up), then ``steps``
    timed ones; each worker writes ``<out>/worker-<i>.json``."""
    pin_one_thread()
    import numpy as np

    from common_tools.distribute import select_strategy
    from stgan import step
    from stgan.config import STGANConfig

    dist = select_strategy("auto", stream=None)
    cfg, rng = STGANConfig.tiny(batch_size=batch), np.random.default_rng(0)
    m, S, B = step.build(cfg, dist), cfg.img_size, dist.global_batch(batch)
    xa_a = (rng.uniform(-1, 1, (B, S, S, 3)).astype(np.float32),
            rng.integers(0, 2, (B, cfg.n_att)).astype(np.float32))
    seconds = timed_iterations(lambda i: step.train_step(m, xa_a), warmup, steps)  # floats: each has finished
    write_worker_record(out, dist.worker_index, {
        "workers": dist.num_workers, "replicas": dist.replicas, "strategy": dist.kind, "global_batch": B,
        "images_per_iteration": B * (cfg.n_d + 1), "n_d": cfg.n_d, "steps": steps, "seconds": seconds})


def worker_distributed(workers: int, batch: int, warmup: int, steps: int) -> dict:
    """``workers`` processes of :func:`dp_worker` (common_tools.bench.worker_group); the chief's
    images/s (n_d D + 1 G batches an iteration)."""
    return worker_group(FOLDER, "bench:dp_worker", workers, batch, warmup, steps,
                        images_key="images_per_iteration")


def distributed_table(result) -> str:
    """The 1-vs-2-workers rows and their throughput ratio (empty when neither ran)."""
    return ratio_table(result, what="tiny config",
                       s_header=lambda r: f"s/iteration ({r['n_d']} D + 1 G)")


def configurations(args):
    batch, iters, runs = (2, 1, 3) if args.quick else (32, 2, 20)
    return [Config(f"train {s} px batch {batch}", "bench:worker_train", dict(quick=args.quick, img_size=s,
                   batch=batch, iters=iters), group="train") for s in (128, 64)] + [
        Config("G latency 128 px batch 1", "bench:worker_infer", dict(quick=args.quick, img_size=128, runs=runs),
               group="infer")] + distributed_configs("bench:worker_distributed", args.quick)


def table(result) -> str:
    rows = [[f"training iteration ({r['n_d']} D + 1 G), {r['img_size']} px batch {r['batch_size']}",
             f"{r['s_per_iteration']:.3g} s ({r['images_per_s']:.3g} img/s), peak RSS {e['peak_rss_mb'] / 1024:.2f} GB"]
            for e in entries(result, "train", ok_only=True) for r in [e["result"]]]
    rows += [[f"G latency batch 1, {path}, {e['result']['img_size']} px", f"{ms:.3g} ms"]
             for e in entries(result, "infer", ok_only=True) for path, ms in e["result"]["ms"].items()]
    dist = distributed_table(result)
    return markdown_table(["figure", "value"], rows) + ("\n" + dist if dist else "")


if __name__ == "__main__":
    run_cli(lambda argv: bench_main(
        "stgan", "STGAN speed and memory", configurations, table=table, argv=argv,
        folder=FOLDER, notes=["target: peak training RSS < 10 GB at 128 px batch 32"]))
