# Shared body of test/train_full_1p.sh and test/train_performance_1p.sh (sourced; CASE, STAGES and
# DEFAULT_ITERATIONS are set by the caller): this model's flags, then `python -m common_tools.modelzoo
# run` (log, timing, exit status, result file from train_log.jsonl, never from scraped text).
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
out="test/output/${ASCEND_DEVICE_ID:-0}"
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3 )}"
[ "$CASE" = perf ] && rm -rf "$out/stageI" "$out/stageII"    # a performance run starts fresh (training resumes)

commands=()
for stage in $STAGES; do
    stage1=()
    [ "$stage" = stageII ] && stage1=(TRAIN.PRETRAINED_MODEL "$out/stageI")   # Stage-II on this Stage-I run
    [ ${#commands[@]} -gt 0 ] && commands+=(--then)
    commands+=("$PYTHON" "$stage/run_exp.py" --cfg "$stage/cfg/birds.yml" --preset "$preset" --data_dir "$data_path"
               --output_dir "$out/$stage" --set TRAIN.BATCH_SIZE "$BatchSize" TRAIN.MAX_ITERATIONS "$iterations"
               "${stage1[@]}" "${extra[@]}")
    last="$stage"
done
# folder, log, timing, exit status and result file (from the last stage): common_tools' launcher body
exec "$PYTHON" -m common_tools.modelzoo run --network "$Network" --batch_size "$BatchSize" \
    --rank_size "$RankSize" --case "$CASE" --log_dir "$out" --jsonl "$out/$last/train_log.jsonl" \
    --loss_key loss/G -- "${commands[@]}"
