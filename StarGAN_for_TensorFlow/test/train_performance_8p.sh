#!/bin/bash
# ModelZoo 8-device performance run: the paper networks for a short run (default 1,000 iterations).
#   bash test/train_performance_8p.sh --data_path=/data/celeba --rank_table=/path/rank_table_8p.json
# Same environment, logs and result file as train_full_8p.sh, case "perf" (StarGAN_bs16_8p_perf.log).
# UNTESTED ON ASCEND HARDWARE (tested with a stand-in python).
CASE=perf DEFAULT_ITERATIONS=1000 exec bash "$(dirname "$0")/train_full_8p.sh" "$@"
