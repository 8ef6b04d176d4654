#!/bin/bash
# The card's offline check of a trained run: pb_validate (pb_out.bin) -> the card's msame line
# (msame + the .om on an Ascend host; the msame-compatible ONNX runner otherwise) -> getAcc.
#   output_dir=/data/runs/bigbigan bash scripts/infer.sh       # after scripts/train_1p.sh
# With atc and msame on PATH the .om path runs through `python -m common_tools.msame`, which exits
# non-zero on any [ERROR] line (msame itself exits 0), so this script stops there.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(cd .. && pwd)"

output_dir="${output_dir:-$REPO/runs/bigbigan}"               # the train_1p.sh folder
soc_version="${soc_version:-Ascend310}"
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3 )}"
bin="$output_dir/bin"; pb="$output_dir/pb"; gen="$output_dir/generated_images"; om_out="$output_dir/om_out"
for f in "$pb/bigbigan.pb" "$gen/gpu_out.bin" "$bin/fake_image.bin"; do
    [ -e "$f" ] || { echo "error: $f not found: run scripts/train_1p.sh with output_dir=$output_dir first" >&2; exit 2; }
done
"$PYTHON" pb_validate.py --input_bin_dir "$bin" --input_pb_path "$pb" --output_pb_generated_img "$gen"
if command -v atc >/dev/null && command -v msame >/dev/null; then
    "$PYTHON" -m common_tools.atc --model="$pb/bigbigan.pb" --framework=3 --output="$output_dir/out/bigbigan" \
        --soc_version="$soc_version" --input_shape="x1:256,100;x2:256"
    "$PYTHON" -m common_tools.msame --model "$output_dir/out/bigbigan.om" --input "$bin/fake_image.bin,$bin/label.bin" \
        --output "$om_out" --outfmt BIN --loop 1
else
    "$PYTHON" -m common_tools.runner --model "$pb/bigbigan.onnx" --input "$bin/fake_image.bin,$bin/label.bin" \
        --output "$om_out" --outfmt BIN --loop 1
fi
exec "$PYTHON" getAcc.py --input_om_out "$om_out" --input_gpu_generated_img "$gen/gpu_out.bin" \
    --input_pb_generated_img "$gen/pb_out.bin" --output_om_generated_img "$om_out/generated_images"
