#!/bin/bash
# ModelZoo full training: Stage-I (600 epochs) then Stage-II (600 more, on the Stage-I G), batch 64.
#   bash test/train_full_1p.sh --data_path=Data/birds [--preset=paper] [--max_iterations=N (0: the epochs)]
# Logs to test/output/${ASCEND_DEVICE_ID}/train_${ASCEND_DEVICE_ID}.log; resumes when run again; the
# result file test/output/${ASCEND_DEVICE_ID}/StackGAN_ID0760_for_TensorFlow_bs64_1p_acc.log comes
# from Stage-II's train_log.jsonl.
CASE=acc
STAGES="stageI stageII"
DEFAULT_ITERATIONS=0
source "$(dirname "$0")/common_1p.sh"
