#!/bin/bash
# The card's offline flow for one experiment: ckpt2pb -> img2bin -> msame (Ascend .om) or the
# msame-compatible ONNX runner -> bin2img -> PSNR/SSIM -> attribute accuracy.
#   bash scripts/infer.sh --data_dir=/data/celeba [--experiment_name=128] [--n_images=0] [--output_root=output]
# With atc and msame on PATH (an Ascend host) the .om path runs through `python -m common_tools.msame`
# (msame exits 0 after errors; the wrapper exits non-zero on any [ERROR] line, so this script stops);
# otherwise ONNX Runtime stands in (python -m common_tools.runner, the same flags).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
data_dir=""; experiment_name="128"; n_images="0"; output_root="output"
for arg in "$@"; do
  case $arg in
    --data_dir=*) data_dir=${arg#*=} ;;
    --experiment_name=*) experiment_name=${arg#*=} ;;
    --n_images=*) n_images=${arg#*=} ;;
    --output_root=*) output_root=${arg#*=} ;;
    *) echo "error: unknown option $arg" >&2; exit 2 ;;
  esac
done
if [ -z "$data_dir" ]; then echo "error: --data_dir=<CelebA folder> is required" >&2; exit 2; fi
exp="$output_root/$experiment_name"
"$PYTHON" ckpt2pb.py --ckpt_path "$exp/checkpoints" --pb_path "$exp/pb_model" --onnx "$exp/onnx/STGAN.onnx"
rm -rf "$exp/om_testing"
"$PYTHON" img2bin.py --data_dir "$data_dir" --save_dir "$exp/bin" --experiment_name "$experiment_name" \
  --output_root "$output_root" --n_images "$n_images"
inputs="$exp/bin/input1,$exp/bin/input2,$exp/bin/input3"
if command -v atc >/dev/null && command -v msame >/dev/null; then
  "$PYTHON" -m common_tools.atc --model="$exp/pb_model/STGAN.pb" --framework=3 --output="$exp/om_model/STGAN" --soc_version=Ascend910
  "$PYTHON" -m common_tools.msame --model "$exp/om_model/STGAN.om" --output "$exp/msame_out/" --outfmt BIN --input "$inputs"
else
  echo "atc/msame not found: running the ONNX model with the msame-compatible runner instead"
  "$PYTHON" -m common_tools.runner --model "$exp/onnx/STGAN.onnx" --output "$exp/msame_out/" --outfmt BIN --input "$inputs"
fi
"$PYTHON" bin2img.py --input_dir "$exp/bin" --bin_dir "$exp/msame_out" --save_dir "$exp/om_testing"
"$PYTHON" psnr_ssim.py --experiment_name "$experiment_name" --output_root "$output_root"
"$PYTHON" att_classification/test.py --img_dir "$exp/om_testing" --data_dir "$data_dir"
