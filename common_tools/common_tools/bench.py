"""Benchmark harness: one child process per configuration, its peak RSS, medians, JSON + Markdown.

A model's ``bench.py`` holds only its configurations, its worker functions and its table layout::

    from common_tools.bench import Config, bench_main, entries, markdown_table, median_time
    from common_tools.errors import run_cli

    def worker_train(size: int, repeats: int) -> dict:       # runs in a child process
        step = build_step(size)
        return {"d_only": median_time(lambda: step(train_g=False), repeats)}  # min/median/max s

    def configurations(args):
        return [Config(f"train {s} px", "bench:worker_train", {"size": s, "repeats": 5}, group="train")
                for s in ([64] if args.quick else [64, 128])]

    def table(result):
        rows = [[e["name"], e["result"]["d_only"]["median"]]
                for e in entries(result, "train", ok_only=True)]
        return markdown_table(["configuration", "D-only s/it"], rows)

    if __name__ == "__main__":
        run_cli(lambda argv: bench_main("mygan", "MyGAN speed and memory", configurations,
                                        table=table, folder=os.path.dirname(os.path.abspath(__file__)),
                                        argv=argv))

``python bench.py --out runs/bench`` then writes ``runs/bench/mygan.json`` and ``mygan.md``.

Each configuration runs as ``python -m common_tools.bench --child MODULE:FUNCTION JSON_KWARGS
--result FILE`` with its working directory (and so ``sys.path[0]``) the model folder, so
``bench:worker_train`` imports the model's own bench.py there. The function returns a dict
(JSON-able). Its peak RSS is ``ru_maxrss`` from ``os.wait4`` of that child. Linux carries the
launching process's high-water mark over ``exec``, so a small launcher (a bare interpreter, a few
MB) forks the child: the figure is then the child's own, never the parent's. Every child gets a
fresh ``TMPDIR`` inside one temporary folder that is removed when the run ends, whatever happens,
so ``tempfile`` use in a worker never leaks. A child that fails (an exception, a non-zero exit, a
timeout) becomes an error entry with the last line it printed; the other configurations still run.

``<out>/<model>.json``::

    {"schema": 1, "model", "title", "command", "date" (UTC), "machine": {cpus, processor, platform, ...},
     "entries": [{"name", "group", "worker", "kwargs", "status": "ok"|"error",
                  "result": {...} (ok) | "error": "one line" (error), "seconds", "peak_rss_mb"}],
     "reference": {...}, "notes": [...]}

``<out>/<model>.md``: a title, the machine, the command, the model's table, then one row per
configuration with its status, wall seconds and peak RSS.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from .errors import UserError, check_output_dir, run_cli
from .stages import clean_value

SCHEMA = 1

# The launcher: a bare interpreter forks the child, waits for it with os.wait4 (killing it after
# the timeout, if any) and writes {"exit", "maxrss", "timed_out"} to argv[1].
_LAUNCHER = r"""
import json, os, sys, time
out, timeout, argv = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
pid = os.fork()
if pid == 0:
    try:
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
deadline = time.monotonic() + timeout if timeout > 0 else None
timed_out = False
while True:
    wpid, status, usage = os.wait4(pid, os.WNOHANG if deadline else 0)
    if wpid:
        break
    if time.monotonic() > deadline:
        os.kill(pid, 9)
        timed_out = True
        _, status, usage = os.wait4(pid, 0)
        break
    time.sleep(0.02)
with open(out, "w") as f:
    json.dump({"exit": os.waitstatus_to_exitcode(status), "maxrss": usage.ru_maxrss,
               "timed_out": timed_out}, f)
"""


@dataclass(frozen=True)
class Config:
    """One benchmark configuration: one child process."""

    name: str                                   # row label, unique in a bench: "train 64 px fp32"
    worker: str                                 # "module:function" importable in the child's folder
    kwargs: dict = field(default_factory=dict)  # the function's keyword arguments (JSON-able)
    group: str = ""                             # which table it belongs to: "train", "infer", ...
    env: dict = field(default_factory=dict)     # extra environment variables for the child
    timeout_s: Optional[float] = None           # kill the child after this long (None: no limit)


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 1,
                clock: Callable[[], float] = time.perf_counter) -> dict:
    """Call ``fn`` ``warmup`` times untimed-for-the-median, then ``repeats`` times.

    Returns ``{"min", "median", "max"}`` seconds over the timed calls, plus ``"repeats"`` and
    ``"warmup_s"`` (the seconds the warm-up calls took: tracing, compiling).
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"median_time needs repeats >= 1 and warmup >= 0 (got {repeats}, {warmup})")
    t = clock()
    for _ in range(warmup):
        fn()
    warm = clock() - t
    times = []
    for _ in range(repeats):
        t = clock()
        fn()
        times.append(clock() - t)
    return {"min": min(times), "median": statistics.median(times), "max": max(times),
            "repeats": repeats, "warmup_s": warm}


def machine_info() -> dict:
    """CPUs, processor, platform, Python, memory and load of this machine (for the bench header)."""
    info = {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "platform": platform.platform(), "python": platform.python_version()}
    if hasattr(os, "sched_getaffinity"):
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    try:
        with open("/proc/meminfo") as f:
            kb = next(int(line.split()[1]) for line in f if line.startswith("MemTotal:"))
        info["memory_gb"] = round(kb / 1024 ** 2, 1)
    except (OSError, StopIteration, ValueError):
        pass
    if hasattr(os, "getloadavg"):
        info["load_avg_1min"] = round(os.getloadavg()[0], 2)
    return info


def _maxrss_mb(maxrss: int) -> float:
    return maxrss / 1024 ** 2 if sys.platform == "darwin" else maxrss / 1024  # bytes / KiB


def _last_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [line.strip() for line in f.read().splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def run_child(worker: str, kwargs: Optional[dict] = None, *, cwd: Optional[str] = None,
              env: Optional[dict] = None, timeout_s: Optional[float] = None,
              tmp_root: Optional[str] = None, name: str = "", group: str = "") -> dict:
    """Run ``worker(**kwargs)`` in a child process; returns its entry (see the module docstring).

    ``tmp_root``: the folder for this child's files (removed with it); default a new temporary
    folder, removed before returning.
    """
    if not hasattr(os, "fork") or not hasattr(os, "wait4"):
        raise UserError("common_tools.bench needs a POSIX system (os.fork and os.wait4)")
    kwargs = dict(kwargs or {})
    entry = {"name": name or worker, "group": group, "worker": worker,
             "kwargs": clean_value(kwargs)}
    own = tmp_root is None
    root = tempfile.mkdtemp(prefix="bench_") if own else tmp_root
    try:
        scratch = os.path.join(root, "tmp")
        os.makedirs(scratch, exist_ok=True)
        result_path, wait_path = os.path.join(root, "result.json"), os.path.join(root, "wait.json")
        output_path = os.path.join(root, "output.txt")
        child = [sys.executable, "-m", "common_tools.bench", "--child", worker,
                 json.dumps(entry["kwargs"]), "--result", result_path]
        launcher = [sys.executable, "-S", "-c", _LAUNCHER, wait_path, str(timeout_s or 0), *child]
        child_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {}),
                     "TMPDIR": scratch, "TEMP": scratch, "TMP": scratch}
        t = time.perf_counter()
        with open(output_path, "w") as out:
            proc = subprocess.Popen(launcher, cwd=cwd, env=child_env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                proc.wait()
            except BaseException:            # Ctrl-C: take the launcher and the child down
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise
        entry["seconds"] = round(time.perf_counter() - t, 3)
        try:
            with open(wait_path) as f:
                waited = json.load(f)
        except (OSError, ValueError):
            waited = {"exit": proc.returncode, "maxrss": 0, "timed_out": False}
        entry["peak_rss_mb"] = round(_maxrss_mb(waited["maxrss"]), 1)
        if waited["timed_out"]:
            entry.update(status="error", error=f"timed out after {timeout_s} s")
        elif waited["exit"] != 0 or not os.path.isfile(result_path):
            last = _last_line(output_path)
            entry.update(status="error",
                         error=f"exit {waited['exit']}" + (f": {last}" if last else ""))
        else:
            with open(result_path, encoding="utf-8") as f:
                entry.update(status="ok", result=json.load(f))
        return entry
    finally:
        if own:
            import shutil

            shutil.rmtree(root, ignore_errors=True)


def run_configs(configs: Sequence[Config], *, cwd: Optional[str] = None,
                timeout_s: Optional[float] = None, stream=sys.stderr) -> list:
    """Run each configuration in its own child (in order); one line per configuration on
    ``stream``. All children's files live in one temporary folder, removed at the end."""
    names = [c.name for c in configs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"configuration names must be unique: {', '.join(dup)}")
    entries = []
    with tempfile.TemporaryDirectory(prefix="bench_") as root:
        for i, cfg in enumerate(configs):
            if stream is not None:
                print(f"bench [{i + 1}/{len(configs)}] {cfg.name} ...", file=stream, flush=True)
            child_root = os.path.join(root, f"{i:03d}")
            os.makedirs(child_root)
            entry = run_child(cfg.worker, cfg.kwargs, cwd=cwd, env=cfg.env, name=cfg.name,
                              group=cfg.group, tmp_root=child_root,
                              timeout_s=cfg.timeout_s if cfg.timeout_s is not None else timeout_s)
            entries.append(entry)
            if stream is not None:
                what = "ok" if entry["status"] == "ok" else f"error: {entry['error']}"
                print(f"bench [{i + 1}/{len(configs)}] {cfg.name}: {what} "
                      f"({entry['seconds']:.1f} s, peak RSS {entry['peak_rss_mb']:.0f} MB)",
                      file=stream, flush=True)
    return entries


def entries(result: dict, group: Optional[str] = None, ok_only: bool = False) -> list:
    """The entries of a bench result, optionally of one group and/or only the successful ones."""
    return [e for e in result["entries"] if (group is None or e.get("group") == group)
            and (not ok_only or e["status"] == "ok")]


def fmt(value, digits: int = 3) -> str:
    """A table cell: floats rounded to ``digits`` significant digits, None as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    """``| a | b |`` rows under a header line; cells go through :func:`fmt`."""
    lines = ["| " + " | ".join(map(str, headers)) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(c if isinstance(c, str) else fmt(c) for c in row) + " |"
              for row in rows]
    return "\n".join(lines) + "\n"


def flatten_figures(value, prefix: str = "") -> list:
    """``{"a": {"b": 1}}`` -> ``[("a.b", 1)]``."""
    if isinstance(value, dict):
        return [kv for k, v in value.items()
                for kv in flatten_figures(v, f"{prefix}.{k}" if prefix else k)]
    return [(prefix, value)]


def default_table(result: dict) -> str:
    """Every figure of every successful entry: | configuration | figure | value |."""
    rows = [[e["name"], k, v] for e in entries(result, ok_only=True)
            for k, v in flatten_figures(e["result"])]
    return markdown_table(["configuration", "figure", "value"], rows)


def markdown(result: dict, table: Optional[Callable[[dict], str]] = None) -> str:
    """The whole <model>.md: title, machine, command, the model's table, the per-child rows."""
    m = result["machine"]
    body = (table or default_table)(result)
    runs = [[e["name"], e["status"] if e["status"] == "ok" else f"error: {e['error']}",
             e["seconds"], e["peak_rss_mb"]] for e in result["entries"]]
    parts = [f"# {result['title']}", "",
             f"{m['cpus']} CPUs, {m['processor']}, {m['platform']}; {result['date']}", "",
             f"`{result['command']}`", "", body.rstrip("\n"), ""]
    parts += [f"- {n}" for n in result.get("notes", [])] + ([""] if result.get("notes") else [])
    parts += ["Each configuration ran in its own process (peak RSS: wait4 ru_maxrss).", "",
              markdown_table(["configuration", "status", "wall s", "peak RSS MB"], runs)]
    return "\n".join(parts)


def write_results(out_dir: str, result: dict, table: Optional[Callable[[dict], str]] = None) -> tuple:
    """Write ``<out_dir>/<model>.json`` and ``.md``; returns both paths."""
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.join(out_dir, result["model"])
    with open(base + ".json", "w", encoding="utf-8") as f:
        json.dump(clean_value(result), f, indent=2, allow_nan=False)
        f.write("\n")
    with open(base + ".md", "w", encoding="utf-8") as f:
        f.write(markdown(result, table))
    return base + ".json", base + ".md"


def run_bench(model: str, title: str, configs: Sequence[Config], out_dir: str, *,
              cwd: Optional[str] = None, table: Optional[Callable[[dict], str]] = None,
              command: Optional[str] = None, reference: Optional[dict] = None,
              notes: Sequence[str] = (), timeout_s: Optional[float] = None,
              stream=sys.stderr) -> dict:
    """Run the configurations, write ``<out_dir>/<model>.json`` and ``.md``; returns the result."""
    from .stages import script_command

    result = {"schema": SCHEMA, "model": model, "title": title,
              "command": command or script_command(),
              "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
              "machine": machine_info(), "entries": [],
              "reference": reference or {}, "notes": list(notes)}
    result["entries"] = run_configs(configs, cwd=cwd, timeout_s=timeout_s, stream=stream)
    result["files"] = list(write_results(out_dir, result, table))
    return result


def bench_main(model: str, title: str, configurations: Callable[[argparse.Namespace], list], *,
               table: Optional[Callable[[dict], str]] = None, folder: Optional[str] = None,
               add_arguments: Optional[Callable[[argparse.ArgumentParser], None]] = None,
               reference: Optional[dict] = None, notes: Sequence[str] = (),
               description: Optional[str] = None, argv: Optional[Sequence[str]] = None) -> int:
    """The CLI of a model's bench.py: ``--out`` (required), ``--quick``, ``--only``, ``--timeout``
    plus the model's own arguments; ``configurations(args)`` lists what to run.

    Returns 0, or 1 when a configuration failed (after writing everything).
    """
    parser = argparse.ArgumentParser(description=description or title,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help=f"folder for {model}.json and {model}.md")
    parser.add_argument("--quick", action="store_true",
                        help="the smallest configurations, one repeat: checks that it all runs")
    parser.add_argument("--only", nargs="+", metavar="TEXT",
                        help="run only configurations whose name contains one of these")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds before a configuration is killed (default: no limit)")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    check_output_dir(args.out, what="--out")                  # fail now, not after the runs
    configs = list(configurations(args))
    if args.only:
        configs = [c for c in configs if any(t in c.name for t in args.only)]
        if not configs:
            raise UserError(f"--only {' '.join(args.only)} matches no configuration")
    from .stages import script_command

    result = run_bench(model, title, configs, args.out, cwd=folder, table=table,
                       command=script_command(argv), reference=reference, notes=notes,
                       timeout_s=args.timeout)
    print(markdown(result, table))
    failed = [e["name"] for e in result["entries"] if e["status"] != "ok"]
    print(f"bench: wrote {' and '.join(result['files'])}", file=sys.stderr)
    if failed:
        print(f"bench: {len(failed)} configuration(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


# --- data parallel: 1 worker vs 2 workers -------------------------------------------------------
# A model's bench.py keeps its own worker (what one process of the group trains and times) and
# passes it by name; the launching, the configurations and the ratio table are these::
#
#     def dp_worker(out, batch, warmup, steps):             # one process of the group
#         pin_one_thread()
#         dist, step = build_distributed_step(batch)        # the model's own
#         seconds = timed_iterations(lambda i: step(i), warmup, steps)
#         write_worker_record(out, dist.worker_index, {"global_batch": ..., "steps": steps,
#                                                      "seconds": seconds})
#
#     def worker_distributed(workers, batch, warmup, steps):   # a Config's worker
#         return worker_group(FOLDER, "bench:dp_worker", workers, batch, warmup, steps)
#
#     configurations = ... + distributed_configs("bench:worker_distributed", args.quick)
#     table = ... + ratio_table(result, what="tiny networks")

ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}
DIST_LABEL = "2 processes on one 2-core CPU (1 thread each, gRPC over 127.0.0.1); not a multi-host figure"


def pin_one_thread() -> None:
    """1 intra-op and 1 inter-op TensorFlow thread in this process (call before building anything)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def timed_iterations(step: Callable[[int], object], warmup: int, steps: int,
                     clock: Callable[[], float] = time.perf_counter) -> float:
    """``step(i)`` for i in [0, warmup) untimed (tracing, the collectives' set-up), then the
    seconds that i in [warmup, warmup + steps) took (``step`` must return after its work is done)."""
    for i in range(warmup):
        step(i)
    t = clock()
    for i in range(warmup, warmup + steps):
        step(i)
    return clock() - t


def write_worker_record(out: str, worker_index: int, record: dict) -> str:
    """``<out>/worker-<index>.json`` (what :func:`worker_group` reads back from the chief)."""
    path = os.path.join(out, f"worker-{worker_index}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(record, f)
    return path


def worker_group(folder: str, worker: str, workers: int, batch: int, warmup: int, steps: int, *,
                 images_key: str = "global_batch") -> dict:
    """``workers`` processes of ``worker`` ("module:function" importable in ``folder``, called as
    ``function(out=..., batch=..., warmup=..., steps=...)``) through ``python -m
    common_tools.launch`` on 127.0.0.1, 1 thread each. Returns the chief's record plus
    ``s_per_iteration`` and ``images_per_s`` (``record[images_key]`` images per iteration)."""
    from .launch import free_ports

    module, func = worker.split(":")
    out = tempfile.mkdtemp()               # in the harness's TMPDIR, removed with it
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    code = (f"import importlib, json, sys; sys.path.insert(0, {folder!r}); "
            f"getattr(importlib.import_module({module!r}), {func!r})(**json.loads(sys.argv[1]))")
    kwargs = json.dumps({"out": out, "batch": batch, "warmup": warmup, "steps": steps})
    addresses = ",".join(f"127.0.0.1:{p}" for p in free_ports(workers))
    proc = subprocess.run([sys.executable, "-m", "common_tools.launch", "--workers", addresses, "--",
                           sys.executable, "-c", code, kwargs], cwd=folder, capture_output=True,
                          text=True, env={**os.environ, **ONE_THREAD})
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        raise RuntimeError(f"{workers} worker(s) failed: {lines[-1] if lines else proc.returncode}")
    with open(os.path.join(out, "worker-0.json"), encoding="utf-8") as f:
        r = json.load(f)
    return {**r, "per_replica_batch": batch, "s_per_iteration": r["seconds"] / steps,
            "images_per_s": r[images_key] * steps / r["seconds"], "load_avg_1min_at_start": load,
            "threads_per_worker": 1}


def distributed_configs(worker: str, quick: bool, batch: int = 8, group: str = "distributed") -> list:
    """1 worker and 2 workers of ``worker`` (a :func:`worker_group` wrapper, "module:function"),
    the same per-replica batch, 1 thread each; their names hold "distributed" (``--only distributed``)."""
    warmup, steps = (2, 4) if quick else (4, 30)
    return [Config(f"distributed: {n} worker{'s' if n > 1 else ''}", worker,
                   {"workers": n, "batch": batch, "warmup": warmup, "steps": steps}, group=group,
                   env=ONE_THREAD) for n in (1, 2)]


def ratio_table(result: dict, what: str, s_header="s/iteration", group: str = "distributed") -> str:
    """The 1-vs-2-workers rows and their throughput ratio, labelled with what ran (``what``, e.g.
    "tiny networks") and :data:`DIST_LABEL`; empty when neither ran. ``s_header`` is the
    s/iteration column's header, or a function of the fewest-workers run's result returning it."""
    runs = {e["kwargs"]["workers"]: e["result"] for e in entries(result, group, ok_only=True)}
    if not runs:
        return ""
    rows = [[n, r["global_batch"], round(r["s_per_iteration"], 4), round(r["images_per_s"], 1),
             r["load_avg_1min_at_start"]] for n, r in sorted(runs.items())]
    header = s_header(runs[min(runs)]) if callable(s_header) else s_header
    text = markdown_table(["workers", "global batch", header, "images/s", "load avg at start"], rows)
    if 1 in runs and 2 in runs:
        text += (f"2 workers / 1 worker throughput: {runs[2]['images_per_s'] / runs[1]['images_per_s']:.2f}x "
                 f"({what}, per-replica batch {runs[1]['per_replica_batch']}, "
                 f"{runs[1]['steps']} timed iterations). {DIST_LABEL}.\n")
    return text


# the child side -----------------------------------------------------------------------------
def _child_main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m common_tools.bench",
                                     description="Run one bench worker (the harness starts this).")
    parser.add_argument("--child", required=True, metavar="MODULE:FUNCTION")
    parser.add_argument("kwargs", help="the function's keyword arguments as a JSON object")
    parser.add_argument("--result", required=True, help="where to write the returned dict (JSON)")
    args = parser.parse_args(argv)
    module_name, sep, func_name = args.child.partition(":")
    if not sep or not module_name or not func_name:
        raise UserError(f"worker must be MODULE:FUNCTION (got {args.child!r})")
    try:
        kwargs = json.loads(args.kwargs)
    except json.JSONDecodeError as exc:
        raise UserError(f"worker arguments are not valid JSON ({exc.msg}): {args.kwargs}") from None
    if not isinstance(kwargs, dict):
        raise UserError(f"worker arguments must be a JSON object (got {args.kwargs})")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    fn = getattr(importlib.import_module(module_name), func_name, None)
    if not callable(fn):
        raise UserError(f"{module_name} has no function {func_name} (cwd {os.getcwd()})")
    result = fn(**kwargs)
    if not isinstance(result, dict):
        raise UserError(f"{args.child} returned {type(result).__name__}, expected a dict")
    tmp = args.result + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(clean_value(result), f, allow_nan=False)
    os.replace(tmp, args.result)
    return 0


if __name__ == "__main__":
    run_cli(_child_main)
