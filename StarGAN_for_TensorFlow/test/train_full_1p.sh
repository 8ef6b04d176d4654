#!/bin/bash
# ModelZoo full training: the paper run (128 px, batch 16, 200,000 iterations) on CelebA.
#   bash test/train_full_1p.sh --data_path=/data/celeba [--preset=paper] [--training_iterations=N]
# --data_path holds img_align_celeba/ and list_attr_celeba.txt. Logs to
# test/output/${ASCEND_DEVICE_ID}/train_${ASCEND_DEVICE_ID}.log; the result file
# test/output/${ASCEND_DEVICE_ID}/StarGAN_bs16_1p_acc.log is computed from train_log.jsonl.
CASE=acc
DEFAULT_ITERATIONS=200000
source "$(dirname "$0")/common_1p.sh"
