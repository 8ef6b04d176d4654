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
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
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
    print(f"Final Performance images/sec : {_fmt(numbers['fps'], 2)}")
    print(f"Final Train Accuracy : {_fmt(numbers['accuracy'], 4)}")
    print(f"E2E Training Duration sec : {_fmt(numbers['e2e_seconds'], 0)}")
    print(f"result file: {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
