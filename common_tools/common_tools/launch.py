"""Start a group of data-parallel workers: ``TF_CONFIG`` per worker, signals forwarded, the group
stopped when one worker dies.

    # two workers on this host (both started here)
    python -m common_tools.launch --workers 127.0.0.1:12345,127.0.0.1:12346 -- python main.py ...
    # two hosts: run on each host with its own --index (the same --workers list everywhere)
    python -m common_tools.launch --workers hostA:12345,hostB:12345 --index 0 -- python main.py ...
    python -m common_tools.launch --workers hostA:12345,hostB:12345 --index 1 -- python main.py ...

Each worker gets ``TF_CONFIG={"cluster": {"worker": [...]}, "task": {"type": "worker", "index": i}}``
(worker 0 is the chief) and runs in its own process group. Ctrl-C / SIGTERM to the launcher are
forwarded once to every worker (so each finishes its step and the chief saves). When a worker
exits with an error or is killed, one line names it, the others get SIGTERM, then SIGKILL after
``--grace`` seconds (a worker blocked in a collective with a dead peer cannot finish its step), and
the launcher exits with that worker's status. No framework is imported here.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Optional, Sequence

from .errors import UserError, run_cli

LOCAL_NAMES = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def parse_workers(text: str) -> list:
    """``"host:port,host:port"`` -> ``["host:port", ...]`` (each checked)."""
    workers = [w.strip() for w in str(text).split(",") if w.strip()]
    if not workers:
        raise UserError("--workers is empty: expected host:port,host:port")
    for w in workers:
        host, _, port = w.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise UserError(f"--workers entry {w!r} is not host:port (e.g. 127.0.0.1:12345)")
    if len(set(workers)) != len(workers):
        raise UserError(f"--workers lists an address twice: {text}")
    return workers


def tf_config(workers: Sequence[str], index: int) -> str:
    """The ``TF_CONFIG`` JSON of worker ``index``."""
    return json.dumps({"cluster": {"worker": list(workers)}, "task": {"type": "worker", "index": index}})


def is_local(host: str) -> bool:
    if host in LOCAL_NAMES or host.startswith("127."):
        return True
    names = {socket.gethostname(), socket.getfqdn()}
    return host in names


def free_ports(n: int, host: str = "127.0.0.1") -> list:
    """``n`` ports free right now on ``host`` (asked of the OS; for tests and local groups)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _describe_status(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class Group:
    """The worker processes started on this host; see the module docstring."""

    def __init__(self, workers: Sequence[str], command: Sequence[str], indices: Sequence[int],
                 grace: float = 10.0, env: Optional[dict] = None, stream=sys.stderr):
        self.workers, self.command, self.indices = list(workers), list(command), list(indices)
        self.grace, self.stream = float(grace), stream
        self.env = dict(os.environ if env is None else env)
        self.procs: dict = {}
        self.forwarded: Optional[int] = None

    def say(self, text: str) -> None:
        print(f"launch: {text}", file=self.stream, flush=True)

    def start(self) -> None:
        for i in self.indices:
            env = dict(self.env, TF_CONFIG=tf_config(self.workers, i))
            self.procs[i] = subprocess.Popen(self.command, env=env, start_new_session=True)

    def _signal(self, sig, indices=None) -> None:
        for i in (self.indices if indices is None else indices):
            proc = self.procs.get(i)
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass

    def _forward(self, signum, frame) -> None:
        if self.forwarded is None:
            self.forwarded = signum
            self._signal(signum)
        elif signum == signal.SIGINT:   # a second Ctrl-C: the workers stop at once, unsaved
            self._signal(signal.SIGINT)

    def stop_others(self, dead: int) -> None:
        others = [i for i in self.indices if i != dead]
        self._signal(signal.SIGTERM, others)
        deadline = time.monotonic() + self.grace
        while time.monotonic() < deadline and any(self.procs[i].poll() is None for i in others):
            time.sleep(0.05)
        self._signal(signal.SIGKILL, others)
        for i in others:
            self.procs[i].wait()

    def wait(self, poll: float = 0.1) -> int:
        """Wait for the group; returns the launcher's exit status."""
        codes: dict = {}
        while len(codes) < len(self.procs):
            ended = {i: p.poll() for i, p in self.procs.items() if i not in codes}
            ended = {i: c for i, c in ended.items() if c is not None}
            codes.update(ended)
            failed = sorted((i for i, c in ended.items() if c != 0), key=lambda i: (ended[i] >= 0, i))
            if failed and self.forwarded is None:
                i, code = failed[0], ended[failed[0]]   # a killed one first: the others follow it
                also = "".join(f"; worker {j} {_describe_status(ended[j])} too" for j in failed[1:])
                self.say(f"worker {i} ({self.workers[i]}) {_describe_status(code)}{also}; stopping "
                         f"the other worker{'s' if len(self.procs) > 2 else ''} of the group")
                self.stop_others(i)
                return code if code > 0 else 128 - code
            time.sleep(poll)
        bad = [c for c in codes.values() if c != 0]
        if not bad:
            return 0
        code = bad[0]
        return code if code > 0 else 128 - code

    def run(self) -> int:
        old = {s: signal.signal(s, self._forward) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            return self.wait()
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            self._signal(signal.SIGKILL)   # nothing outlives the launcher


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m common_tools.launch", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", required=True, help="host:port of every worker, comma separated, "
                                                    "the chief first")
    p.add_argument("--index", type=int, default=None,
                   help="start only worker i here (one host of several); default: all, on this host")
    p.add_argument("--grace", type=float, default=10.0,
                   help="seconds the others get to stop after a worker died, then SIGKILL")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- python main.py ...")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UserError("no worker command: expected -- python main.py ... after the launcher's flags")
    workers = parse_workers(args.workers)
    if args.index is None:
        remote = [w for w in workers if not is_local(w.rpartition(":")[0])]
        if remote:
            raise UserError(f"--workers {remote[0]} is not this host: on several hosts start each "
                            "host's worker with --index i (the same --workers list on every host)")
        indices = list(range(len(workers)))
    else:
        if not 0 <= args.index < len(workers):
            raise UserError(f"--index {args.index} is outside 0..{len(workers) - 1} (--workers has "
                            f"{len(workers)} entries)")
        indices = [args.index]
    return Group(workers, command, indices, grace=args.grace).run()


if __name__ == "__main__":
    run_cli(main)
