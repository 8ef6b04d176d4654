#!/bin/bash
# Single-mode test (reconstruction + 13 flips) of a trained experiment, then PSNR/SSIM.
#   bash scripts/test_1p.sh --data_dir=/data/celeba [--experiment_name=128] [--test_int=2]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
data_dir=""; experiment_name="128"; test_int="1"
for arg in "$@"; do
  case $arg in
    --data_dir=*) data_dir=${arg#*=} ;;
    --experiment_name=*) experiment_name=${arg#*=} ;;
    --test_int=*) test_int=${arg#*=} ;;
    *) echo "error: unknown option $arg (expected --data_dir=, --experiment_name=, --test_int=)" >&2; exit 2 ;;
  esac
done
if [ -z "$data_dir" ]; then echo "error: --data_dir=<CelebA folder> is required" >&2; exit 2; fi
"$PYTHON" test.py --experiment_name "$experiment_name" --data_dir "$data_dir" --test_int "$test_int"
"$PYTHON" psnr_ssim.py --experiment_name "$experiment_name" --img_dir "output/$experiment_name/sample_testing"
