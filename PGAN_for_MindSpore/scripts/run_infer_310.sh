#!/bin/bash
# PGAN offline inference, the card's launcher: noise bins -> the exported G -> result_Files/generated_N.png.
#   bash scripts/run_infer_310.sh MINDIR_PATH NEED_PREPROCESS NIMAGES [DEVICE_ID]
#   bash scripts/run_infer_310.sh PGAN.mindir y 64 0      # Ascend 310: the MindIR through the MindSpore C++ API
#   bash scripts/run_infer_310.sh PGAN.onnx y 64          # anywhere: the ONNX export on the msame-compatible runner
# NEED_PREPROCESS y writes ./preprocess_Result (noise z [batch, latent] + alpha 0.0 per inference; say y the
# first time), n reuses it. Everything goes to the current folder: preprocess_Result/, result_bin/<timestamp>/
# (raw outputs), result_Files/generated_{N}.png, time_Result/ (test_perform_static.txt, infer.log).
# On Ascend the C++ program is $ASCEND310_INFER (default ascend310_infer/out/main: build it on the Ascend host
# with bash ascend310_infer/build.sh; its source is ascend310_infer/src/main.cc). It cannot be built or run
# here (no Ascend, no MindSpore C++ headers): the script says so and prints the command it would run.
set -uo pipefail
if [ $# -lt 3 ] || [ $# -gt 4 ]; then
    echo "usage: bash scripts/run_infer_310.sh MINDIR_PATH NEED_PREPROCESS(y|n) NIMAGES [DEVICE_ID]" >&2
    exit 2
fi
real_path() { case "$1" in /*) echo "$1" ;; *) echo "$(realpath -m "$PWD/$1")" ;; esac; }
MODEL=$(real_path "$1")
NEED_PREPROCESS="$2"
NIMAGES="$3"
DEVICE_ID="${4:-0}"
FOLDER="$(cd "$(dirname "$0")/.." && pwd)"
REPO="$(cd "$FOLDER/.." && pwd)"
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3 )}"
export GLOG_v="${GLOG_v:-3}"
fail() { echo "error: $*" >&2; exit 2; }

[ -f "$MODEL" ] || fail "MINDIR_PATH $MODEL not found: export it first (python export.py --checkpoint_g AvG_N.ckpt [--file_format ONNX])"
case "$NEED_PREPROCESS" in y|Y|n|N) ;; *) fail "NEED_PREPROCESS must be y or n, got '$NEED_PREPROCESS'" ;; esac
[[ "$NIMAGES" =~ ^[1-9][0-9]*$ ]] || fail "NIMAGES must be a positive integer, got '$NIMAGES'"
[[ "$DEVICE_ID" =~ ^[0-9]+$ ]] || fail "DEVICE_ID must be a non-negative integer, got '$DEVICE_ID'"
case "$MODEL" in
    *.mindir|*.MINDIR) KIND=mindir ;;
    *.onnx|*.ONNX) KIND=onnx ;;
    *) fail "$MODEL: expected the .mindir (Ascend 310) or the .onnx (anywhere) that export.py writes" ;;
esac

BIN_DIR="$PWD/preprocess_Result"
RESULT_BIN="$PWD/result_bin"

preprocess() {
    mkdir -p "$PWD/time_Result" "$RESULT_BIN" || fail "cannot create time_Result/ and result_bin/ in $PWD"
    if [ "$NEED_PREPROCESS" = y ] || [ "$NEED_PREPROCESS" = Y ]; then
        "$PYTHON" "$FOLDER/preprocess.py" --model "$MODEL" --nimages "$NIMAGES" --output_path "$BIN_DIR" || exit $?
    elif [ ! -f "$BIN_DIR/manifest.json" ]; then
        fail "NEED_PREPROCESS n but $BIN_DIR/manifest.json does not exist: run once with y"
    fi
}

INFER="${ASCEND310_INFER:-$FOLDER/ascend310_infer/out/main}"
MINDIR_CMD=("$INFER" "--mindir_path=$MODEL" "--input0_path=$BIN_DIR/z" "--input1_path=$BIN_DIR/alpha"
            "--result_path=$RESULT_BIN/$(date +%Y%m%d_%H%M%S)" "--device_id=$DEVICE_ID")

check_mindir() {   # before any work: this runs only on an Ascend host with the C++ program built
    echo "command: ${MINDIR_CMD[*]}"
    if [ -z "${ASCEND_HOME_PATH:-}" ] && [ ! -d /usr/local/Ascend ]; then
        fail "no Ascend toolkit here (ASCEND_HOME_PATH unset, no /usr/local/Ascend): a MindIR runs on Ascend 310 \
through the MindSpore C++ API only; here export ONNX (python export.py --file_format ONNX) and run \
bash scripts/run_infer_310.sh PGAN.onnx $NEED_PREPROCESS $NIMAGES"
    fi
    [ -x "$INFER" ] || fail "$INFER not found: build it (bash $FOLDER/ascend310_infer/build.sh) or set \
ASCEND310_INFER to a program that takes these flags and writes <sample>_output_0.bin per input file"
}

infer_mindir() {   # Ascend 310: the MindSpore C++ API program
    mkdir -p "${MINDIR_CMD[4]#--result_path=}" || fail "cannot create ${MINDIR_CMD[4]#--result_path=}"
    "${MINDIR_CMD[@]}" 2>&1 | tee "$PWD/time_Result/infer.log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || fail "the Ascend inference failed: see time_Result/infer.log"
}

infer_onnx() {     # anywhere: msame's flags and output names on ONNX Runtime
    local cmd=("$PYTHON" -m common_tools.runner --model "$MODEL" --input "$BIN_DIR/z,$BIN_DIR/alpha"
               --output "$RESULT_BIN" --outfmt BIN --device "$DEVICE_ID")
    echo "command: ${cmd[*]}"
    "${cmd[@]}" 2>&1 | tee "$PWD/time_Result/infer.log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || fail "the ONNX inference failed: see time_Result/infer.log"
}

[ "$KIND" = mindir ] && check_mindir
preprocess
"infer_$KIND"
exec "$PYTHON" "$FOLDER/postprocess.py" --bin_dir "$BIN_DIR" --result_path "$RESULT_BIN" \
    --output_dir "$PWD/result_Files" --time_log "$PWD/time_Result/infer.log" --time_dir "$PWD/time_Result"
