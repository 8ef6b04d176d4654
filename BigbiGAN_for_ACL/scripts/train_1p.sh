#!/bin/bash
# BigBiGAN single-device training, the card's flow: pic2bin (once) -> models/main.py (train, freeze G
# to bigbigan.pb + bigbigan.onnx, gpu_out.bin). Every setting can be overridden by an environment
# variable of the same name, e.g.
#   dataset_path=/data/mnist preset=paper output_dir=/data/runs/bigbigan bash scripts/train_1p.sh
# The defaults train the demo preset on the embedded SynthDigits (made here when missing).
# Killed? Run the same command again: training resumes from the latest checkpoint in output_dir.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(cd .. && pwd)"

dataset_path="${dataset_path:-$REPO/runs/data/synthdigits}"   # 数据集路径 (MNIST IDX / CIFAR-10 / SynthDigits)
dataset="${dataset:-mnist}"                                   # mnist | fashion_mnist | cifar10
preset="${preset:-demo}"                                      # paper: 50 epochs of batch 256
output_dir="${output_dir:-$REPO/runs/bigbigan}"               # results/, bin/, pb/, generated_images/
device="${device:-auto}"                                      # auto | npu | gpu | cpu
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3 )}"

if [ "$dataset_path" = "$REPO/runs/data/synthdigits" ] && [ ! -e "$dataset_path/train-images-idx3-ubyte.gz" ]; then
    "$PYTHON" -m common_tools.synthetic digits --out "$dataset_path" --num 6000 --seed 0
fi
[ -e "$output_dir/bin/fake_image.bin" ] || "$PYTHON" pic2bin.py --output_bin_dir "$output_dir/bin"
exec "$PYTHON" models/main.py --input_bin_dir "$output_dir/bin" --dataset_path "$dataset_path" \
    --dataset "$dataset" --preset "$preset" --result_path "$output_dir/results" \
    --output_pb_path "$output_dir/pb" --output_gpu_generated_img "$output_dir/generated_images" \
    --device "$device" "$@"
