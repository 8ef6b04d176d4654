#!/bin/bash
# Train StackGAN on one device: Stage-I, then Stage-II on it (the card's two commands); each resumes
# from its run folder after a kill.
#   bash scripts/train_1p.sh --data_dir=Data/birds [--output_dir=ckt_logs/birds] [--stage=1|2|both] [--gpu=0] [extra run_exp.py flags]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
data_dir=""; output_dir="ckt_logs/birds"; stage="both"; gpu="0"; extra=()
for arg in "$@"; do
  case $arg in
    --data_dir=*) data_dir=${arg#*=} ;;
    --output_dir=*) output_dir=${arg#*=} ;;
    --stage=*) stage=${arg#*=} ;;
    --gpu=*) gpu=${arg#*=} ;;
    *) extra+=("$arg") ;;
  esac
done
if [ -z "$data_dir" ]; then echo "error: --data_dir=<Data/birds> is required" >&2; exit 2; fi
case $stage in 1|2|both) ;; *) echo "error: --stage must be 1, 2 or both, got $stage" >&2; exit 2 ;; esac
if [ "$stage" != 2 ]; then
  "$PYTHON" stageI/run_exp.py --cfg stageI/cfg/birds.yml --gpu "$gpu" --data_dir "$data_dir" \
    --output_dir "$output_dir/stageI" "${extra[@]}"
fi
if [ "$stage" != 1 ]; then
  "$PYTHON" stageII/run_exp.py --cfg stageII/cfg/birds.yml --gpu "$gpu" --data_dir "$data_dir" \
    --output_dir "$output_dir/stageII" --set TRAIN.PRETRAINED_MODEL "$output_dir/stageI" "${extra[@]}"
fi
