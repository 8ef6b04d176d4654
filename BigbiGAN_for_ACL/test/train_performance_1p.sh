#!/bin/bash
# ModelZoo performance run: the paper networks at batch 256 for a short run (default 100 iterations).
#   bash test/train_performance_1p.sh --data_path=/data/mnist [--iterations=N] [--batch_size=N]
# Same logs and result file as train_full_1p.sh, case "perf" (BigBiGAN_bs256_1p_perf.log).
#
# Other models/main.py flags pass through (e.g. --mixed_precision, --device=npu).
CASE=perf
DEFAULT_PRESET=paper
DEFAULT_ITERATIONS=100
source "$(dirname "$0")/common_1p.sh"
