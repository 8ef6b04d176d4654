#!/bin/bash
# Train STGAN on one device; resumes from output/<experiment_name>/checkpoints after a kill.
#   bash scripts/train_1p.sh --data_dir=/data/celeba [--experiment_name=128] [--preset=paper] [extra train.py flags]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
data_dir=""; experiment_name="128"; preset="paper"; extra=()
for arg in "$@"; do
  case $arg in
    --data_dir=*) data_dir=${arg#*=} ;;
    --experiment_name=*) experiment_name=${arg#*=} ;;
    --preset=*) preset=${arg#*=} ;;
    *) extra+=("$arg") ;;
  esac
done
if [ -z "$data_dir" ]; then echo "error: --data_dir=<CelebA folder> is required" >&2; exit 2; fi
exec "$PYTHON" train.py --preset "$preset" --experiment_name "$experiment_name" --data_dir "$data_dir" "${extra[@]}"
