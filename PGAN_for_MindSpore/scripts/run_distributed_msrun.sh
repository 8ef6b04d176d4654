#!/bin/bash
# PGAN data-parallel training with msrun, MindSpore's dynamic cluster launcher (GPU or CPU hosts; Ascend too):
#   bash scripts/run_distributed_msrun.sh DATASET_PATH CONFIG_PATH WORKER_NUM [train.py flags ...]
#   bash scripts/run_distributed_msrun.sh ../runs/data/synthfaces ./cpu_config.yaml 2 --ckpt_save_dir runs/pgan_dp
# One process per device: batch_size is per device (the global batch is batch_size x WORKER_NUM);
# rank 0 writes the run folder's checkpoints and logs, every rank logs to LOG_DIR/worker_<rank>.log
# (and <run folder>/workers/worker-<rank>.log). Killed or stopped? Run it again: training resumes.
# Ctrl-C / SIGTERM: every worker finishes the same step, rank 0 saves, exit 130.
# A worker that dies: msrun kills the others, this script prints one line naming it and exits 1.
# Environment (all optional):
#   MASTER_ADDR (127.0.0.1), MASTER_PORT (a free port), LOCAL_WORKER_NUM (WORKER_NUM; fewer on each of
#   several hosts, run there with the same MASTER_ADDR/MASTER_PORT and its NODE_RANK), LOG_DIR
#   (./msrun_log), MS_NODE_TIMEOUT (30 s before the scheduler gives up on a silent worker; after a
#   worker's death this script stops the scheduler at once),
#   MS_CPU_COMM_OP_TIMEOUT (300 s a CPU collective waits for a peer), CLUSTER_TIME_OUT (600 s to
#   gather the workers), PYTHON and MSRUN (default: the repo's .venv, else python3 / msrun on PATH).
set -uo pipefail
if [ $# -lt 3 ]; then
    echo "usage: bash scripts/run_distributed_msrun.sh DATASET_PATH CONFIG_PATH WORKER_NUM [train.py flags ...]" >&2
    exit 2
fi
real_path() { case "$1" in /*) echo "$1" ;; *) echo "$(realpath -m "$PWD/$1")" ;; esac; }
DATASET=$(real_path "$1")
CONFIG=$(real_path "$2")
WORKER_NUM="$3"
shift 3
case "$WORKER_NUM" in ''|*[!0-9]*|0) echo "error: WORKER_NUM must be a positive number of workers, got '$WORKER_NUM'" >&2; exit 2 ;; esac
LOG_DIR=$(real_path "${LOG_DIR:-msrun_log}")
cd "$(dirname "$0")/.."
REPO="$(cd .. && pwd)"
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || command -v python3 )}"
MSRUN="${MSRUN:-$( [ -x "$(dirname "$PYTHON")/msrun" ] && echo "$(dirname "$PYTHON")/msrun" || command -v msrun )}"
if [ -z "$MSRUN" ] || [ ! -x "$MSRUN" ]; then
    echo "error: msrun not found (next to $PYTHON or on PATH): it ships with MindSpore >= 2.3 (pip install mindspore)" >&2
    exit 2
fi
export PATH="$(dirname "$PYTHON"):$PATH"   # msrun starts every worker as 'python train.py ...'
MASTER_ADDR="${MASTER_ADDR:-127.0.0.1}"
MASTER_PORT="${MASTER_PORT:-$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')}"
LOCAL_WORKER_NUM="${LOCAL_WORKER_NUM:-$WORKER_NUM}"
export MS_NODE_TIMEOUT="${MS_NODE_TIMEOUT:-30}" MS_CPU_COMM_OP_TIMEOUT="${MS_CPU_COMM_OP_TIMEOUT:-300}"
export GLOG_v="${GLOG_v:-2}"
mkdir -p "$LOG_DIR"
rm -f "$LOG_DIR"/worker_*.log "$LOG_DIR"/scheduler.log
echo "msrun: $WORKER_NUM workers ($LOCAL_WORKER_NUM here), master $MASTER_ADDR:$MASTER_PORT, config $CONFIG; logs in $LOG_DIR"

# the pid each worker prints once it has joined ("distributed: rank R of N (...), pid P")
worker_pids() { sed -n 's/^distributed: rank [0-9]* of [0-9]* (.*), pid \([0-9]*\)$/\1/p' "$LOG_DIR"/worker_*.log 2>/dev/null; }
rank_of_pid() { grep -l "^distributed: rank [0-9]* of [0-9]* (.*), pid $1\$" "$LOG_DIR"/worker_*.log 2>/dev/null \
    | head -1 | xargs -r sed -n "s/^distributed: rank \([0-9]*\) of .*, pid $1\$/\1/p" | head -1; }
STOPPING=0
on_signal() {
    STOPPING=1
    local pids; pids=$(worker_pids)
    if [ -n "$pids" ]; then
        echo "stopping: every worker finishes its step, rank 0 saves a checkpoint" >&2
        kill -TERM $pids 2>/dev/null
    else
        kill -INT "$MSRUN_PID" 2>/dev/null
    fi
}
trap on_signal INT TERM

ARGS=(--worker_num "$WORKER_NUM" --local_worker_num "$LOCAL_WORKER_NUM" --master_addr "$MASTER_ADDR"
      --master_port "$MASTER_PORT" --log_dir "$LOG_DIR" --join True
      --cluster_time_out "${CLUSTER_TIME_OUT:-600}")
[ -n "${NODE_RANK:-}" ] && ARGS+=(--node_rank "$NODE_RANK")
"$MSRUN" "${ARGS[@]}" train.py --train_data_path "$DATASET" --config_path "$CONFIG" "$@" \
    > "$LOG_DIR/msrun.log" 2>&1 &
MSRUN_PID=$!
# msrun kills the other workers as soon as one dies, then waits for its scheduler to time the dead
# one out (MS_NODE_TIMEOUT); once msrun has logged the death, stop the scheduler instead of waiting
FAILED=0
while kill -0 "$MSRUN_PID" 2>/dev/null; do
    if [ "$FAILED" = 0 ] && grep -q "Worker process [0-9]* exit with exception" "$LOG_DIR/msrun.log" 2>/dev/null; then
        FAILED=1
        sched=$(sed -n 's/^distributed: msrun scheduler, pid \([0-9]*\)$/\1/p' "$LOG_DIR/scheduler.log" 2>/dev/null | head -1)
        [ -n "$sched" ] && kill -TERM "$sched" 2>/dev/null
    fi
    sleep 1 & wait $!   # a trapped signal interrupts this wait, not msrun
done
wait "$MSRUN_PID"; rc=$?

if [ "$STOPPING" = 1 ]; then
    echo "interrupted: the workers stopped after the same step and rank 0 saved it (see $LOG_DIR/worker_0.log); run the same command to resume" >&2
    exit 130
fi
if [ "$rc" = 0 ]; then
    echo "done: $WORKER_NUM workers; rank 0's log: $LOG_DIR/worker_0.log"
    exit 0
fi
# msrun writes "Worker process PID exit with exception. Error code: CODE." for the first one it saw
line=$(grep -m1 "Worker process [0-9]* exit with exception" "$LOG_DIR/msrun.log")
pid=$(echo "$line" | sed -n 's/.*Worker process \([0-9]*\) exit.*/\1/p')
code=$(echo "$line" | sed -n 's/.*Error code: \(-\{0,1\}[0-9]*\).*/\1/p')
if [ -n "$pid" ]; then
    rank=$(rank_of_pid "$pid")
    if [ -n "$rank" ]; then who="worker $rank (pid $pid)"; else who="a worker (pid $pid, before it joined the cluster)"; fi
    log="$LOG_DIR/worker_${rank:-*}.log"
    if [ "${code:-0}" -lt 0 ] 2>/dev/null; then
        why="was killed by signal $(( -code ))"
    else
        reason=$(grep -h "^error: " $log 2>/dev/null | tail -1 | cut -c8-)
        why="exited with code ${code:-?}${reason:+: $reason}"
    fi
    echo "error: $who $why; msrun stopped the other workers; logs: $log" >&2
else
    echo "error: distributed training failed (msrun exit $rc) before a worker reported; see $LOG_DIR/msrun.log and $LOG_DIR/scheduler.log" >&2
fi
exit 1
