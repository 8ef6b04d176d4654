"""STGAN speed and memory figures -> <out>/stgan.json and <out>/stgan.md.

Examples:
    python bench.py --out ../runs/bench            # paper widths: 128 px batch 32 and 64 px; minutes
    python bench.py --out /tmp/bench --quick       # tiny config, to check that it runs
Measured, each in its own subprocess (so peak RSS is that measurement's own):
  - one training iteration (n_d = 5 D updates + 1 G update, random batches) at 128 px batch 32 and at
    64 px batch 32 (paper widths and depth; deepest feature 2x2), seconds per iteration after a warm-up iteration, and the peak RSS
    (ru_maxrss) of the 128-px run;
  - G inference latency at batch 1: TF (tf.function), the frozen .pb (TF session), ONNX Runtime (CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common_tools.errors import run_cli  # noqa: E402
from stgan.cli import REPO  # noqa: E402


def _cfg(quick: bool, img_size: int, batch: int):
    from stgan.config import STGANConfig

    if quick:
        return STGANConfig.tiny(batch_size=batch, img_size=min(img_size, 64))
    return STGANConfig.paper(img_size=img_size, batch_size=batch)


def worker_train(quick, img_size, batch, iters):
    import numpy as np
    import resource

    from stgan import step

    cfg = _cfg(quick, img_size, batch)
    m = step.build(cfg)
    rng = np.random.default_rng(0)
    S = cfg.img_size

    def batches():
        while True:
            yield (rng.uniform(-1, 1, (cfg.batch_size, S, S, 3)).astype(np.float32),
                   rng.integers(0, 2, (cfg.batch_size, cfg.n_att)).astype(np.float32))

    it = batches()
    t0 = time.time()
    step.train_step(m, it)  # trace + warm-up
    warm = time.time() - t0
    times = []
    for _ in range(iters):
        t0 = time.time()
        step.train_step(m, it)
        times.append(time.time() - t0)
    return {"img_size": S, "batch_size": cfg.batch_size, "n_d": cfg.n_d, "warmup_s": round(warm, 2),
            "s_per_iteration": round(sum(times) / len(times), 3), "iterations": iters,
            "images_per_s": round(cfg.batch_size * (cfg.n_d + 1) * len(times) / sum(times), 2),
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2, 3)}


def worker_infer(quick, img_size, runs):
    import numpy as np
    import tensorflow as tf

    from common_tools.export import FrozenGraph, OnnxModel
    from stgan import export
    from stgan.networks import build_networks

    cfg = _cfg(quick, img_size, 1)
    G, _ = build_networks(cfg)
    tmp = tempfile.mkdtemp(prefix="stgan_bench_")
    pb = export.export_pb(G, cfg, os.path.join(tmp, "STGAN.pb"))
    onnx = export.export_onnx(pb, os.path.join(tmp, "STGAN.onnx"))
    S, k = cfg.img_size, cfg.n_att
    feed = {"input1": np.zeros((1, S, S, 3), np.float32), "input2": np.full((1, k), 0.5, np.float32),
            "input3": np.full((1, k), -0.5, np.float32)}
    fn = export.serving_function(G, cfg)
    paths = {"tf": lambda: fn(tf.constant(feed["input1"]), tf.constant(feed["input2"]), tf.constant(feed["input3"])),
             "pb": (lambda g: lambda: g.run(feed))(FrozenGraph(pb, outputs=["output:0"])),
             "onnxruntime": (lambda o: lambda: o.run(feed))(OnnxModel(onnx))}
    out = {"img_size": S}
    for name, call in paths.items():
        call()
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
        times.sort()
        out[f"{name}_ms_median"] = round(1000 * times[len(times) // 2], 2)
    return out


def _sub(args):
    cmd = [sys.executable, os.path.abspath(__file__), *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if proc.returncode != 0:
        raise SystemExit(f"error: bench worker {' '.join(map(str, args))} failed:\n{proc.stderr[-1500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(REPO, "runs", "bench"))
    p.add_argument("--quick", action="store_true", help="tiny config, 1 iteration: checks that it runs")
    p.add_argument("--iters", type=int, default=2, help="timed training iterations per size")
    p.add_argument("--runs", type=int, default=20, help="timed inference runs per path")
    p.add_argument("--worker", choices=["train", "infer"], help=argparse.SUPPRESS)
    p.add_argument("--img_size", type=int, default=128, help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, default=32, help=argparse.SUPPRESS)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    q = ["--quick"] if args.quick else []
    if args.worker == "train":
        print(json.dumps(worker_train(args.quick, args.img_size, args.batch, args.iters)))
        return 0
    if args.worker == "infer":
        print(json.dumps(worker_infer(args.quick, args.img_size, args.runs)))
        return 0
    iters = 1 if args.quick else args.iters
    runs = 3 if args.quick else args.runs
    batch = 2 if args.quick else 32
    result = {"model": "stgan", "quick": args.quick, "machine": f"{platform.node()} {platform.machine()}, "
              f"{os.cpu_count()} CPUs", "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
              "train_128": _sub(["--worker", "train", "--img_size", 128, "--batch", batch, "--iters", iters, *q]),
              "train_64": _sub(["--worker", "train", "--img_size", 64, "--batch", batch, "--iters", iters, *q]),
              "infer_128": _sub(["--worker", "infer", "--img_size", 128, "--runs", runs, *q])}
    t = result["train_128"]
    result["peak_rss_gb_train_128"] = t["peak_rss_gb"]
    result["memory_target_gb"] = 10
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "stgan.json"), "w") as f:
        json.dump(result, f, indent=2)
    i = result["infer_128"]
    rows = [
        "| figure | value |", "|---|---|",
        f"| training iteration (5 D + 1 G), {t['img_size']} px batch {t['batch_size']} | {t['s_per_iteration']} s ({t['images_per_s']} img/s) |",
        f"| training iteration, {result['train_64']['img_size']} px batch {result['train_64']['batch_size']} | {result['train_64']['s_per_iteration']} s ({result['train_64']['images_per_s']} img/s) |",
        f"| peak training RSS, {t['img_size']} px batch {t['batch_size']} | {t['peak_rss_gb']} GB (target < 10 GB) |",
        f"| G latency batch 1, TF tf.function | {i['tf_ms_median']} ms |",
        f"| G latency batch 1, frozen .pb | {i['pb_ms_median']} ms |",
        f"| G latency batch 1, ONNX Runtime CPU | {i['onnxruntime_ms_median']} ms |",
    ]
    title = "STGAN bench" + (" (--quick: tiny config, not the paper's sizes)" if args.quick else "")
    with open(os.path.join(args.out, "stgan.md"), "w") as f:
        f.write(f"# {title}\n\n{result['machine']}, {result['when']}\n\n" + "\n".join(rows) + "\n")
    print("\n".join(rows))
    print(f"bench: {os.path.join(args.out, 'stgan.json')}")
    return 0


if __name__ == "__main__":
    run_cli(main)
