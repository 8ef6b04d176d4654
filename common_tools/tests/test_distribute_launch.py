"""common_tools.launch with plain Python workers (no framework: fast): TF_CONFIG per worker, a
dead worker stops the group with one line naming it, signals reach every worker once."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from common_tools.errors import UserError
from common_tools.launch import free_ports, main, parse_workers, tf_config

WORKER = r'''
import json, os, signal, sys, time
out = sys.argv[1]
cfg = json.loads(os.environ["TF_CONFIG"])
i = cfg["task"]["index"]
got = []
signal.signal(signal.SIGTERM, lambda s, f: got.append("TERM"))
signal.signal(signal.SIGINT, lambda s, f: got.append("INT"))
json.dump(cfg, open(os.path.join(out, f"cfg{i}.json"), "w"))
mode = sys.argv[2]
deadline = time.time() + 30
while time.time() < deadline:
    ready = all(os.path.exists(os.path.join(out, f"cfg{j}.json"))
                for j in range(len(cfg["cluster"]["worker"])))
    if mode == "die" and i == 1 and ready:      # once every worker handles SIGTERM
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "ok":
        sys.exit(0)
    if got:
        open(os.path.join(out, f"sig{i}"), "w").write(",".join(got))
        sys.exit(130)
    time.sleep(0.05)
sys.exit(3)
'''


def _launch(tmp_path, mode, n=2, extra=()):
    script = tmp_path / "w.py"
    script.write_text(WORKER)
    workers = ",".join(f"127.0.0.1:{p}" for p in free_ports(n))
    proc = subprocess.Popen([sys.executable, "-m", "common_tools.launch", "--workers", workers,
                             "--grace", "2", *extra, "--", sys.executable, str(script), str(tmp_path), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, workers.split(",")


def test_each_worker_gets_its_tf_config(tmp_path):
    proc, workers = _launch(tmp_path, "ok", n=3)
    assert proc.wait(timeout=30) == 0
    for i in range(3):
        cfg = json.loads((tmp_path / f"cfg{i}.json").read_text())
        assert cfg == {"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}}


def test_a_dead_worker_stops_the_others_with_one_line_naming_it(tmp_path):
    t0 = time.monotonic()
    proc, workers = _launch(tmp_path, "die", n=3)
    _, err = proc.communicate(timeout=30)
    lines = [line for line in err.splitlines() if line.startswith("launch:")]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"launch: worker 1 ({workers[1]}) killed by SIGKILL")
    assert proc.returncode == 128 + signal.SIGKILL
    assert time.monotonic() - t0 < 15          # not the workers' own 30 s
    assert (tmp_path / "sig0").read_text() == "TERM" and (tmp_path / "sig2").read_text() == "TERM"


def test_sigint_is_forwarded_once_to_every_worker(tmp_path):
    proc, _ = _launch(tmp_path, "wait", n=2)
    deadline = time.time() + 20
    while not all((tmp_path / f"cfg{i}.json").exists() for i in range(2)) and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "launch:" not in err      # a stop asked for is no death
    assert [(tmp_path / f"sig{i}").read_text() for i in range(2)] == ["INT", "INT"]


def test_bad_arguments_are_one_line_errors():
    assert json.loads(tf_config(["a:1", "b:2"], 1))["task"] == {"type": "worker", "index": 1}
    with pytest.raises(UserError, match="not host:port"):
        parse_workers("127.0.0.1")
    with pytest.raises(UserError, match="twice"):
        parse_workers("h:1,h:1")
    with pytest.raises(UserError, match="not this host.*--index"):
        main(["--workers", "127.0.0.1:1,elsewhere.example:2", "--", "true"])
    with pytest.raises(UserError, match="--index 2 is outside 0..1"):
        main(["--workers", "127.0.0.1:1,127.0.0.1:2", "--index", "2", "--", "true"])
    with pytest.raises(UserError, match="no worker command"):
        main(["--workers", "127.0.0.1:1"])
    assert len(set(free_ports(3))) == 3
