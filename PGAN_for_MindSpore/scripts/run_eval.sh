#!/bin/bash
# PGAN evaluation, the card's launcher: an 8 x 8 grid of faces in img_eval/result.jpg.
#   bash scripts/run_eval.sh CHECKPOINT_G DEVICE_ID [eval.py flags ...]
#   bash scripts/run_eval.sh output/checkpoints/AvG_528000.ckpt 0
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: bash scripts/run_eval.sh CHECKPOINT_G DEVICE_ID [eval.py flags ...]" >&2
    exit 2
fi
real_path() { case "$1" in /*) echo "$1" ;; *) echo "$(realpath -m "$PWD/$1")" ;; esac; }
CKPT=$(real_path "$1")
export DEVICE_ID="$2"
shift 2
OUT_DIR="$PWD/img_eval"
cd "$(dirname "$0")/.."
REPO="$(cd .. && pwd)"
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3 )}"
exec "$PYTHON" eval.py --checkpoint_g "$CKPT" --device_id "$DEVICE_ID" --img_out_dir "$OUT_DIR" "$@"
