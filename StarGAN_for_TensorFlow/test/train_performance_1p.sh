#!/bin/bash
# ModelZoo performance run: the paper networks for a short run (default 1,000 iterations).
#   bash test/train_performance_1p.sh --data_path=/data/celeba [--training_iterations=N]
# Same logs and result file as train_full_1p.sh, case "perf" (StarGAN_bs16_1p_perf.log).
CASE=perf
DEFAULT_ITERATIONS=1000
source "$(dirname "$0")/common_1p.sh"
