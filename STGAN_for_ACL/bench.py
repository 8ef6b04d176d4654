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

import json
import os
import sys

FOLDER = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, FOLDER)

from common_tools.bench import Config, bench_main, entries, markdown_table, median_time  # noqa: E402
from common_tools.errors import run_cli  # noqa: E402

ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}
DIST_LABEL = "2 processes on one 2-core CPU (1 thread each, gRPC over 127.0.0.1); not a multi-host figure"


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
    import time

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import numpy as np

    from common_tools.distribute import select_strategy
    from stgan import step
    from stgan.config import STGANConfig

    dist = select_strategy("auto", stream=None)
    cfg, rng = STGANConfig.tiny(batch_size=batch), np.random.default_rng(0)
    m, S, B = step.build(cfg, dist), cfg.img_size, dist.global_batch(batch)
    xa_a = (rng.uniform(-1, 1, (B, S, S, 3)).astype(np.float32),
            rng.integers(0, 2, (B, cfg.n_att)).astype(np.float32))
    for _ in range(warmup):
        step.train_step(m, xa_a)
    t = time.perf_counter()
    for _ in range(steps):
        step.train_step(m, xa_a)           # returns python floats: every update has finished
    seconds = time.perf_counter() - t
    with open(os.path.join(out, f"worker-{dist.worker_index}.json"), "w") as f:
        json.dump({"workers": dist.num_workers, "replicas": dist.replicas, "strategy": dist.kind,
                   "global_batch": B, "images_per_iteration": B * (cfg.n_d + 1), "n_d": cfg.n_d,
                   "steps": steps, "seconds": seconds}, f)


def worker_distributed(workers: int, batch: int, warmup: int, steps: int) -> dict:
    """``workers`` processes of :func:`dp_worker` through ``python -m common_tools.launch`` on
    127.0.0.1 (1 thread each); the chief's images/s."""
    import subprocess
    import tempfile

    from common_tools.launch import free_ports

    out = tempfile.mkdtemp()               # in the harness's TMPDIR, removed with it
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    code = (f"import json, sys; sys.path.insert(0, {FOLDER!r}); import bench; "
            "bench.dp_worker(**json.loads(sys.argv[1]))")
    kwargs = json.dumps({"out": out, "batch": batch, "warmup": warmup, "steps": steps})
    addresses = ",".join(f"127.0.0.1:{p}" for p in free_ports(workers))
    proc = subprocess.run([sys.executable, "-m", "common_tools.launch", "--workers", addresses, "--",
                           sys.executable, "-c", code, kwargs], cwd=FOLDER, capture_output=True,
                          text=True, env={**os.environ, **ONE_THREAD})
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        raise RuntimeError(f"{workers} worker(s) failed: {lines[-1] if lines else proc.returncode}")
    with open(os.path.join(out, "worker-0.json")) as f:
        r = json.load(f)
    return {**r, "per_replica_batch": batch, "s_per_iteration": r["seconds"] / steps,
            "images_per_s": r["images_per_iteration"] * steps / r["seconds"],
            "load_avg_1min_at_start": load, "threads_per_worker": 1}


def distributed_configs(quick: bool) -> list:
    """1 worker and 2 workers, the same per-replica batch (their names hold "distributed")."""
    warmup, steps = (2, 4) if quick else (4, 30)
    return [Config(f"distributed: {n} worker{'s' if n > 1 else ''}", "bench:worker_distributed",
                   dict(workers=n, batch=8, warmup=warmup, steps=steps), group="distributed",
                   env=ONE_THREAD) for n in (1, 2)]


def distributed_table(result) -> str:
    """The 1-vs-2-workers rows and their throughput ratio (empty when neither ran)."""
    runs = {e["kwargs"]["workers"]: e["result"] for e in entries(result, "distributed", ok_only=True)}
    if not runs:
        return ""
    rows = [[n, r["global_batch"], round(r["s_per_iteration"], 4), round(r["images_per_s"], 1),
             r["load_avg_1min_at_start"]] for n, r in sorted(runs.items())]
    text = markdown_table(["workers", "global batch", f"s/iteration ({runs[min(runs)]['n_d']} D + 1 G)",
                           "images/s", "load avg at start"], rows)
    if 1 in runs and 2 in runs:
        text += (f"2 workers / 1 worker throughput: {runs[2]['images_per_s'] / runs[1]['images_per_s']:.2f}x "
                 f"(tiny config, per-replica batch {runs[1]['per_replica_batch']}, "
                 f"{runs[1]['steps']} timed iterations). {DIST_LABEL}.\n")
    return text


def configurations(args):
    batch, iters, runs = (2, 1, 3) if args.quick else (32, 2, 20)
    return [Config(f"train {s} px batch {batch}", "bench:worker_train", dict(quick=args.quick, img_size=s,
                   batch=batch, iters=iters), group="train") for s in (128, 64)] + [
        Config("G latency 128 px batch 1", "bench:worker_infer", dict(quick=args.quick, img_size=128, runs=runs),
               group="infer")] + distributed_configs(args.quick)


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
