"""StarGAN speed and memory on this machine -> <out>/stargan.json and <out>/stargan.md.

Example:
  python bench.py --out ../runs/bench            # full: 64 and 128 px, fp32 / mixed / XLA
  python bench.py --out /tmp/bench --quick       # 64 px, one repeat: checks that it all runs

Measured (paper networks, batch 16, random data, so the data pipeline is not timed), each
configuration in its own process (common_tools.bench; its peak RSS is the memory figure):
- training: seconds per D-only iteration, per D+G iteration, and their n_critic-5 average
  (4 D-only + 1 D+G) / 5, at 64 and 128 px, in fp32, mixed precision (bfloat16 on CPU) and XLA;
- G inference at 128 px, batch 1 and 16: TF eager, tf.function, the frozen .pb, ONNX Runtime;
- data parallel, 1 worker vs 2 workers (``--only distributed`` runs just these): the tiny networks,
  per-replica batch 8 on random data, each worker a process with 1 intra-op and 1 inter-op thread,
  started by ``python -m common_tools.launch`` on 127.0.0.1 (MultiWorkerMirroredStrategy, gRPC);
  images/s over a fixed number of iterations after a warm-up, and the ratio. On a 2-core CPU this
  is 2 processes on one machine, not a multi-host figure.
Reference: the PyTorch reference code on a 2-core CPU (2 threads).
"""

from __future__ import annotations

import os

from common_tools.bench import (Config, bench_main, distributed_configs, entries, markdown_table,
                                median_time, pin_one_thread, ratio_table, timed_iterations, worker_group,
                                write_worker_record)
from common_tools.errors import run_cli

REFERENCE = {  # PyTorch reference, 2-core CPU, batch 16 (specs/stargan.md)
    "train": {128: {"d_only_s": 5.6, "d_and_g_s": 17.9, "n_critic5_avg_s": 8.0},
              64: {"d_only_s": 2.8, "d_and_g_s": 6.1, "n_critic5_avg_s": 3.5}},
    "infer_128": {"batch1_s": 0.15, "batch16_s": 2.45},
}
MODES = ("fp32", "mixed", "xla")
FOLDER = os.path.dirname(os.path.abspath(__file__))


def _inputs(cfg, batch: int, size: int):
    import numpy as np

    rng = np.random.RandomState(batch)
    return (rng.uniform(-1, 1, (batch, size, size, 3)).astype("float32"),
            (rng.rand(batch, cfg.c_dim) > 0.5).astype("float32"))


def worker_train(size: int, mode: str, repeats: int) -> dict:
    """D-only and D+G iterations of the paper networks (the first call of each traces it)."""
    from common_tools.device import set_mixed_precision
    from stargan.config import StarGANConfig
    from stargan.networks import build_discriminator, build_generator
    from stargan.step import TrainStep

    policy = set_mixed_precision(mode == "mixed", "cpu")
    cfg = StarGANConfig.paper().replace(image_size=size, xla=mode == "xla")
    step, (x, c) = TrainStep(cfg, build_generator(cfg), build_discriminator(cfg)), _inputs(cfg, 16, size)
    d = median_time(lambda: step(x, c, 1, train_g=False), repeats)
    dg = median_time(lambda: step(x, c, 1, train_g=True), repeats)
    return {"policy": policy, "first_two_iterations_s": round(d["warmup_s"] + dg["warmup_s"], 2),
            "d_only_s": round(d["median"], 3), "d_and_g_s": round(dg["median"], 3),
            "n_critic5_avg_s": round((4 * d["median"] + dg["median"]) / 5, 3)}


def worker_infer(size: int, batches: list, repeats: int) -> dict:
    """G through eager, tf.function, the frozen .pb and ONNX Runtime (files in the child's TMPDIR)."""
    import tempfile

    import tensorflow as tf

    from common_tools import export
    from stargan.config import StarGANConfig
    from stargan.export import INPUTS, OUTPUT, serving_function
    from stargan.networks import build_generator

    cfg = StarGANConfig.paper().replace(image_size=size)
    G, tmp, out = build_generator(cfg), tempfile.mkdtemp(), {}
    for b in batches:
        (x, c), fn = _inputs(cfg, b, size), serving_function(G, cfg, batch=b)
        paths = export.export_graph(fn, os.path.join(tmp, f"g{b}.pb"), list(INPUTS), [OUTPUT],
                                    os.path.join(tmp, f"g{b}.onnx"))
        pb, ort, feed = export.FrozenGraph(paths["pb"], [OUTPUT]), export.OnnxModel(paths["onnx"]), \
            {"x_real": x, "c_trg": c}
        calls = {"eager": lambda: G(x, c), "tf_function": lambda: fn(tf.constant(x), tf.constant(c)),
                 "frozen_pb": lambda: pb.run(feed), "onnxruntime": lambda: ort.run(feed)}
        out.update({f"{k}_batch{b}_s": round(median_time(f, repeats)["median"], 4) for k, f in calls.items()})
    return out


def dp_worker(out: str, batch: int, warmup: int, steps: int) -> None:
    """One worker of the 1-vs-2-workers figure (started by common_tools.launch): the tiny networks
    on a random global batch, ``warmup`` iterations (tracing, the collectives' set-up), then
    ``steps`` timed ones; each worker writes ``<out>/worker-<i>.json``."""
    pin_one_thread()
    import keras

    from common_tools.distribute import select_strategy
    from stargan.config import StarGANConfig
    from stargan.networks import build_discriminator, build_generator
    from stargan.step import TrainStep

    dist, cfg = select_strategy("auto", stream=None), StarGANConfig.tiny().replace(batch_size=batch)
    keras.utils.set_random_seed(cfg.seed)
    with dist.scope():
        G, D = build_generator(cfg), build_discriminator(cfg)
    step = TrainStep(cfg, G, D, dist=dist)
    x, c = _inputs(cfg, dist.global_batch(batch), cfg.image_size)
    seconds = timed_iterations(lambda i: step(x, c, i), warmup, steps)   # python floats: each has finished
    write_worker_record(out, dist.worker_index, {
        "workers": dist.num_workers, "replicas": dist.replicas, "strategy": dist.kind,
        "global_batch": dist.global_batch(batch), "steps": steps, "seconds": seconds})


def worker_distributed(workers: int, batch: int, warmup: int, steps: int) -> dict:
    """``workers`` processes of :func:`dp_worker` (common_tools.bench.worker_group); the chief's images/s."""
    return worker_group(FOLDER, "bench:dp_worker", workers, batch, warmup, steps)


def distributed_table(result) -> str:
    """The 1-vs-2-workers rows and their throughput ratio (empty when neither ran)."""
    return ratio_table(result, what="tiny networks")


def configurations(args) -> list:
    repeats = args.repeats or (1 if args.quick else 5)
    train = [Config(f"train {s} px {m}", "bench:worker_train", {"size": s, "mode": m, "repeats": repeats},
                    group="train") for s in ([64] if args.quick else [64, 128]) for m in args.modes]
    return train + [Config("G inference 128 px", "bench:worker_infer", {
        "size": 128, "batches": [1] if args.quick else [1, 16], "repeats": repeats}, group="infer")] + \
        distributed_configs("bench:worker_distributed", args.quick)


def table(result) -> str:
    ref, rows = REFERENCE["train"], []
    for e in entries(result, "train", ok_only=True):
        (s, m), r = (e["kwargs"][k] for k in ("size", "mode")), e["result"]
        rows.append([s, m, r["d_only_s"], r["d_and_g_s"], r["n_critic5_avg_s"],
                     f"{r['n_critic5_avg_s'] / ref[s]['n_critic5_avg_s']:.2f}x", round(e["peak_rss_mb"] / 1024, 2)])
    infer = [[k, v] for e in entries(result, "infer", ok_only=True) for k, v in e["result"].items()]
    return (markdown_table(["px", "mode", "D-only s/it", "D+G s/it", "n_critic-5 avg s/it", "vs PyTorch avg",
                            "peak RSS GB"], rows) + "\nPyTorch reference (2-core CPU): " + "; ".join(
        f"{s} px {v['d_only_s']} / {v['d_and_g_s']} / {v['n_critic5_avg_s']} s" for s, v in ref.items())
        + "\n\n" + markdown_table(["G inference 128 px", "seconds"], infer) + "\nPyTorch reference: batch 1 "
        f"{REFERENCE['infer_128']['batch1_s']} s, batch 16 {REFERENCE['infer_128']['batch16_s']} s\n"
        + ("\n" + distributed_table(result) if entries(result, "distributed", ok_only=True) else ""))


def add_arguments(p) -> None:
    p.add_argument("--repeats", type=int, default=None, help="timed iterations per figure (default 5, quick 1)")
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))


if __name__ == "__main__":
    run_cli(lambda argv: bench_main("stargan", "StarGAN speed and memory", configurations, table=table,
                                    folder=os.path.dirname(os.path.abspath(__file__)), reference=REFERENCE,
                                    add_arguments=add_arguments, description=__doc__, argv=argv))
