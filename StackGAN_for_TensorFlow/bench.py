"""StackGAN speed and memory figures -> <out>/stackgan.json and <out>/stackgan.md (common_tools.bench).

Examples:
    python bench.py --out ../runs/bench              # paper networks, batch 64: long on a CPU (Stage-II)
    python bench.py --out /tmp/bench --quick         # tiny config, batch 2, to check that it runs
    python bench.py --out ../runs/bench --only "Stage-I"
Each figure runs in its own process (its peak RSS is its own): one training iteration (one D update
then one G update, the reference's order) of Stage-I (64 px) and Stage-II (256 px, on a frozen
Stage-I G) at the paper config and batch 64, in fp32 and in mixed precision (mixed_float16 on GPU,
mixed_bfloat16 on CPU), after a warm-up (tracing) iteration; Stage-II is timed over 1 iteration on a
CPU (tens of seconds each). The generators' latency at the card's batch 64 (Stage-I alone; Stage-I
then Stage-II) through tf.function, the frozen .pb and ONNX Runtime, each path in its own process.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common_tools.bench import Config, bench_main, entries, markdown_table, median_time  # noqa: E402
from common_tools.errors import run_cli  # noqa: E402


def _cfg(quick: bool, stage: int, batch: int, mixed: bool = False):
    from stackgan.config import StackGANConfig

    base = StackGANConfig.tiny().replace(run_eagerly=False) if quick else StackGANConfig.paper()
    return base.for_stage(stage).replace(batch_size=batch, mixed_precision=mixed)


def worker_train(quick: bool, stage: int, batch: int, mixed: bool, iters: int) -> dict:
    import numpy as np

    from common_tools.device import select_device, set_mixed_precision

    cfg = _cfg(quick, stage, batch, mixed)
    policy = set_mixed_precision(mixed, select_device(None, stream=None))
    from stackgan.networks import stage_networks
    from stackgan.step import TrainStep

    nets = stage_networks(cfg)
    step = (TrainStep(cfg, nets["G1"], nets["D1"]) if stage == 1 else
            TrainStep(cfg, nets["G2"], nets["D2"], G1=nets["G1"]))
    rng = np.random.default_rng(0)
    size = cfg.image_size
    images = rng.uniform(-1, 1, (batch, size, size, 3)).astype(np.float32)
    wrong = rng.uniform(-1, 1, (batch, size, size, 3)).astype(np.float32)
    emb = rng.normal(size=(batch, cfg.embedding_dim)).astype(np.float32)
    t = median_time(lambda: step(images, wrong, emb), iters)
    return {"stage": stage, "batch_size": batch, "image_size": size, "precision": policy,
            "s_per_iteration": t["median"], "images_per_s": batch / t["median"], "warmup_s": t["warmup_s"],
            "timed_iterations": iters}


PATHS = {"tf": "TF tf.function", "pb": "frozen .pb", "onnx": "ONNX Runtime CPU"}


def worker_infer(quick: bool, stage: int, runs: int, path: str) -> dict:
    """One path's latency in its own process: the process holds one copy of the graph (holding all
    three at once, Stage-II's process peaked at 22.5 GB on a 24 GB machine)."""
    import tempfile

    import numpy as np

    from common_tools.device import select_device
    from common_tools.export import FrozenGraph, OnnxModel

    select_device("cpu", stream=None)
    from stackgan import export, offline
    from stackgan.networks import stage_networks

    batch = 2 if quick else offline.CARD_BATCH
    cfg = _cfg(quick, stage, batch)
    nets = stage_networks(cfg, discriminator=False)
    rng = np.random.default_rng(0)
    feed = {"embedding": rng.normal(size=(batch, cfg.embedding_dim)).astype(np.float32),
            "noise": offline.draw_noise(cfg, batch, seed=0)}
    if path == "tf":
        fn = export.serving_function(cfg, nets, batch=batch)
        call = lambda: fn(**feed)  # noqa: E731
    else:
        tmp = tempfile.mkdtemp()                      # in the harness's TMPDIR, removed with it
        onnx_path = os.path.join(tmp, "g.onnx") if path == "onnx" else None
        paths = export.freeze(cfg, nets, os.path.join(tmp, "g.pb"), onnx_path, batch=batch)
        del nets                                      # the graph holds the weights as constants now
        model = OnnxModel(paths["onnx"]) if path == "onnx" else FrozenGraph(paths["pb"], outputs=[export.output_name(cfg)])
        call = lambda: model.run(feed)  # noqa: E731
    return {"stage": stage, "batch_size": batch, "image_size": offline.image_size(cfg), "path": PATHS[path],
            "ms": 1000 * median_time(call, runs)["median"]}


def configurations(args):
    batch, iters1, iters2, runs = (2, 1, 1, 2) if args.quick else (64, 3, 1, 3)
    out = []
    for stage, iters in ((1, iters1), (2, iters2)):
        for mixed in (False, True):
            out.append(Config(f"Stage-{'I' * stage} train batch {batch} {'mixed' if mixed else 'fp32'}",
                              "bench:worker_train", dict(quick=args.quick, stage=stage, batch=batch,
                                                         mixed=mixed, iters=iters), group="train"))
    out += [Config(f"G latency Stage-{'I' * stage} batch {64 if not args.quick else 2} {PATHS[path]}",
                   "bench:worker_infer", dict(quick=args.quick, stage=stage, runs=runs, path=path), group="infer")
            for stage in (1, 2) for path in PATHS]
    return out


def table(result) -> str:
    rows = [[f"Stage-{'I' * r['stage']} training iteration (D + G), {r['image_size']} px, batch "
             f"{r['batch_size']}, {r['precision']}",
             f"{r['s_per_iteration']:.3g} s ({r['images_per_s']:.3g} img/s; median of {r['timed_iterations']}, "
             f"warm-up {r['warmup_s']:.0f} s), peak RSS {e['peak_rss_mb'] / 1024:.2f} GB"]
            for e in entries(result, "train", ok_only=True) for r in [e["result"]]]
    rows += [[f"G latency {'Stage-I' if e['result']['stage'] == 1 else 'Stage-I + Stage-II'} "
              f"({e['result']['image_size']} px), batch {e['result']['batch_size']}, {e['result']['path']}",
              f"{e['result']['ms']:.4g} ms (peak RSS {e['peak_rss_mb'] / 1024:.2f} GB)"]
             for e in entries(result, "infer", ok_only=True)]
    return markdown_table(["figure", "value"], rows)


if __name__ == "__main__":
    run_cli(lambda argv: bench_main(
        "stackgan", "StackGAN speed and memory", configurations, table=table, argv=argv,
        folder=os.path.dirname(os.path.abspath(__file__)),
        reference={"card s/step (TF 1.15)": {"Ascend 910": 23, "GPU": 18}},
        notes=["an iteration = 1 D update (real, wrong, fake) + 1 G update on one batch, the reference's order",
               "Stage-II includes the frozen Stage-I G's forward pass; its G and D are 26.3 M and 48.6 M parameters"]))
