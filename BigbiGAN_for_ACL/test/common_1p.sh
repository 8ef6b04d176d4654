# Shared body of test/train_full_1p.sh and test/train_performance_1p.sh (sourced; CASE,
# DEFAULT_PRESET and DEFAULT_ITERATIONS are set by the caller): this model's flags, then `python -m
# common_tools.modelzoo run` (log, timing, exit status, result file from train_log.jsonl).
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
out="test/output/${ASCEND_DEVICE_ID:-0}"
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3 )}"
iter_args=()
[ "$iterations" != "0" ] && iter_args=(--iterations "$iterations")
pic2bin=("$PYTHON" pic2bin.py --output_bin_dir "$out/bin" --then)   # the input bins, once
[ -e "$out/bin/fake_image.bin" ] && pic2bin=()
# folder, log, timing, exit status and result file: the shared launcher body in common_tools
exec "$PYTHON" -m common_tools.modelzoo run --network "$Network" --batch_size "$BatchSize" \
    --rank_size "$RankSize" --case "$CASE" --log_dir "$out" --jsonl "$out/model_output/train_log.jsonl" \
    -- "${pic2bin[@]}" "$PYTHON" models/main.py --input_bin_dir "$out/bin" --dataset_path "$data_path" \
    --dataset "$dataset" --preset "$preset" --train_batch_size "$BatchSize" "${iter_args[@]}" \
    --result_path "$out/model_output" --output_pb_path "$out/pb" \
    --output_gpu_generated_img "$out/generated_images" "${extra[@]}"
