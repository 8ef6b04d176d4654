"""StarGAN speed and memory on this machine -> <out>/stargan.json and <out>/stargan.md.

Example:
  python bench.py --out ../runs/bench            # full: 64 and 128 px, fp32 / mixed / XLA
  python bench.py --out /tmp/bench --quick       # 64 px, one repeat: checks that it all runs

Measured (paper networks, batch 16, random data, so the data pipeline is not timed):
- training: seconds per D-only iteration, per D+G iteration, and their n_critic-5 average
  (4 D-only + 1 D+G) / 5, at 64 and 128 px, in fp32, mixed precision (bfloat16 on CPU) and XLA;
  each configuration in its own process, whose peak RSS (wait4 ru_maxrss) is the memory figure;
- G inference at 128 px, batch 1 and 16: TF eager, tf.function, the frozen .pb, ONNX Runtime.
Reference: the PyTorch reference code on a 2-core CPU (2 threads).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common_tools.errors import run_cli  # noqa: E402

REFERENCE = {  # PyTorch reference, 2-core CPU, batch 16 (specs/stargan.md)
    "train": {128: {"d_only_s": 5.6, "d_and_g_s": 17.9, "n_critic5_avg_s": 8.0},
              64: {"d_only_s": 2.8, "d_and_g_s": 6.1, "n_critic5_avg_s": 3.5}},
    "infer_128": {"batch1_s": 0.15, "batch16_s": 2.45},
}
MODES = ("fp32", "mixed", "xla")


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def worker_train(size: int, mode: str, repeats: int) -> dict:
    """Runs in a child process: time D-only and D+G iterations of the paper networks."""
    import numpy as np

    from common_tools.device import set_mixed_precision
    from stargan.config import StarGANConfig
    from stargan.networks import build_discriminator, build_generator
    from stargan.step import TrainStep

    policy = set_mixed_precision(mode == "mixed", "cpu")
    cfg = StarGANConfig.paper().replace(image_size=size, xla=mode == "xla")
    step = TrainStep(cfg, build_generator(cfg), build_discriminator(cfg))
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (cfg.batch_size, size, size, 3)).astype("float32")
    c = (rng.rand(cfg.batch_size, cfg.c_dim) > 0.5).astype("float32")
    t = time.perf_counter()
    step(x, c, 0, train_g=False)
    step(x, c, 0, train_g=True)                       # traces (and compiles) both variants
    warmup = time.perf_counter() - t
    d = _median_time(lambda: step(x, c, 1, train_g=False), repeats)
    dg = _median_time(lambda: step(x, c, 1, train_g=True), repeats)
    return {"size": size, "mode": mode, "policy": policy, "repeats": repeats,
            "first_two_iterations_s": round(warmup, 2), "d_only_s": round(d, 3),
            "d_and_g_s": round(dg, 3), "n_critic5_avg_s": round((4 * d + dg) / 5, 3)}


def worker_infer(size: int, batches, repeats: int) -> dict:
    """G inference through eager, tf.function, the frozen .pb and ONNX Runtime."""
    import numpy as np
    import tensorflow as tf

    from common_tools import export
    from stargan.config import StarGANConfig
    from stargan.export import INPUTS, OUTPUT, serving_function
    from stargan.networks import build_generator

    cfg = StarGANConfig.paper().replace(image_size=size)
    G = build_generator(cfg)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for b in batches:
            rng = np.random.RandomState(b)
            x = rng.uniform(-1, 1, (b, size, size, 3)).astype("float32")
            c = (rng.rand(b, cfg.c_dim) > 0.5).astype("float32")
            fn = serving_function(G, cfg, batch=b)
            pb = export.save_pb(export.freeze(fn), os.path.join(tmp, f"g{b}.pb"))
            onnx = export.pb_to_onnx(pb, os.path.join(tmp, f"g{b}.onnx"), list(INPUTS), [OUTPUT])
            frozen, ort = export.FrozenGraph(pb, outputs=[OUTPUT]), export.OnnxModel(onnx)
            feed = {"x_real": x, "c_trg": c}
            paths = {"eager": lambda: G(x, c), "tf_function": lambda: fn(tf.constant(x), tf.constant(c)),
                     "frozen_pb": lambda: frozen.run(feed), "onnxruntime": lambda: ort.run(feed)}
            for name, call in paths.items():
                call()                                # warm-up
                out[f"{name}_batch{b}_s"] = round(_median_time(call, repeats), 4)
    return out


def _child(args: list) -> tuple[dict, float]:
    """Run this script as a worker; returns (its JSON result, its peak RSS in GB)."""
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), *args],
                            stdout=subprocess.PIPE, text=True, cwd=os.path.dirname(os.path.abspath(__file__)))
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        return {"error": f"worker {' '.join(args)} exited {proc.returncode}"}, 0.0
    return json.loads(stdout.strip().splitlines()[-1]), usage.ru_maxrss / 1024 ** 2   # KB -> GB


def markdown(result: dict) -> str:
    ref = REFERENCE["train"]
    lines = [f"# StarGAN benchmark ({result['machine']['cpus']} CPUs, {result['machine']['processor']})", "",
             f"`{result['command']}`", "",
             "| px | mode | D-only s/it | D+G s/it | n_critic-5 avg s/it | vs PyTorch avg | peak RSS GB |",
             "|---|---|---|---|---|---|---|"]
    for r in result["train"]:
        if "error" in r:
            lines.append(f"| {r.get('size')} | {r.get('mode')} | {r['error']} | | | | |")
            continue
        ratio = r["n_critic5_avg_s"] / ref[r["size"]]["n_critic5_avg_s"]
        lines.append(f"| {r['size']} | {r['mode']} | {r['d_only_s']} | {r['d_and_g_s']} | "
                     f"{r['n_critic5_avg_s']} | {ratio:.2f}x | {r['peak_rss_gb']:.2f} |")
    lines += ["", "PyTorch reference (2-core CPU): " + "; ".join(
        f"{s} px {v['d_only_s']} / {v['d_and_g_s']} / {v['n_critic5_avg_s']} s" for s, v in ref.items()),
        "", "| G inference 128 px | seconds |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in result["infer"].items()]
    lines.append(f"\nPyTorch reference: batch 1 {REFERENCE['infer_128']['batch1_s']} s, "
                 f"batch 16 {REFERENCE['infer_128']['batch16_s']} s")
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="folder for stargan.json and stargan.md")
    p.add_argument("--quick", action="store_true", help="64 px, one repeat, batch-1 inference")
    p.add_argument("--repeats", type=int, default=None, help="timed iterations per figure (default 5, quick 1)")
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    p.add_argument("--worker", choices=("train", "infer"), help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, default=128, help=argparse.SUPPRESS)
    p.add_argument("--mode", default="fp32", help=argparse.SUPPRESS)
    p.add_argument("--batches", type=int, nargs="+", default=[1, 16], help=argparse.SUPPRESS)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 5)
    if args.worker == "train":
        print(json.dumps(worker_train(args.size, args.mode, repeats)))
        return 0
    if args.worker == "infer":
        print(json.dumps(worker_infer(args.size, args.batches, repeats)))
        return 0
    if not args.out:
        from common_tools.errors import UserError

        raise UserError("--out is required (the folder for stargan.json and stargan.md)")
    sizes = [64] if args.quick else [64, 128]
    result = {"model": "stargan", "command": "python bench.py " + " ".join(argv or sys.argv[1:]),
              "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                          "platform": platform.platform()},
              "reference": REFERENCE, "train": [], "infer": {}}
    for size in sizes:
        for mode in args.modes:
            print(f"bench: training {size} px {mode} ...", file=sys.stderr, flush=True)
            r, rss = _child(["--worker", "train", "--size", str(size), "--mode", mode, "--repeats", str(repeats)])
            r.update(size=size, mode=mode, peak_rss_gb=round(rss, 3))
            result["train"].append(r)
    print("bench: G inference 128 px ...", file=sys.stderr, flush=True)
    batches = ["1"] if args.quick else ["1", "16"]
    result["infer"], _ = _child(["--worker", "infer", "--size", "128", "--repeats", str(repeats), "--batches", *batches])
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "stargan.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    md = markdown(result)
    with open(os.path.join(args.out, "stargan.md"), "w", encoding="utf-8") as f:
        f.write(md)
    print(md)
    return 0


if __name__ == "__main__":
    run_cli(main)
