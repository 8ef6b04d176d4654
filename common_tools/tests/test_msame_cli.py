"""python -m common_tools.msame: msame's flags in, msame run, one error line and a non-zero exit
when it printed [ERROR] or failed, and a pointer to the runner when there is no msame."""

import os
import stat
import subprocess
import sys

import pytest

from common_tools import msame

# stand-in msame: records its arguments, makes the timestamped folder, prints like msame
RECORDING = """#!/bin/sh
printf '%s\\n' "$@" > "$MSAME_ARGS_FILE"
while [ $# -gt 0 ]; do
  case "$1" in --output) out="$2"; shift;; esac
  shift
done
mkdir -p "$out/20211104_165416"
echo "[INFO] acl init success"
echo "$out/20211104_165416"
echo "Inference time: 1.5ms"
echo "[INFO] Execute sample success"
"""

ERROR_EXIT_0 = """#!/bin/sh
echo "[INFO] acl init success"
echo "[ERROR] input parameter must be folder or file ending in '.bin'"
echo "[INFO] Execute sample success"
exit 0
"""

CRASH = """#!/bin/sh
echo "[INFO] acl init success"
echo "Segmentation fault"
exit 139
"""


def _script(folder, text, name="msame"):
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / name
    exe.write_text(text)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


def _env(tmp_path, path_dirs=(), **extra):
    env = {k: v for k, v in os.environ.items() if k != "MSAME"}
    # keep /bin for sh and mkdir, but never a real msame
    env["PATH"] = os.pathsep.join([*map(str, path_dirs), "/usr/bin", "/bin"])
    env["MSAME_ARGS_FILE"] = str(tmp_path / "args.txt")
    env.update(extra)
    return env


def _cli(args, env):
    return subprocess.run([sys.executable, "-m", "common_tools.msame", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def _in_process(args, monkeypatch, env):
    monkeypatch.delenv("MSAME", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as exc:
        msame.main(args)
    return exc.value.code


def test_flags_pass_through_and_success(tmp_path):
    bindir = tmp_path / "bin"
    _script(bindir, RECORDING)
    out = tmp_path / "out"
    proc = _cli(["--model", "m.om", "--input", "in/a,in/b", "--output", str(out), "--loop", "3",
                 "--device", "1", "--debug", "true", "--dymBatch", "4"], _env(tmp_path, [bindir]))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "args.txt").read_text().split("\n")[:-1] == [
        "--model", "m.om", "--input", "in/a,in/b", "--output", str(out), "--outfmt", "BIN", "--loop", "3",
        "--device", "1", "--debug", "true", "--dymBatch", "4"]
    assert f"msame: outputs in {out}/20211104_165416" in proc.stdout
    assert "Inference time: 1.5ms" in proc.stdout and proc.stderr == ""


def test_error_line_with_exit_0_is_a_failure(tmp_path):
    bindir = tmp_path / "bin"
    _script(bindir, ERROR_EXIT_0)
    proc = _cli(["--model", "m.om", "--output", str(tmp_path / "out")], _env(tmp_path, [bindir]))
    assert proc.returncode == 2
    assert proc.stderr == ("error: msame reported an error (exit 0): [ERROR] input parameter must be "
                           "folder or file ending in '.bin'\n")


def test_crash_with_an_explicit_binary(tmp_path, capsys, monkeypatch):
    exe = _script(tmp_path / "elsewhere", CRASH, name="msame-v2")
    assert _in_process(["--model", "m.om", "--output", str(tmp_path / "out"), "--msame", str(exe)],
                       monkeypatch, _env(tmp_path)) == 2
    assert capsys.readouterr().err == "error: msame failed (exit 139): Segmentation fault\n"


def test_msame_env_var_picks_the_binary(tmp_path, capsys, monkeypatch):
    exe = _script(tmp_path / "elsewhere", RECORDING, name="msame-v2")
    assert _in_process(["--model", "m.om", "--output", str(tmp_path / "out")], monkeypatch,
                       _env(tmp_path, MSAME=str(exe))) == 0
    assert (tmp_path / "args.txt").read_text().startswith("--model\nm.om\n")
    assert capsys.readouterr().out.startswith(f"{exe} --model m.om")


def test_no_msame_points_to_the_runner(tmp_path):
    proc = _cli(["--model", "m.om", "--input", "in/a", "--output", str(tmp_path / "out")], _env(tmp_path))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == ("error: msame is not installed here (not found on PATH); `python -m "
                           "common_tools.runner` takes the same flags on the .onnx\n")
    assert not (tmp_path / "out").exists()


def test_bad_model_output_and_binary_fail_before_msame_runs(tmp_path, capsys, monkeypatch):
    bindir = tmp_path / "bin"
    _script(bindir, RECORDING)
    env = _env(tmp_path, [bindir])
    assert _in_process(["--model", "m.onnx", "--output", str(tmp_path / "out")], monkeypatch, env) == 2
    assert "msame runs .om models only" in capsys.readouterr().err
    (tmp_path / "taken").write_text("")
    assert _in_process(["--model", "m.om", "--output", str(tmp_path / "taken")], monkeypatch, env) == 2
    assert capsys.readouterr().err.startswith(f"error: msame --output {tmp_path / 'taken'} is an existing file")
    assert _in_process(["--model", "m.om", "--output", "o", "--msame", str(tmp_path / "none" / "msame")],
                       monkeypatch, env) == 2
    assert "is not an executable file" in capsys.readouterr().err
    assert _in_process(["--model", "m.om", "--output", "o", "--loop", "0"], monkeypatch, env) == 2
    assert "--loop 0" in capsys.readouterr().err
    assert not (tmp_path / "args.txt").exists()  # msame never started
