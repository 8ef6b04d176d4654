#!/bin/bash
# ModelZoo performance run: a few hundred iterations of the paper config, result file from train_log.jsonl.
#   bash test/train_performance_1p.sh --data_path=/data/celeba [--epochs=1] [--max_train_images=3840] [--preset=paper]
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
Network="STGAN_ID1473_for_ACL"; RankSize=1; BatchSize=32; ASCEND_DEVICE_ID=${ASCEND_DEVICE_ID:-0}
data_dir=""; epochs=1; max_train_images=3840; preset=paper; device_type=${DEVICE_TYPE:-cpu}
for arg in "$@"; do
  case $arg in
    --data_path=*|--data_dir=*) data_dir=${arg#*=} ;;
    --epochs=*) epochs=${arg#*=} ;;
    --max_train_images=*) max_train_images=${arg#*=} ;;
    --device_type=*) device_type=${arg#*=} ;;
    --preset=*) preset=${arg#*=} ;;
    *) echo "error: unknown option $arg" >&2; exit 2 ;;
  esac
done
if [ -z "$data_dir" ]; then echo "error: --data_path=<CelebA folder> is required" >&2; exit 2; fi
out="test/output/$ASCEND_DEVICE_ID"
exp="perf_bs${BatchSize}"
rm -rf "$out/$exp"   # a performance run always starts fresh (train.py would resume)
# folder, log, timing, exit status and result file: the shared launcher body in common_tools
exec "$PYTHON" -m common_tools.modelzoo run --network "$Network" --batch_size "$BatchSize" --rank_size "$RankSize" \
  --case perf --device_type "$device_type" --log_dir "$out" --jsonl "$out/$exp/train_log.jsonl" --loss_key loss/G \
  -- "$PYTHON" train.py --preset "$preset" --experiment_name "$exp" --output_root "$out" --data_dir "$data_dir" \
  --epochs "$epochs" --max_train_images "$max_train_images" --batch_size "$BatchSize"
