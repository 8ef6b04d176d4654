#!/bin/bash
# ModelZoo performance run: 200 Stage-I iterations of the paper config (batch 64), from scratch.
#   bash test/train_performance_1p.sh --data_path=Data/birds [--max_iterations=200] [--preset=paper]
# Logs to test/output/${ASCEND_DEVICE_ID}/train_${ASCEND_DEVICE_ID}.log; the result file
# test/output/${ASCEND_DEVICE_ID}/StackGAN_ID0760_for_TensorFlow_bs64_1p_perf.log comes from
# Stage-I's train_log.jsonl.
CASE=perf
STAGES="stageI"
DEFAULT_ITERATIONS=200
source "$(dirname "$0")/common_1p.sh"
