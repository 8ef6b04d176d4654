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
if [ -z "$rank_table" ] || [ ! -f "$rank_table" ]; then
    echo "error: --rank_table=<HCCL rank table JSON of this server> is required (got '${rank_table}')" >&2
    exit 2
fi
out_root="${TEST_OUTPUT:-test/output}"
exp="8p_bs${BatchSize}"
run_dir="$out_root/$exp"
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3 )}"
export RANK_TABLE_FILE="$rank_table" RANK_SIZE="$RankSize" JOB_ID="${JOB_ID:-10087}"

start=$(date +%s)
pids=()
for ((rank = 0; rank < RankSize; rank++)); do
    mkdir -p "$out_root/$rank"
    (
        export RANK_ID=$rank DEVICE_ID=$rank ASCEND_DEVICE_ID=$rank
        exec "$PYTHON" train.py --device npu --preset paper --experiment_name "$exp" \
            --output_root "$out_root" --data_dir "$data_path" --batch_size "$BatchSize" \
            --epochs "$epochs" --lr_decay_epoch $((epochs / 2)) "${extra[@]}" \
            > "$out_root/$rank/train_$rank.log" 2>&1
    ) &
    pids+=($!)
done
# wait for the group; when one rank fails, stop the others (HCCL would wait for it until its timeout)
rc=0
running=$RankSize
while [ $running -gt 0 ]; do
    running=0
    for rank in "${!pids[@]}"; do
        pid=${pids[$rank]}
        [ -z "$pid" ] && continue
        if kill -0 "$pid" 2>/dev/null; then running=$((running + 1)); continue; fi
        wait "$pid"; code=$?
        pids[$rank]=""
        if [ $code -ne 0 ] && [ $rc -eq 0 ]; then
            rc=$code
            echo "error: rank $rank (device $rank) exited with status $code; stopping the other ranks; see $out_root/$rank/train_$rank.log" >&2
            for other in "${pids[@]}"; do [ -n "$other" ] && kill -TERM "$other" 2>/dev/null; done
        fi
    done
    [ $running -gt 0 ] && sleep 1
done
end=$(date +%s)
if [ $rc -ne 0 ]; then
    exit $rc
fi
log0="$out_root/0/train_0.log"
"$PYTHON" -m common_tools.modelzoo --log "$run_dir/train_log.jsonl" --network "$Network" \
    --batch_size "$BatchSize" --rank_size "$RankSize" --device_type "${DEVICE_TYPE:-Ascend910}" --case "$CASE" \
    --out_dir "$out_root/0" --loss_key loss/G --e2e_seconds $((end - start)) | tee -a "$log0"
