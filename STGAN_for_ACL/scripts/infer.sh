#!/bin/bash
# The card's offline flow for one experiment: ckpt2pb -> img2bin -> msame (Ascend .om) or the
# msame-compatible ONNX runner -> bin2img -> PSNR/SSIM -> attribute accuracy.
#   bash scripts/infer.sh --data_dir=/data/celeba [--experiment_name=128] [--n_images=0]
# With atc and msame on PATH (an Ascend host) the .om path runs; otherwise ONNX Runtime stands in.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
data_dir=""; experiment_name="128"; n_images="0"
for arg in "$@"; do
  case $arg in
    --data_dir=*) data_dir=${arg#*=} ;;
    --experiment_name=*) experiment_name=${arg#*=} ;;
    --n_images=*) n_images=${arg#*=} ;;
    *) echo "error: unknown option $arg" >&2; exit 2 ;;
  esac
done
if [ -z "$data_dir" ]; then echo "error: --data_dir=<CelebA folder> is required" >&2; exit 2; fi
exp="output/$experiment_name"
"$PYTHON" ckpt2pb.py --ckpt_path "$exp/checkpoints" --pb_path "$exp/pb_model" --onnx "$exp/onnx/STGAN.onnx"
rm -rf "$exp/bin" "$exp/om_testing"
"$PYTHON" img2bin.py --data_dir "$data_dir" --save_dir "$exp/bin" --experiment_name "$experiment_name" --n_images "$n_images"
inputs="$exp/bin/input1,$exp/bin/input2,$exp/bin/input3"
if command -v atc >/dev/null && command -v msame >/dev/null; then
  "$PYTHON" -m common_tools.atc --model="$exp/pb_model/STGAN.pb" --framework=3 --output="$exp/om_model/STGAN" --soc_version=Ascend910
  msame --model "$exp/om_model/STGAN.om" --output "$exp/msame_out/" --outfmt BIN --input "$inputs"
else
  echo "atc/msame not found: running the ONNX model with the msame-compatible runner instead"
  "$PYTHON" -m common_tools.runner --model "$exp/onnx/STGAN.onnx" --output "$exp/msame_out/" --outfmt BIN --input "$inputs"
fi
"$PYTHON" bin2img.py --data_dir "$data_dir" --bin_dir "$exp/msame_out" --save_dir "$exp/om_testing" --experiment_name "$experiment_name"
"$PYTHON" psnr_ssim.py --experiment_name "$experiment_name"
(cd att_classification && "$PYTHON" test.py --img_dir "../$exp/om_testing" --data_dir "$data_dir")
