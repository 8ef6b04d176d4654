# Shared body of test/train_full_1p.sh and test/train_performance_1p.sh (sourced; CASE, STAGES and
# DEFAULT_ITERATIONS are set by the caller). Numbers come from train_log.jsonl via
# `python -m common_tools.modelzoo`, never from scraped columns of text.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$(cd .. && pwd)"
Network="StackGAN_ID0760_for_TensorFlow"
RankSize=1
BatchSize=64
data_path=""
preset="paper"
iterations="$DEFAULT_ITERATIONS"
extra=()
for arg in "$@"; do
    case "$arg" in
        --data_path=*) data_path="${arg#*=}" ;;
        --preset=*) preset="${arg#*=}" ;;
        --train_steps=*|--max_iterations=*) iterations="${arg#*=}" ;;
        --batch_size=*) BatchSize="${arg#*=}" ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) extra+=("$arg") ;;
    esac
done
if [ -z "$data_path" ]; then
    echo "error: --data_path=<Data/birds: train/ and test/ with the embedding and image pickles> is required" >&2
    exit 2
fi
ASCEND_DEVICE_ID="${ASCEND_DEVICE_ID:-0}"
out="test/output/${ASCEND_DEVICE_ID}"
mkdir -p "$out"
log="$out/train_${ASCEND_DEVICE_ID}.log"
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3 )}"
[ "$CASE" = perf ] && rm -rf "$out/stageI" "$out/stageII"    # a performance run starts fresh (training resumes)

start=$(date +%s)
: > "$log"
for stage in $STAGES; do
    stage1=()
    [ "$stage" = stageII ] && stage1=(TRAIN.PRETRAINED_MODEL "$out/stageI")   # Stage-II on this Stage-I run
    "$PYTHON" "$stage/run_exp.py" --cfg "$stage/cfg/birds.yml" --preset "$preset" --data_dir "$data_path" \
        --output_dir "$out/$stage" --set TRAIN.BATCH_SIZE "$BatchSize" TRAIN.MAX_ITERATIONS "$iterations" \
        "${stage1[@]}" "${extra[@]}" >> "$log" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
        tail -n 1 "$log" >&2
        echo "$stage training failed (exit $rc); see $log" >&2
        exit $rc
    fi
    last="$stage"
done
end=$(date +%s)
DeviceType=$("$PYTHON" -c "from common_tools.device import select_device; print(select_device(stream=None))" 2>/dev/null || echo cpu)
"$PYTHON" -m common_tools.modelzoo --log "$out/$last/train_log.jsonl" --network "$Network" \
    --batch_size "$BatchSize" --rank_size "$RankSize" --device_type "$DeviceType" --case "$CASE" \
    --out_dir "$out" --loss_key loss/G --e2e_seconds $((end - start)) | tee -a "$log"
