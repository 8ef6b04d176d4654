#!/bin/bash
# What BigBiGAN is for, on a trained run: linear probes of E(x) / raw pixels / a random E, label
# consistency, reconstruction x -> E -> G(E(x), y), encoder collapse -> <output_dir>/evaluation/.
#   dataset_path=/data/mnist output_dir=/data/runs/bigbigan bash scripts/evaluate_1p.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(cd .. && pwd)"

dataset_path="${dataset_path:-$REPO/runs/data/synthdigits}"   # 数据集路径 (the training data set)
output_dir="${output_dir:-$REPO/runs/bigbigan}"               # the train_1p.sh folder
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3 )}"

exec "$PYTHON" evaluate.py --result_path "$output_dir/results" --dataset_path "$dataset_path" \
    --output_dir "$output_dir/evaluation" "$@"
