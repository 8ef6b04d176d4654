#!/bin/bash
# ModelZoo full training: the paper schedule (200 epochs, lr/10 after 100), resumes after a kill;
# result file from train_log.jsonl, then the single-mode test and PSNR/SSIM.
#   bash test/train_full_1p.sh --data_path=/data/celeba [--epochs=200]   (resumes when run again)
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
Network="STGAN_ID1473_for_ACL"; RankSize=1; BatchSize=32; ASCEND_DEVICE_ID=${ASCEND_DEVICE_ID:-0}
data_dir=""; epochs=200; device_type=${DEVICE_TYPE:-cpu}
for arg in "$@"; do
  case $arg in
    --data_path=*|--data_dir=*) data_dir=${arg#*=} ;;
    --epochs=*) epochs=${arg#*=} ;;
    --device_type=*) device_type=${arg#*=} ;;
    *) echo "error: unknown option $arg" >&2; exit 2 ;;
  esac
done
if [ -z "$data_dir" ]; then echo "error: --data_path=<CelebA folder> is required" >&2; exit 2; fi
out="test/output/$ASCEND_DEVICE_ID"
exp="full_bs${BatchSize}"
# folder, log, timing, exit status and result file: the shared launcher body in common_tools
"$PYTHON" -m common_tools.modelzoo run --network "$Network" --batch_size "$BatchSize" --rank_size "$RankSize" \
  --case acc --device_type "$device_type" --log_dir "$out" --jsonl "$out/$exp/train_log.jsonl" --loss_key loss/G \
  -- "$PYTHON" train.py --preset paper --experiment_name "$exp" --output_root "$out" --data_dir "$data_dir" \
  --epochs "$epochs" --lr_decay_epoch $((epochs / 2)) || exit $?
"$PYTHON" test.py --experiment_name "$exp" --output_root "$out" --data_dir "$data_dir" >> "$out/train_${ASCEND_DEVICE_ID}.log" 2>&1
"$PYTHON" psnr_ssim.py --experiment_name "$exp" --output_root "$out" --img_dir "$out/$exp/sample_testing"
