#!/bin/bash
# StarGAN test phase (the card's scripts/test_1p.sh): translation grids into <output_dir>/results/.
# Every setting below can be overridden by an environment variable of the same name, e.g.
#   checkpoint=model-200000 output_dir=/data/runs/stargan bash scripts/test_1p.sh
# The network settings (image size, attributes, widths) come from <output_dir>/config.json.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(cd .. && pwd)"

image_root="${image_root:-$REPO/runs/data/synthfaces/img_align_celeba}"     # 数据集路径
metadata_path="${metadata_path:-$REPO/runs/data/synthfaces/list_attr_celeba.txt}"  # 标注文件路径
batch_size="${batch_size:-1}"                                               # batch size
output_dir="${output_dir:-$REPO/runs/stargan}"                              # 权重、日志与推理输出的保存路径
checkpoint="${checkpoint:-}"                                                # e.g. model-200000 (default: latest)
device="${device:-auto}"
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3 )}"

exec "$PYTHON" main.py --phase test \
    --image_root="$image_root" \
    --metadata_path="$metadata_path" \
    --batch_size="$batch_size" \
    --output_dir="$output_dir" \
    ${checkpoint:+--checkpoint="$checkpoint"} \
    --device="$device" "$@"
