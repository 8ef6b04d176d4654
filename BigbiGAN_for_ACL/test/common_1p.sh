# Shared body of test/train_full_1p.sh and test/train_performance_1p.sh (sourced; CASE,
# DEFAULT_PRESET and DEFAULT_ITERATIONS are set by the caller). Numbers come from train_log.jsonl via
# `python -m common_tools.modelzoo`, never from scraped columns of text.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$(cd .. && pwd)"
Network="BigBiGAN"
RankSize=1
BatchSize=256
data_path=""
dataset="mnist"
preset="$DEFAULT_PRESET"
iterations="$DEFAULT_ITERATIONS"
extra=()
for arg in "$@"; do
    case "$arg" in
        --data_path=*) data_path="${arg#*=}" ;;
        --dataset=*) dataset="${arg#*=}" ;;
        --preset=*) preset="${arg#*=}" ;;
        --iterations=*|--train_steps=*) iterations="${arg#*=}" ;;
        --batch_size=*) BatchSize="${arg#*=}" ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) extra+=("$arg") ;;
    esac
done
if [ -z "$data_path" ]; then
    echo "error: --data_path=<folder with the MNIST IDX files, cifar-10-batches-py/ or SynthDigits> is required" >&2
    exit 2
fi
ASCEND_DEVICE_ID="${ASCEND_DEVICE_ID:-0}"
out="test/output/${ASCEND_DEVICE_ID}"
mkdir -p "$out"
log="$out/train_${ASCEND_DEVICE_ID}.log"
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3 )}"
iter_args=()
[ "$iterations" != "0" ] && iter_args=(--iterations "$iterations")

start=$(date +%s)
{ [ -e "$out/bin/fake_image.bin" ] || "$PYTHON" pic2bin.py --output_bin_dir "$out/bin"; } > "$log" 2>&1 &&
"$PYTHON" models/main.py --input_bin_dir "$out/bin" --dataset_path "$data_path" --dataset "$dataset" \
    --preset "$preset" --train_batch_size "$BatchSize" "${iter_args[@]}" --result_path "$out/model_output" \
    --output_pb_path "$out/pb" --output_gpu_generated_img "$out/generated_images" "${extra[@]}" >> "$log" 2>&1
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
