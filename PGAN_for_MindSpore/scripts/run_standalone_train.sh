#!/bin/bash
# PGAN single-device training, the card's launcher:
#   bash scripts/run_standalone_train.sh DATASET_PATH DEVICE_ID CONFIG_PATH [train.py flags ...]
#   bash scripts/run_standalone_train.sh ../runs/data/synthfaces 0 ./cpu_config.yaml --ckpt_save_dir runs/pgan
# Runs train.py in the foreground (the card backgrounds it into ./train/; add `&` for that); the log is
# <run folder>/train_log.jsonl. Killed? Run it again: training resumes.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: bash scripts/run_standalone_train.sh DATASET_PATH DEVICE_ID CONFIG_PATH [train.py flags ...]" >&2
    exit 2
fi
real_path() { case "$1" in /*) echo "$1" ;; *) echo "$(realpath -m "$PWD/$1")" ;; esac; }
DATASET=$(real_path "$1")
CONFIG=$(real_path "$3")
export DEVICE_ID="$2" DEVICE_NUM=1 RANK_ID=0 RANK_SIZE=1
shift 3
cd "$(dirname "$0")/.."
REPO="$(cd .. && pwd)"
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3 )}"
echo "config path is: $CONFIG; device $DEVICE_ID"
exec "$PYTHON" train.py --train_data_path "$DATASET" --config_path "$CONFIG" --device_id "$DEVICE_ID" "$@"
