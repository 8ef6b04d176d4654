"""pb_validate: run the frozen bigbigan.pb on the bins and write its images (pb_out.bin).

    python pb_validate.py --input_bin_dir ../runs/bigbigan/bin --input_pb_path ../runs/bigbigan/pb \\
        --output_pb_generated_img ../runs/bigbigan/generated_images
    # -> generated_images/pb_out.bin, float32 [256, 32, 32, C], compared with gpu_out.bin by getAcc.py

--input_pb_path is the folder holding bigbigan.pb (the card) or the .pb itself.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common_tools.errors import UserError, check_output_file, require_file, run_cli  # noqa: E402

from bigbigan import offline                                                  # noqa: E402

OUTPUT = "G/Sigmoid"            # bigbigan.export.OUTPUT (not imported: it would load Keras)
PB_NAME = "bigbigan.pb"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input_bin_dir", required=True, help="folder of fake_image.bin and label.bin")
    p.add_argument("--input_pb_path", required=True, help="folder of bigbigan.pb, or the .pb")
    p.add_argument("--output_pb_generated_img", required=True, help="folder for pb_out.bin (or a .bin path)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    pb = args.input_pb_path if args.input_pb_path.endswith(".pb") else os.path.join(args.input_pb_path, PB_NAME)
    require_file(pb, "frozen graph (--input_pb_path)")
    offline.input_paths(args.input_bin_dir)
    out = args.output_pb_generated_img
    out_path = check_output_file(out if out.endswith(".bin") else os.path.join(out, offline.PB_FILE),
                                 what="--output_pb_generated_img")
    from common_tools.export import FrozenGraph

    graph = FrozenGraph(pb, outputs=[OUTPUT + ":0"])
    shapes = {name: shape for name, shape, _ in graph.inputs}
    if set(shapes) != {"x1", "x2"} or len(shapes["x1"]) != 2:
        raise UserError(f"{pb}: inputs {sorted(shapes)}; expected x1 [256, latent] and x2 [256] (bigbigan.pb)")
    z, y = offline.read_inputs(args.input_bin_dir, latent_dim=shapes["x1"][1])
    (images,) = graph.run({"x1": z, "x2": y})
    offline.write_images(out_path, images)
    print(f"wrote {out_path} (float32 {list(images.shape)}) from {pb}")
    return 0


if __name__ == "__main__":
    run_cli(main)
