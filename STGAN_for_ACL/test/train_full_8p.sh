#!/bin/bash
# ModelZoo 8-device data-parallel training on one Ascend server: one process per NPU over HCCL
# (the TF2 adapter's npu_device path: gradients all-reduced, initial variables broadcast from rank 0).
#   bash test/train_full_8p.sh --data_path=/data/celeba --rank_table=/path/rank_table_8p.json \
#        [--epochs=200] [--batch_size=32 (per device)] [--rank_size=8]
# Every rank gets RANK_TABLE_FILE, RANK_SIZE, RANK_ID, DEVICE_ID (and ASCEND_DEVICE_ID) as the
# Ascend cards set them, logs to test/output/<rank>/train_<rank>.log; rank 0 (the chief) writes
# the shared experiment test/output/8p_bs<B> and the result file from its train_log.jsonl.
# UNTESTED ON ASCEND HARDWARE: the environment and commands are tested here with a stand-in python.
set -uo pipefail
CASE=${CASE:-acc}
DEFAULT_EPOCHS=${DEFAULT_EPOCHS:-200}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$(cd .. && pwd)"
Network="STGAN_ID1473_for_ACL"
RankSize=8
BatchSize=32
data_path=""
rank_table="${RANK_TABLE_FILE:-}"
epochs="$DEFAULT_EPOCHS"
extra=()
for arg in "$@"; do
    case "$arg" in
        --data_path=*|--data_dir=*) data_path="${arg#*=}" ;;
        --rank_table=*|--rank_table_file=*) rank_table="${arg#*=}" ;;
        --rank_size=*) RankSize="${arg#*=}" ;;
        --epochs=*) epochs="${arg#*=}" ;;
        --batch_size=*) BatchSize="${arg#*=}" ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) extra+=("$arg") ;;
    esac
done
if [ -z "$data_path" ]; then
    echo "error: --data_path=<CelebA folder> is required" >&2
    exit 2
fi
out_root="${TEST_OUTPUT:-test/output}"
exp="8p_bs${BatchSize}"
run_dir="$out_root/$exp"
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3 )}"
# rank environment, one process per device, group stop on a failure, result file: common_tools
exec "$PYTHON" -m common_tools.modelzoo run8p --rank_table "$rank_table" --rank_size "$RankSize" \
    --network "$Network" --batch_size "$BatchSize" --case "$CASE" --out_root "$out_root" \
    --jsonl "$run_dir/train_log.jsonl" --device_type "${DEVICE_TYPE:-Ascend910}" --loss_key loss/G \
    -- "$PYTHON" train.py --device npu --preset paper --experiment_name "$exp" \
    --output_root "$out_root" --data_dir "$data_path" --batch_size "$BatchSize" \
    --epochs "$epochs" --lr_decay_epoch $((epochs / 2)) "${extra[@]}"
