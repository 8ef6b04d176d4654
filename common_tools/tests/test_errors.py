"""errors: output-path checks before any work (one UserError line naming the flag), run_cli."""

import errno
import os

import pytest

from common_tools import errors
from common_tools.errors import UserError, check_output_dir, check_output_file, run_cli


def test_output_dir_is_created_and_returned(tmp_path):
    target = tmp_path / "a" / "b" / "c"
    assert check_output_dir(target, what="--out") == str(target)
    assert target.is_dir()
    assert check_output_dir(str(target)) == str(target)  # an existing folder is fine


def test_output_dir_that_is_a_file_or_under_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(UserError, match=r"^--out .*/f is an existing file: expected a folder"):
        check_output_dir(tmp_path / "f", what="--out")
    with pytest.raises(UserError, match=r"^--save_dir .*/f/sub/deeper: .*/f is a file, not a folder$"):
        check_output_dir(tmp_path / "f" / "sub" / "deeper", what="--save_dir")
    assert (tmp_path / "f").read_text() == "x"
    with pytest.raises(UserError, match="is empty"):
        check_output_dir("", what="--out")


def test_output_dir_not_writable(tmp_path, monkeypatch):
    # tests run as root, which writes anywhere: simulate the two ways the OS says no
    real_makedirs, real_access = os.makedirs, os.access
    locked = tmp_path / "locked"
    locked.mkdir()

    def makedirs(path, *args, **kwargs):
        if os.fspath(path).startswith(str(locked)):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_makedirs(path, *args, **kwargs)

    monkeypatch.setattr(os, "makedirs", makedirs)
    with pytest.raises(UserError, match=r"^--out .*locked/new is not writable \(permission denied\)"):
        check_output_dir(locked / "new", what="--out")
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(locked) else real_access(p, mode))
    monkeypatch.setattr(os, "makedirs", real_makedirs)
    with pytest.raises(UserError, match=r"^--out .*locked is not writable"):
        check_output_dir(locked, what="--out")

    def read_only_fs(path, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", os.fspath(path))

    monkeypatch.setattr(os, "makedirs", read_only_fs)
    with pytest.raises(UserError, match=r"^--out .*ro cannot be created \(Read-only file system\)"):
        check_output_dir(tmp_path / "ro", what="--out")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores file modes")
def test_output_dir_not_writable_for_real(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(UserError, match="not writable"):
            check_output_dir(locked / "new", what="--out")
    finally:
        locked.chmod(0o700)


def test_output_file_checks(tmp_path, monkeypatch):
    target = tmp_path / "pb" / "model.pb"
    assert check_output_file(target, what="--pb_path") == str(target)
    assert (tmp_path / "pb").is_dir() and not target.exists()  # the folder is made, the file is not
    with pytest.raises(UserError, match=r"^--pb_path .*/pb is a folder: expected a file path"):
        check_output_file(tmp_path / "pb", what="--pb_path")
    (tmp_path / "f").write_text("x")
    with pytest.raises(UserError, match=r"^--onnx .*/f/m.onnx: .*/f is a file, not a folder$"):
        check_output_file(tmp_path / "f" / "m.onnx", what="--onnx")
    with pytest.raises(UserError, match="not a file name"):
        check_output_file(str(tmp_path) + "/", what="--onnx")
    target.write_bytes(b"old")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(target) else real_access(p, mode))
    with pytest.raises(UserError, match=r"^--pb_path .*model.pb is not writable"):
        check_output_file(target, what="--pb_path")
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(tmp_path / "pb") else real_access(p, mode))
    with pytest.raises(UserError, match=r"^--pb_path .*new.pb: its folder .*/pb is not writable"):
        check_output_file(tmp_path / "pb" / "new.pb", what="--pb_path")


def test_run_cli_prints_one_line_and_exits_2(tmp_path, capsys):
    (tmp_path / "f").write_text("x")

    def main(argv):
        check_output_dir(argv[0], what="--out")
        return 0

    with pytest.raises(SystemExit) as exc:
        run_cli(main, [str(tmp_path / "f")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: --out {tmp_path / 'f'} is an existing file")
    with pytest.raises(SystemExit) as exc:
        run_cli(main, [str(tmp_path / "ok")])
    assert exc.value.code == 0
    with pytest.raises(UserError, match="model not found: nope"):
        errors.require_file("nope", "model")


def test_run_cli_warnings_are_one_line():
    import subprocess
    import sys

    code = ("import warnings\nfrom common_tools.errors import run_cli\n"
            "def main(argv):\n    warnings.warn('bright idea\\nsecond line', UserWarning)\n    return 0\n"
            "run_cli(main)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: bright idea ("), proc.stderr
