"""PGAN export, the card's export.py: the averaged generator as MindIR (or ONNX, or AIR on Ascend).

Examples:
  python export.py --checkpoint_g output/checkpoints/AvG_528000.ckpt                 # PGAN.mindir
  python export.py --checkpoint_g output --file_format ONNX --file_name out/pgan      # out/pgan.onnx

As the card: inputs (noise [batch_size, latent] float32, alpha scalar float32 = 0.0), output
[batch_size, 3, R, R]; the scale comes from the checkpoint (--scale only checks it). The graph uses
MindSpore's Conv2D (--conv_form native, the Ascend/ATC form); --conv_form matmul exports the CPU
form. ONNX works on CPU (checked against MindSpore in the tests); AIR needs an Ascend device.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GLOG_v", "3")

from common_tools.device import DEVICES, select_device, setup_mindspore  # noqa: E402
from common_tools.errors import UserError, check_output_file, run_cli  # noqa: E402

FORMATS = {"MINDIR": ".mindir", "ONNX": ".onnx", "AIR": ".air"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint_g", required=True,
                   help="AvG_<step>.ckpt, or a run folder / its checkpoints/ folder (the newest AvG)")
    p.add_argument("--file_format", default="MINDIR", type=str.upper, choices=sorted(FORMATS),
                   help="MINDIR (default), ONNX, AIR (Ascend only)")
    p.add_argument("--file_name", default="PGAN", help="output path without extension (default PGAN)")
    p.add_argument("--batch_size", type=int, default=64, help="noise batch of the exported graph (the card's 64)")
    p.add_argument("--scale", type=int, default=None, help="the resolution the checkpoint must hold (a check)")
    p.add_argument("--conv_form", choices=("native", "matmul"), default="native",
                   help="convolution form in the graph: native Conv2D (default) or the CPU matmul form")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--device_target", default=None, help="the card's flag: Ascend, GPU or CPU (same as --device)")
    p.add_argument("--device_id", type=int, default=int(os.environ.get("DEVICE_ID", "0") or 0))
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.batch_size < 1:
        raise UserError(f"--batch_size must be >= 1, got {args.batch_size}")
    target = args.file_name + FORMATS[args.file_format]
    if os.path.isfile(target) and os.stat(target).st_uid == os.getuid():
        os.chmod(target, 0o600)   # MindSpore writes its exports read-only; a re-export replaces them
    out = check_output_file(target, "--file_name")
    from pgan.inference import card_device, load_generator, noise

    device = select_device(card_device(args.device, args.device_target), framework="mindspore")
    if args.file_format == "AIR" and device != "npu":
        raise UserError("--file_format AIR needs an Ascend device (MindSpore writes AIR only there): "
                        "use MINDIR or ONNX here")
    setup_mindspore(device, args.device_id, mode="graph")
    import mindspore as ms
    import numpy as np

    G, info = load_generator(args.checkpoint_g, scale=args.scale, conv_form=args.conv_form)
    z = ms.Tensor(noise(args.batch_size, info["latent_dim"], seed=1))
    alpha = ms.Tensor(np.float32(0.0))
    try:
        ms.export(G, z, alpha, file_name=args.file_name, file_format=args.file_format)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise UserError(f"MindSpore could not export {args.file_format}: "
                        f"{str(exc).strip().splitlines()[0][:200]}") from None
    r = info["resolution"]
    print(f"wrote {out}: the {r}x{r} generator of {info['path']}, inputs z [{args.batch_size}, "
          f"{info['latent_dim']}] and alpha (scalar), output [{args.batch_size}, 3, {r}, {r}]")
    return 0


if __name__ == "__main__":
    run_cli(main)
