"""The ModelZoo result file of ``test/train_*_1p.sh``, computed from the trainer's JSONL log.

The numbers come from ``train_log.jsonl`` (see :mod:`common_tools.logging`), never from scraped
columns of text:

- ActualFPS: steady-state images/sec for all ranks: the first ``--skip`` records (graph build,
  warm-up) are dropped, then ``batch_size * rank_size * steps / seconds`` over the rest, taken
  from the records' ``step`` and ``time`` (the median ``images_per_sec`` when time cannot be used).
- TrainingTime: seconds per training step in that window.
- ActualLoss: mean of ``--loss_key`` over the last 20 records that have it (default ``loss/G``:
  every model logs its scalars as ``loss/D``, ``loss/G``, ``loss/G_rec``, ...).
- TrainAccuracy: last value of ``--accuracy_key`` (``None`` for GANs without one).
- E2ETrainingTime: ``--e2e_seconds`` from the launcher, else the span the log covers.

Everything that belongs to the model (its network name, batch size, rank size, device, loss key)
comes from the launcher's command line; nothing here knows any model. Example (what a model's
``test/train_performance_1p.sh`` runs at its end)::

    python -m common_tools.modelzoo --log test/output/0/train_log.jsonl \\
        --network MyGAN_ID0000_for_TensorFlow --batch_size 16 --rank_size 1 --device_type cpu \\
        --case perf --out_dir test/output/0 --e2e_seconds 742

writes ``test/output/0/MyGAN_ID0000_for_TensorFlow_bs16_1p_perf.log`` and prints the three
``Final ...`` lines.

The launchers' shared body is here too, so that a model's ``test/*.sh`` only parses its own flags:

- ``run``: one device. Creates ``--log_dir``, runs the training command(s) with their output to
  ``<log_dir>/train_${ASCEND_DEVICE_ID}.log``, times them, and on a failure prints the log's last
  line and exits with the command's status; then writes the result file from ``--jsonl``::

      python -m common_tools.modelzoo run --network MyGAN --batch_size 16 --case perf \
          --log_dir test/output/0 --jsonl test/output/0/model_output -- python main.py ...

  Several commands run in order when separated by ``--then`` (e.g. a preprocessing step, or two
  training stages); the result file comes from the last one's ``--jsonl``.
- ``run8p``: one process per device of an Ascend server (``--rank_size``, default 8): each gets
  ``RANK_TABLE_FILE``, ``RANK_SIZE``, ``RANK_ID``, ``DEVICE_ID`` and ``ASCEND_DEVICE_ID``, logs to
  ``<out_root>/<rank>/train_<rank>.log``; when one rank fails the others are stopped (a collective
  would wait for it until its timeout); rank 0's ``--jsonl`` gives ``<out_root>/0/<CaseName>.log``::

      python -m common_tools.modelzoo run8p --rank_table rank_table_8p.json --network MyGAN \
          --batch_size 16 --case acc --out_root test/output --jsonl test/output/run_8p \
          -- python main.py --device npu ...
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from typing import Optional, Sequence

from .errors import UserError, run_cli
from .logging import JSONL_NAME, read_jsonl

_RECORD_KEYS = ("step", "time", "elapsed", "images_per_sec")  # what StepLogger adds itself
RESULT_KEYS = ("Network", "RankSize", "BatchSize", "DeviceType", "CaseName", "ActualFPS",
               "TrainingTime", "TrainAccuracy", "ActualLoss", "E2ETrainingTime")


def case_name(network: str, batch_size: int, rank_size: int, case: str) -> str:
    """``${Network}_bs${BatchSize}_${RankSize}p_${case}``."""
    return f"{network}_bs{batch_size}_{rank_size}p_{case}"


def _num(value) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def default_skip(n_records: int) -> int:
    """Warm-up records to drop: 10% of the log, at least 1 and at most 20, keeping 2 or more."""
    return max(0, min(max(1, n_records // 10), 20, n_records - 2))


def summarize(records: list, batch_size: int, rank_size: int = 1, loss_key: str = "loss/G",
              accuracy_key: Optional[str] = None, skip: Optional[int] = None,
              e2e_seconds: Optional[float] = None, source: str = "log") -> dict:
    """The result-file numbers from JSONL records (see the module docstring)."""
    records = [r for r in records if _num(r.get("step")) is not None]
    if not records:
        raise UserError(f"{source} has no step records: expected lines written by StepLogger")
    records.sort(key=lambda r: r["step"])
    skip = default_skip(len(records)) if skip is None else max(0, min(int(skip), len(records) - 1))
    steady = records[skip:]

    steps_per_sec = None
    timed = [r for r in steady if _num(r.get("time")) is not None]
    if len(timed) >= 2:
        dsteps = timed[-1]["step"] - timed[0]["step"]
        dtime = timed[-1]["time"] - timed[0]["time"]
        if dsteps > 0 and dtime > 0:
            steps_per_sec = dsteps / dtime
    fps = None
    if steps_per_sec is not None:
        fps = batch_size * rank_size * steps_per_sec
    else:
        ips = [v for r in steady if (v := _num(r.get("images_per_sec"))) is not None]
        if ips:
            fps = statistics.median(ips) * rank_size
            steps_per_sec = fps / (batch_size * rank_size)
    if fps is None:
        raise UserError(f"{source}: cannot compute images/sec: expected 'time' or 'images_per_sec' "
                        f"in at least two records after skipping {skip}")

    losses = [v for r in records if (v := _num(r.get(loss_key))) is not None]
    if not losses:
        found = sorted({k for r in records for k, v in r.items()
                        if k not in _RECORD_KEYS and _num(v) is not None})
        raise UserError(f"{source} has no values for loss key {loss_key!r}: its scalars are "
                        f"{', '.join(found) or 'none'} (use --loss_key)")
    actual_loss = statistics.fmean(losses[-20:])

    accuracy = None
    if accuracy_key:
        values = [v for r in records if (v := _num(r.get(accuracy_key))) is not None]
        if not values:
            raise UserError(f"{source} has no values for accuracy key {accuracy_key!r}")
        accuracy = values[-1]

    if e2e_seconds is None:
        starts = [r["time"] - (_num(r.get("elapsed")) or 0.0)
                  for r in records if _num(r.get("time")) is not None]
        ends = [r["time"] for r in records if _num(r.get("time")) is not None]
        e2e_seconds = max(ends) - min(starts) if ends else None
    return {"fps": fps, "seconds_per_step": 1.0 / steps_per_sec, "loss": actual_loss,
            "accuracy": accuracy, "e2e_seconds": e2e_seconds, "records": len(records),
            "skipped": skip}


def _fmt(value, digits: int) -> str:
    return "None" if value is None else f"{value:.{digits}f}"


def result_lines(network: str, batch_size: int, rank_size: int, device_type: str, case: str,
                 numbers: dict) -> list:
    """The ``Key = value`` lines of the ``<CaseName>.log`` result file, in ModelZoo order."""
    values = {"Network": network, "RankSize": rank_size, "BatchSize": batch_size,
              "DeviceType": device_type, "CaseName": case_name(network, batch_size, rank_size, case),
              "ActualFPS": _fmt(numbers["fps"], 2), "TrainingTime": _fmt(numbers["seconds_per_step"], 4),
              "TrainAccuracy": _fmt(numbers["accuracy"], 4), "ActualLoss": _fmt(numbers["loss"], 4),
              "E2ETrainingTime": _fmt(numbers["e2e_seconds"], 0)}
    return [f"{k} = {values[k]}" for k in RESULT_KEYS]


def write_result_file(out_dir: str, lines: list) -> str:
    name = lines[RESULT_KEYS.index("CaseName")].split(" = ", 1)[1]
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{name}.log")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m common_tools.modelzoo",
        description="Write the ModelZoo <CaseName>.log result file from a train_log.jsonl.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  python -m common_tools.modelzoo --log test/output/0/train_log.jsonl "
               "--network MyGAN_ID0000_for_TensorFlow \\\n      --batch_size 16 --rank_size 1 "
               "--device_type cpu --case perf --out_dir test/output/0")
    parser.add_argument("--log", required=True,
                        help="train_log.jsonl written by the trainer (or the run folder holding it)")
    parser.add_argument("--network", required=True, help="the ModelZoo network name (the launcher's Network)")
    parser.add_argument("--batch_size", type=int, required=True, help="per-device batch size")
    parser.add_argument("--rank_size", type=int, default=1, help="number of devices (default 1)")
    parser.add_argument("--device_type", default="cpu", help="e.g. cpu, gpu, Ascend910")
    parser.add_argument("--case", choices=("perf", "acc"), default="perf",
                        help="perf (train_performance_1p.sh) or acc (train_full_1p.sh)")
    parser.add_argument("--out_dir", required=True, help="folder for <CaseName>.log")
    parser.add_argument("--loss_key", default="loss/G",
                        help="JSONL key of the reported loss (default loss/G, the shared naming)")
    parser.add_argument("--accuracy_key", default=None, help="JSONL key of an accuracy, if any")
    parser.add_argument("--skip", type=int, default=None,
                        help="warm-up records to ignore for speed (default 10%%, 1..20)")
    parser.add_argument("--e2e_seconds", type=float, default=None,
                        help="end-to-end seconds measured by the launcher (default: the log's span)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("run", "run8p"):
        return run_main(argv[1:]) if argv[0] == "run" else run8p_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.batch_size <= 0 or args.rank_size <= 0:
        raise UserError("--batch_size and --rank_size must be positive integers")
    log = os.path.join(args.log, JSONL_NAME) if os.path.isdir(args.log) else args.log
    records = read_jsonl(log)
    if not records:
        raise UserError(f"log is empty: {log} (expected one JSON record per training step)")
    numbers = summarize(records, args.batch_size, args.rank_size, loss_key=args.loss_key,
                        accuracy_key=args.accuracy_key, skip=args.skip,
                        e2e_seconds=args.e2e_seconds, source=log)
    lines = result_lines(args.network, args.batch_size, args.rank_size, args.device_type,
                         args.case, numbers)
    path = write_result_file(args.out_dir, lines)
    for line in final_lines(numbers, path):
        print(line)
    return 0


def final_lines(numbers: dict, path: str) -> list:
    """The ``Final ...`` lines a launcher prints (and appends to its log) after the run."""
    return [f"Final Performance images/sec : {_fmt(numbers['fps'], 2)}",
            f"Final Train Accuracy : {_fmt(numbers['accuracy'], 4)}",
            f"E2E Training Duration sec : {_fmt(numbers['e2e_seconds'], 0)}",
            f"result file: {path}"]


# ---------------------------------------------------------------- the launchers' shared body

def _exit_status(code: int) -> int:
    """A child's return code as a shell reports it (killed by signal N: 128 + N)."""
    return code if code >= 0 else 128 - code


def split_commands(argv: Sequence[str]) -> tuple:
    """``[flags..., "--", cmd1..., "--then", cmd2...]`` -> ``(flags, [cmd1, cmd2])``."""
    argv = list(argv)
    if "--" not in argv:
        raise UserError("no training command: expected -- <command> ... after the flags")
    i = argv.index("--")
    commands, current = [], []
    for token in argv[i + 1:]:
        if token == "--then":
            commands.append(current)
            current = []
        else:
            current.append(token)
    commands.append(current)
    if any(not c for c in commands):
        raise UserError("empty training command: expected -- <command> [--then <command>] ...")
    return argv[:i], commands


def _result_parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m common_tools.modelzoo {prog}", description=description)
    p.add_argument("--network", required=True, help="the ModelZoo network name (the launcher's Network)")
    p.add_argument("--batch_size", type=int, required=True, help="per-device batch size")
    p.add_argument("--case", choices=("perf", "acc"), default="perf",
                   help="perf (train_performance_*.sh) or acc (train_full_*.sh)")
    p.add_argument("--jsonl", required=True,
                   help="train_log.jsonl the (last) command writes, or the run folder holding it")
    p.add_argument("--loss_key", default="loss/G", help="JSONL key of the reported loss")
    p.add_argument("--accuracy_key", default=None, help="JSONL key of an accuracy, if any")
    return p


def _write_result(args, rank_size: int, device_type: str, out_dir: str, e2e: float, log_path: str) -> None:
    """Result file + ``Final ...`` lines, printed and appended to the launcher's log."""
    log = os.path.join(args.jsonl, JSONL_NAME) if os.path.isdir(args.jsonl) else args.jsonl
    records = read_jsonl(log)
    if not records:
        raise UserError(f"log is empty: {log} (expected one JSON record per training step)")
    numbers = summarize(records, args.batch_size, rank_size, loss_key=args.loss_key,
                        accuracy_key=args.accuracy_key, e2e_seconds=float(int(e2e)), source=log)
    lines = result_lines(args.network, args.batch_size, rank_size, device_type, args.case, numbers)
    path = write_result_file(out_dir, lines)
    text = "\n".join(final_lines(numbers, path)) + "\n"
    sys.stdout.write(text)
    sys.stdout.flush()
    with open(log_path, "a", encoding="utf-8") as f:
        f.write(text)


def _last_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [ln.rstrip("\n") for ln in f if ln.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _auto_device_type() -> str:
    try:
        from .device import select_device
        return select_device(stream=None)
    except Exception:   # no framework here: the result file still says where it ran
        return "cpu"


def _positive(args, *names) -> None:
    for name in names:
        if getattr(args, name) <= 0:
            raise UserError(f"--{name} must be a positive integer (got {getattr(args, name)})")


def run_main(argv: Sequence[str]) -> int:
    """``run``: one device (see the module docstring)."""
    flags, commands = split_commands(argv)
    p = _result_parser("run", "Run a ModelZoo 1-device training with its log and result file.")
    p.add_argument("--rank_size", type=int, default=1, help="number of devices (default 1)")
    p.add_argument("--log_dir", required=True, help="output folder, e.g. test/output/${ASCEND_DEVICE_ID}")
    p.add_argument("--device_type", default="auto",
                   help="for the result file: cpu, gpu, Ascend910 (default: the device found)")
    args = p.parse_args(flags)
    _positive(args, "batch_size", "rank_size")
    device_id = os.environ.get("ASCEND_DEVICE_ID") or "0"
    os.makedirs(args.log_dir, exist_ok=True)
    log_path = os.path.join(args.log_dir, f"train_{device_id}.log")
    start = time.time()
    with open(log_path, "w", encoding="utf-8") as log:
        for command in commands:
            try:
                code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT)
            except OSError as e:
                raise UserError(f"cannot start {command[0]}: {e.strerror}") from None
            except KeyboardInterrupt:   # Ctrl-C reached the command too
                print(f"interrupted; see {log_path}", file=sys.stderr)
                return 130
            if code != 0:
                log.flush()
                last = _last_line(log_path)
                if last:
                    print(last, file=sys.stderr)
                print(f"training failed (exit {_exit_status(code)}); see {log_path}", file=sys.stderr)
                return _exit_status(code)
    e2e = time.time() - start
    device_type = _auto_device_type() if args.device_type == "auto" else args.device_type
    _write_result(args, args.rank_size, device_type, args.log_dir, e2e, log_path)
    return 0


def rank_environment(rank_table: str, rank_size: int, rank: int) -> dict:
    """The Ascend environment of one rank (what the cards' scripts set)."""
    return {"RANK_TABLE_FILE": rank_table, "RANK_SIZE": str(rank_size), "RANK_ID": str(rank),
            "DEVICE_ID": str(rank), "ASCEND_DEVICE_ID": str(rank)}


def run_ranks(command: Sequence[str], rank_table: str, rank_size: int, out_root: str,
              poll: float = 0.2, grace: float = 10.0) -> int:
    """One process per device, each logging to ``<out_root>/<rank>/train_<rank>.log``; returns the
    group's exit status (the first failing rank's; the others are stopped then)."""
    procs, logs = [], []
    base = dict(os.environ, JOB_ID=os.environ.get("JOB_ID", "10087"))

    def stop(sig=signal.SIGTERM):
        for p in procs:
            if p.poll() is None:
                try:
                    p.send_signal(sig)
                except ProcessLookupError:
                    pass

    old = signal.signal(signal.SIGTERM, lambda signum, frame: stop())
    try:
        for rank in range(rank_size):
            os.makedirs(os.path.join(out_root, str(rank)), exist_ok=True)
            log = open(os.path.join(out_root, str(rank), f"train_{rank}.log"), "w", encoding="utf-8")
            logs.append(log)
            env = dict(base, **rank_environment(rank_table, rank_size, rank))
            try:
                procs.append(subprocess.Popen(list(command), env=env, stdout=log, stderr=subprocess.STDOUT))
            except OSError as e:
                stop()
                raise UserError(f"cannot start {command[0]}: {e.strerror}") from None
        rc = 0
        while any(p.poll() is None for p in procs) and rc == 0:
            for rank, p in enumerate(procs):
                code = p.poll()
                if code not in (None, 0) and rc == 0:
                    rc = _exit_status(code)
                    print(f"error: rank {rank} (device {rank}) exited with status {rc}; stopping the "
                          f"other ranks; see {os.path.join(out_root, str(rank), f'train_{rank}.log')}",
                          file=sys.stderr)
            if rc == 0:
                time.sleep(poll)
        if rc != 0:
            stop()
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(p.poll() is None for p in procs):
                time.sleep(0.05)
            stop(signal.SIGKILL)
        for rank, p in enumerate(procs):
            code = p.wait()
            if code != 0 and rc == 0:
                rc = _exit_status(code)
                print(f"error: rank {rank} (device {rank}) exited with status {rc}; see "
                      f"{os.path.join(out_root, str(rank), f'train_{rank}.log')}", file=sys.stderr)
        return rc
    except KeyboardInterrupt:
        stop(signal.SIGINT)
        for p in procs:
            p.wait()
        return 130
    finally:
        signal.signal(signal.SIGTERM, old)
        stop(signal.SIGKILL)   # nothing outlives the launcher
        for log in logs:
            log.close()


def run8p_main(argv: Sequence[str]) -> int:
    """``run8p``: one process per device of a server (see the module docstring)."""
    flags, commands = split_commands(argv)
    if len(commands) != 1:
        raise UserError("run8p starts one training command per device: --then is not supported here")
    p = _result_parser("run8p", "Run a ModelZoo multi-device training (one process per device).")
    p.add_argument("--rank_table", default=os.environ.get("RANK_TABLE_FILE", ""),
                   help="HCCL rank table JSON of this server (default $RANK_TABLE_FILE)")
    p.add_argument("--rank_size", type=int, default=8, help="number of devices (default 8)")
    p.add_argument("--out_root", required=True, help="folder of the per-rank logs <rank>/train_<rank>.log")
    p.add_argument("--device_type", default="Ascend910", help="for the result file (default Ascend910)")
    args = p.parse_args(flags)
    _positive(args, "batch_size", "rank_size")
    if not args.rank_table or not os.path.isfile(args.rank_table):
        raise UserError(f"--rank_table=<HCCL rank table JSON of this server> is required "
                        f"(got '{args.rank_table}')")
    start = time.time()
    rc = run_ranks(commands[0], args.rank_table, args.rank_size, args.out_root)
    if rc != 0:
        return rc
    e2e = time.time() - start
    _write_result(args, args.rank_size, args.device_type, os.path.join(args.out_root, "0"), e2e,
                  os.path.join(args.out_root, "0", "train_0.log"))
    return 0


if __name__ == "__main__":
    run_cli(main)
