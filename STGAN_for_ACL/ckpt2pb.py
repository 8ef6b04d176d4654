"""Freeze a trained STGAN generator into the card's offline model (and optionally ONNX).

Examples:
    python3 ckpt2pb.py --ckpt_path './output/demo/checkpoints/Epoch_(5)_(20of20).ckpt' --pb_path ./output/demo/pb_model
    python3 ckpt2pb.py --ckpt_path ./output/demo/checkpoints --pb_path ./output/demo/pb_model --onnx ./output/demo/onnx/STGAN.onnx
--ckpt_path: a checkpoint prefix, its folder (the newest is used) or the experiment folder; the
generator is rebuilt from the experiment's config.json. --pb_path: a folder (-> <folder>/STGAN.pb)
or a .pb path. Both output paths are checked before the checkpoint is loaded.
Graph: inputs input1 [1,S,S,3], input2 [1,13] (scaled target), input3 [1,13] (scaled source),
diff = input2 - input3 computed inside, output node `output` (tanh image, NHWC). Then the card's
  atc --model=<pb_path>/STGAN.pb --framework=3 --output=.../om_model/STGAN --soc_version=Ascend910
      --input_shape="input1:1,128,128,3;input2:1,13;input3:1,13"
A parity report (online G vs .pb [vs .onnx], one random input) is written next to the .pb.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common_tools.errors import check_output_file, run_cli  # noqa: E402


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt_path", required=True, help="checkpoint prefix, checkpoints folder or experiment folder")
    p.add_argument("--pb_path", required=True, help="output folder (-> STGAN.pb) or .pb path")
    p.add_argument("--onnx", default=None, metavar="PATH", help="also write ONNX here")
    p.add_argument("--no_parity", action="store_true", help="skip the online/.pb/.onnx comparison")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    from stgan.export import freeze_generator, load_generator, pb_file

    check_output_file(pb_file(args.pb_path), "--pb_path")  # both before the checkpoint is loaded
    if args.onnx:
        check_output_file(args.onnx, "--onnx")
    import numpy as np

    from common_tools import export as ct_export

    cfg, G, step = load_generator(args.ckpt_path)
    paths = freeze_generator(G, cfg, args.pb_path, args.onnx)
    print(f"ckpt2pb: step {step} of {args.ckpt_path} -> {', '.join(paths.values())} (inputs input1 "
          f"[1,{cfg.img_size},{cfg.img_size},3], input2 [1,{cfg.n_att}], input3 [1,{cfg.n_att}]; output `output`)")
    if not args.no_parity:
        rng = np.random.default_rng(0)
        feed = {"input1": rng.uniform(-1, 1, (1, cfg.img_size, cfg.img_size, 3)).astype(np.float32),
                "input2": rng.choice([-1.0, -0.5, 0.5, 1.0], (1, cfg.n_att)).astype(np.float32),
                "input3": rng.choice([-0.5, 0.5], (1, cfg.n_att)).astype(np.float32)}
        results = {"online": [G(feed["input1"], feed["input2"] - feed["input3"], training=False).numpy()],
                   "pb": ct_export.FrozenGraph(paths["pb"], outputs=["output:0"]).run(feed)}
        if "onnx" in paths:
            results["onnx"] = ct_export.OnnxModel(paths["onnx"]).run(feed)
        report = ct_export.parity_report(results)
        path = ct_export.write_parity(report, os.path.join(os.path.dirname(paths["pb"]), "parity.json"))
        print(ct_export.format_parity(report))
        print(f"ckpt2pb: parity report {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
