#!/bin/bash
# The card's offline flow for a trained Stage-II run: freeze -> file2bin (64 rows per .bin) -> ATC +
# msame (Ascend .om) or the msame-compatible ONNX runner -> bin2img (PNGs) -> parity report.
#   bash scripts/infer.sh --data_dir=Data/birds [--model=ckt_logs/birds/stageII] [--out=out]
# With atc and msame on PATH the card's Placeholder graph runs through `python -m common_tools.msame`
# (it exits non-zero on any [ERROR] line msame prints); otherwise the deterministic graph runs on
# ONNX Runtime (python -m common_tools.runner, the same flags) and its outputs are checked.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
data_dir=""; model="ckt_logs/birds/stageII"; out="out"
for arg in "$@"; do
  case $arg in
    --data_dir=*) data_dir=${arg#*=} ;;
    --model=*) model=${arg#*=} ;;
    --out=*) out=${arg#*=} ;;
    *) echo "error: unknown option $arg (expected --data_dir=, --model=, --out=)" >&2; exit 2 ;;
  esac
done
if [ -z "$data_dir" ]; then echo "error: --data_dir=<Data/birds> is required" >&2; exit 2; fi
if command -v atc >/dev/null && command -v msame >/dev/null; then
  "$PYTHON" freeze.py --model_path "$model" --variant card --pb_path "$out/model.pb"
  "$PYTHON" file2bin.py --model_path "$model" --data_dir "$data_dir" --variant card --bin_dir "$out/bin_card"
  "$PYTHON" -m common_tools.atc --model="$out/model.pb" --framework=3 --output="$out/model" --soc_version=Ascend310
  "$PYTHON" -m common_tools.msame --model "$out/model.om" --input "$out/bin_card/Placeholder" --output "$out/msame_out" --outfmt BIN
  "$PYTHON" bin2img.py --bin_dir "$out/bin_card" --output "$out/msame_out" --save_dir "$out/png"
else
  echo "atc/msame not found: running the deterministic ONNX model with the msame-compatible runner instead"
  "$PYTHON" freeze.py --model_path "$model" --pb_path "$out/stackgan.pb" --onnx "$out/stackgan.onnx" --batch 64
  "$PYTHON" file2bin.py --model_path "$model" --data_dir "$data_dir" --bin_dir "$out/bin"
  "$PYTHON" -m common_tools.runner --model "$out/stackgan.onnx" --input "$out/bin/embedding,$out/bin/noise" \
    --output "$out/runner" --outfmt BIN
  "$PYTHON" bin2img.py --bin_dir "$out/bin" --output "$out/runner" --save_dir "$out/png" --model_path "$model" \
    --pb "$out/stackgan.pb" --onnx "$out/stackgan.onnx" --parity "$out/parity.json"
fi
