#!/bin/bash
# Build PGAN's Ascend 310 inference program -> ascend310_infer/out/main (what run_infer_310.sh runs).
#   bash ascend310_infer/build.sh            # on the Ascend host, with MindSpore (Ascend) installed
# Needs cmake >= 3.14, a C++17 compiler and the MindSpore package's C++ API (include/api, lib/libmindspore.so).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PYTHON="${PYTHON:-python3}"
MS_PATH="$("$PYTHON" -c 'import mindspore, os; print(os.path.dirname(mindspore.__file__))' 2>/dev/null)" || {
    echo "error: $PYTHON cannot import mindspore: install MindSpore for Ascend first" >&2; exit 2; }
[ -f "$MS_PATH/include/api/model.h" ] || {
    echo "error: $MS_PATH has no include/api/model.h: this MindSpore build carries no C++ inference API (the Ascend package does)" >&2
    exit 2; }
mkdir -p "$HERE/build" && cd "$HERE/build"
cmake .. -DMINDSPORE_PATH="$MS_PATH"
make -j"$(nproc)"
echo "built $HERE/out/main"
