#!/bin/bash
# ModelZoo full training: the paper run (MNIST, batch 256, 50 epochs = 11,700 iterations).
#   bash test/train_full_1p.sh --data_path=/data/mnist [--dataset=fashion_mnist|cifar10] [--iterations=N]
# --data_path holds the MNIST IDX files (or cifar-10-batches-py/, or SynthDigits). Logs to
# test/output/${ASCEND_DEVICE_ID}/train_${ASCEND_DEVICE_ID}.log; the result file
# test/output/${ASCEND_DEVICE_ID}/BigBiGAN_bs256_1p_acc.log is computed from train_log.jsonl.
# Other models/main.py flags pass through (e.g. --mixed_precision, --device=npu).
CASE=acc
DEFAULT_PRESET=paper
DEFAULT_ITERATIONS=0          # 0: the preset's num_epochs
source "$(dirname "$0")/common_1p.sh"
