#!/bin/bash
# PGAN data-parallel training on Ascend with an HCCL rank table, the card's launcher:
#   bash scripts/run_distributed_train.sh DATASET_PATH RANK_TABLE_FILE CONFIG_PATH [train.py flags ...]
#   bash scripts/run_distributed_train.sh /data/celeba/img_align_celeba /path/hccl_8p.json ./910_config.yaml
# The rank table is the JSON that MindSpore's hccl_tools writes (server_list[].device[] with device_id
# and rank_id). One train.py per device of this server (SERVER_ID picks the server when the table has
# several; run the script on each), with the card's environment: RANK_TABLE_FILE, RANK_SIZE (devices
# in the table), RANK_ID and DEVICE_ID (from the table), DEVICE_NUM (devices on this server).
# As the card says, each process writes its output to LOG<RANK_ID>/log_distribute under the current
# folder (run it from scripts/ for the card's layout); rank 0 writes the checkpoints of the run folder
# (--ckpt_save_dir, else the YAML's), which every rank reads when it resumes.
# The script stays in the foreground and watches the workers (add `&` to background it): a worker that
# exits with an error or dies gets one line naming it, the others get SIGTERM, then SIGKILL after
# GRACE seconds (default 30), exit 1. Ctrl-C / SIGTERM: every worker finishes its step, rank 0 saves,
# exit 130. A rank blocked in a collective whose peer is gone fails after HCCL_EXEC_TIMEOUT seconds
# (default here 600). PYTHON overrides the interpreter (default: the repo's .venv, else python3).
# UNTESTED ON ASCEND HARDWARE: built from the card and MindSpore's rank-table conventions, and tested
# with a stand-in interpreter that records each worker's environment and command.
set -uo pipefail
if [ $# -lt 3 ]; then
    echo "usage: bash scripts/run_distributed_train.sh DATASET_PATH RANK_TABLE_FILE CONFIG_PATH [train.py flags ...]" >&2
    exit 2
fi
real_path() { case "$1" in /*) echo "$1" ;; *) echo "$(realpath -m "$PWD/$1")" ;; esac; }
DATASET=$(real_path "$1")
RANK_TABLE=$(real_path "$2")
CONFIG=$(real_path "$3")
shift 3
LOG_ROOT="$PWD"
if [ ! -f "$RANK_TABLE" ]; then
    echo "error: rank table $RANK_TABLE not found: expected the hccl JSON file (hccl_tools.py --device_num \"[0,8)\")" >&2
    exit 2
fi
cd "$(dirname "$0")/.."
REPO="$(cd .. && pwd)"
PYTHON="${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || command -v python3 )}"
PARSER="${TABLE_PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || command -v python3 )}"

# "RANK_SIZE N" then one "RANK_ID DEVICE_ID" line per device of this server
TABLE=$("$PARSER" - "$RANK_TABLE" "${SERVER_ID:-}" <<'EOF'
import json, sys
path, server_id = sys.argv[1], sys.argv[2]
def fail(why):
    print(f"error: rank table {path}: {why}", file=sys.stderr)
    sys.exit(2)
try:
    with open(path, encoding="utf-8") as f:
        table = json.load(f)
except (OSError, ValueError) as exc:
    fail(f"not readable JSON ({exc})")
servers = table.get("server_list") if isinstance(table, dict) else None
if not isinstance(servers, list) or not servers:
    fail("no server_list: expected {\"server_list\": [{\"server_id\": ..., \"device\": [{\"device_id\", \"rank_id\", ...}]}]}")
try:
    devices = [[(int(d["rank_id"]), int(d["device_id"])) for d in s["device"]] for s in servers]
except (KeyError, TypeError, ValueError) as exc:
    fail(f"a device entry lacks a numeric device_id / rank_id ({exc!r})")
size = sum(len(d) for d in devices)
ranks = sorted(r for d in devices for r, _ in d)
if ranks != list(range(size)):
    fail(f"rank_id values must be 0..{size - 1} once each, got {ranks}")
if server_id:
    chosen = [i for i, s in enumerate(servers) if str(s.get("server_id")) == server_id]
    if not chosen:
        fail(f"SERVER_ID={server_id} is not one of {[s.get('server_id') for s in servers]}")
    mine = devices[chosen[0]]
elif len(servers) == 1:
    mine = devices[0]
else:
    fail(f"it lists {len(servers)} servers: set SERVER_ID to this host's server_id and run the script on each")
print("RANK_SIZE", size)
for rank, device in sorted(mine):
    print(rank, device)
EOF
) || exit 2
RANK_SIZE=$(echo "$TABLE" | sed -n 's/^RANK_SIZE //p')
LOCAL=$(echo "$TABLE" | grep -v '^RANK_SIZE')
DEVICE_NUM=$(echo "$LOCAL" | grep -c .)
export RANK_TABLE_FILE="$RANK_TABLE" RANK_SIZE DEVICE_NUM
export HCCL_CONNECT_TIMEOUT="${HCCL_CONNECT_TIMEOUT:-600}" HCCL_EXEC_TIMEOUT="${HCCL_EXEC_TIMEOUT:-600}"
GRACE="${GRACE:-30}"
echo "rank table $RANK_TABLE: $RANK_SIZE devices, $DEVICE_NUM here; config $CONFIG; logs in $LOG_ROOT/LOG<RANK_ID>/log_distribute"

declare -A PIDS DEVICES
while read -r rank device; do
    [ -z "$rank" ] && continue
    dir="$LOG_ROOT/LOG$rank"
    rm -rf "$dir" && mkdir -p "$dir"
    (
        export RANK_ID="$rank" DEVICE_ID="$device"
        env > "$dir/env.log"
        echo "start training for rank $RANK_ID, device $DEVICE_ID"
        exec "$PYTHON" train.py --train_data_path "$DATASET" --config_path "$CONFIG" --device_id "$device" "$@"
    ) > "$dir/log_distribute" 2>&1 &
    PIDS[$rank]=$!
    DEVICES[$rank]=$device
done <<< "$LOCAL"

alive() { local r out=""; for r in "${!PIDS[@]}"; do kill -0 "${PIDS[$r]}" 2>/dev/null && out="$out ${PIDS[$r]}"; done; echo $out; }
stop_all() {  # SIGTERM (finish the step, rank 0 saves), then SIGKILL after GRACE seconds
    local left; left=$(alive); [ -z "$left" ] && return
    kill -TERM $left 2>/dev/null
    for _ in $(seq 1 "$GRACE"); do sleep 1; left=$(alive); [ -z "$left" ] && return; done
    kill -KILL $left 2>/dev/null
}
STOPPING=0
trap 'STOPPING=1' INT TERM
declare -A DONE
FINISHED=0
while [ "$FINISHED" -lt "$DEVICE_NUM" ]; do
    if [ "$STOPPING" = 1 ]; then
        echo "stopping: every worker finishes its step, rank 0 saves a checkpoint" >&2
        stop_all; wait
        echo "interrupted: see $LOG_ROOT/LOG0/log_distribute; run the same command to resume" >&2
        exit 130
    fi
    for rank in "${!PIDS[@]}"; do
        [ -n "${DONE[$rank]:-}" ] && continue
        kill -0 "${PIDS[$rank]}" 2>/dev/null && continue
        wait "${PIDS[$rank]}"; rc=$?
        DONE[$rank]=$rc
        FINISHED=$(( FINISHED + 1 ))
        if [ "$rc" != 0 ]; then
            if [ "$rc" -gt 128 ]; then why="was killed by signal $(( rc - 128 ))"; else
                reason=$(grep -h "^error: " "$LOG_ROOT/LOG$rank/log_distribute" 2>/dev/null | tail -1 | cut -c8-)
                why="exited with code $rc${reason:+: $reason}"; fi
            echo "error: rank $rank (device ${DEVICES[$rank]}, pid ${PIDS[$rank]}) $why; stopping the other workers; its log: $LOG_ROOT/LOG$rank/log_distribute" >&2
            stop_all; wait
            exit 1
        fi
    done
    sleep 1
done
echo "done: $DEVICE_NUM workers; rank logs in $LOG_ROOT/LOG<RANK_ID>/log_distribute"
