#!/bin/bash
# Inference of a trained Stage-II run (the card's TRAIN.FLAG False), then the Inception Score on the
# single 256x256 samples (never on the grids).
#   bash scripts/test_1p.sh --data_dir=Data/birds [--model=ckt_logs/birds/stageII] [--inception=<CUB-fine-tuned Inception ckpt>]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
data_dir=""; model="ckt_logs/birds/stageII"; inception=""
for arg in "$@"; do
  case $arg in
    --data_dir=*) data_dir=${arg#*=} ;;
    --model=*) model=${arg#*=} ;;
    --inception=*) inception=${arg#*=} ;;
    *) echo "error: unknown option $arg (expected --data_dir=, --model=, --inception=)" >&2; exit 2 ;;
  esac
done
if [ -z "$data_dir" ]; then echo "error: --data_dir=<Data/birds> is required" >&2; exit 2; fi
"$PYTHON" stageII/run_exp.py --cfg stageII/cfg/birds.yml --data_dir "$data_dir" --output_dir "$model/eval" \
  --set TRAIN.FLAG False TRAIN.PRETRAINED_MODEL "$model"
if [ -n "$inception" ]; then
  "$PYTHON" inception_score.py --image_folder "$model/eval/test_single" --checkpoint_dir "$inception"
else
  echo "no --inception=<checkpoint>: the Inception Score needs the CUB-fine-tuned Inception-v3 of StackGAN-inception-model"
fi
