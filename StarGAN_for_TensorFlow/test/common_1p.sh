# Shared body of test/train_full_1p.sh and test/train_performance_1p.sh (sourced; CASE and
# DEFAULT_ITERATIONS are set by the caller): this model's flags, then `python -m common_tools.modelzoo
# run` (log, timing, exit status, result file from train_log.jsonl, never from scraped text).
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
out="test/output/${ASCEND_DEVICE_ID:-0}"
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3 )}"
# folder, log, timing, exit status and result file: the shared launcher body in common_tools
exec "$PYTHON" -m common_tools.modelzoo run --network "$Network" --batch_size "$BatchSize" \
    --rank_size "$RankSize" --case "$CASE" --log_dir "$out" --jsonl "$out/model_output/train_log.jsonl" \
    -- "$PYTHON" main.py --phase train --preset="$preset" \
    --image_root="$data_path/img_align_celeba" --metadata_path="$data_path/list_attr_celeba.txt" \
    --batch_size="$BatchSize" --training_iterations="$training_iterations" \
    --output_dir="$out/model_output" "${extra[@]}"
