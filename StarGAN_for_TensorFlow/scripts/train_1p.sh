#!/bin/bash
# StarGAN single-device training (the card's scripts/train_1p.sh).
# Every setting below can be overridden by an environment variable of the same name, e.g.
#   image_root=/data/celeba/img_align_celeba metadata_path=/data/celeba/list_attr_celeba.txt \
#   preset=paper output_dir=/data/runs/stargan bash scripts/train_1p.sh
# The defaults train the demo preset on the embedded SynthFaces (make it with
#   python -m common_tools.synthetic faces --out ../runs/data/synthfaces --num 2000 --seed 0).
# Killed? Run the same command again: training resumes from the latest checkpoint in output_dir.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(cd .. && pwd)"

image_root="${image_root:-$REPO/runs/data/synthfaces/img_align_celeba}"     # 数据集路径
metadata_path="${metadata_path:-$REPO/runs/data/synthfaces/list_attr_celeba.txt}"  # 标注文件路径
batch_size="${batch_size:-16}"                                              # batch size
c_dim="${c_dim:-5}"                                                         # 训练特征维度
selected_attrs="${selected_attrs:-Black_Hair Blond_Hair Brown_Hair Male Young}"  # 训练的属性
output_dir="${output_dir:-$REPO/runs/stargan}"                              # 权重、日志保存路径
preset="${preset:-demo}"                                                    # paper for CelebA 128 px
device="${device:-auto}"                                                    # auto | npu | gpu | cpu
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3 )}"

exec "$PYTHON" main.py --phase train \
    --preset="$preset" \
    --image_root="$image_root" \
    --metadata_path="$metadata_path" \
    --batch_size="$batch_size" \
    --c_dim="$c_dim" \
    --selected_attrs="$selected_attrs" \
    --output_dir="$output_dir" \
    --device="$device" "$@"
