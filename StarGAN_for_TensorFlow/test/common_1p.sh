# Shared body of test/train_full_1p.sh and test/train_performance_1p.sh (sourced; CASE and
# DEFAULT_ITERATIONS are set by the caller). Numbers come from train_log.jsonl via
# `python -m common_tools.modelzoo`, never from scraped columns of text.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$(cd .. && pwd)"
Network="StarGAN"
RankSize=1
BatchSize=16
data_path=""
preset="paper"
training_iterations="$DEFAULT_ITERATIONS"
extra=()
for arg in "$@"; do
    case "$arg" in
        --data_path=*) data_path="${arg#*=}" ;;
        --preset=*) preset="${arg#*=}" ;;
        --training_iterations=*|--train_steps=*) training_iterations="${arg#*=}" ;;
        --batch_size=*) BatchSize="${arg#*=}" ;;
        -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
        *) extra+=("$arg") ;;
    esac
done
if [ -z "$data_path" ]; then
    echo "error: --data_path=<folder with img_align_celeba/ and list_attr_celeba.txt> is required" >&2
    exit 2
fi
ASCEND_DEVICE_ID="${ASCEND_DEVICE_ID:-0}"
out="test/output/${ASCEND_DEVICE_ID}"
mkdir -p "$out"
log="$out/train_${ASCEND_DEVICE_ID}.log"
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3 )}"

start=$(date +%s)
"$PYTHON" main.py --phase train --preset="$preset" \
    --image_root="$data_path/img_align_celeba" --metadata_path="$data_path/list_attr_celeba.txt" \
    --batch_size="$BatchSize" --training_iterations="$training_iterations" \
    --output_dir="$out/model_output" "${extra[@]}" > "$log" 2>&1
rc=$?
end=$(date +%s)
if [ $rc -ne 0 ]; then
    tail -n 1 "$log" >&2
    echo "training failed (exit $rc); see $log" >&2
    exit $rc
fi
DeviceType=$("$PYTHON" -c "from common_tools.device import select_device; print(select_device(stream=None))" 2>/dev/null || echo cpu)
"$PYTHON" -m common_tools.modelzoo --log "$out/model_output/train_log.jsonl" --network "$Network" \
    --batch_size "$BatchSize" --rank_size "$RankSize" --device_type "$DeviceType" --case "$CASE" \
    --out_dir "$out" --e2e_seconds $((end - start)) | tee -a "$log"
