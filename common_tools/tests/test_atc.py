import os
import stat

import pytest

from common_tools import atc
from common_tools.errors import UserError

SUCCESS_ATC = """#!/bin/sh
# stand-in for CANN's atc: echo the args, write <output>_linux_x86_64.om as newer CANN does
for arg in "$@"; do
  case "$arg" in --output=*) out="${arg#--output=}";; esac
  echo "arg: $arg"
done
echo "ATC start working now, please wait for a moment."
printf 'om' > "${out}_linux_x86_64.om"
echo "ATC run success, welcome to the next use."
"""

FAILING_ATC = """#!/bin/sh
echo "ATC start working now, please wait for a moment."
echo "W11001: Op [G/Tanh] does not hit the high-priority operator information library"
echo "ATC run failed, Please check the detail log, Try 'atc --help' for more information"
echo "E10001: Value [x1] for parameter [--input_shape] is invalid. Reason: not a graph input."
exit 1
"""

SILENT_ATC = """#!/bin/sh
echo "something went sideways"
exit 0
"""


def _install(tmp_path, monkeypatch, script):
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    exe = bindir / "atc"
    exe.write_text(script)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


def test_read_pb_inputs_and_default_input_shape(pipe_tf_model):
    assert [(n, s, d.name) for n, s, d in atc.read_pb_inputs(pipe_tf_model.pb)] == [
        ("x_real", (1, 8, 8, 3), "float32"), ("c_trg", (1, 2), "float32")]
    cmd = atc.build_atc_command(pipe_tf_model.pb, "om/gen", "Ascend310", input_format="NHWC",
                                out_nodes="G/Tanh:0", output_type="FP32")
    assert cmd == ["atc", f"--model={pipe_tf_model.pb}", "--framework=3", "--output=om/gen",
                   "--soc_version=Ascend310", "--input_shape=x_real:1,8,8,3;c_trg:1,2",
                   "--input_format=NHWC", "--out_nodes=G/Tanh:0", "--output_type=FP32"]


def test_onnx_uses_framework_5_and_its_own_input_names(pipe_tf_model):
    cmd = atc.build_atc_command(pipe_tf_model.onnx, "om/gen", "Ascend310P3")
    assert "--framework=5" in cmd
    assert "--input_shape=x_real:1,8,8,3;c_trg:1,2" in cmd


def test_explicit_options_and_extra(pipe_tf_model):
    cmd = atc.build_atc_command(pipe_tf_model.pb, "o/m", "Ascend910",
                                input_shape={"x_real": (4, 8, 8, 3), "c_trg": [4, 2]},
                                precision_mode="allow_mix_precision", log="info",
                                extra=["op_select_implmode=high_precision"])
    assert cmd[5:] == ["--input_shape=x_real:4,8,8,3;c_trg:4,2", "--precision_mode=allow_mix_precision",
                       "--log=info", "--op_select_implmode=high_precision"]
    given = atc.build_atc_command(pipe_tf_model.pb, "o/m", "Ascend310", input_shape="x1:256,100;x2:256")
    assert "--input_shape=x1:256,100;x2:256" in given
    with pytest.raises(UserError, match="key=value"):
        atc.build_atc_command(pipe_tf_model.pb, "o/m", "Ascend310", extra=["novalue"])
    mindir = pipe_tf_model.root / "g.mindir"
    mindir.write_bytes(b"x")
    with pytest.raises(UserError, match="MindIR"):
        atc.build_atc_command(mindir, "o/m", "Ascend310")


def test_run_atc_success_finds_the_suffixed_om(tmp_path, monkeypatch, pipe_tf_model, capsys):
    _install(tmp_path, monkeypatch, SUCCESS_ATC)
    output = tmp_path / "om" / "gen"
    stale = tmp_path / "om" / "gen.om"  # left over from an earlier conversion
    stale.parent.mkdir()
    stale.write_bytes(b"old")
    os.utime(stale, (1_000_000, 1_000_000))
    cmd = atc.build_atc_command(pipe_tf_model.pb, output, "Ascend310")
    om = atc.run_atc(cmd)
    assert om == f"{output}_linux_x86_64.om" and os.path.isfile(om)
    printed = capsys.readouterr().out
    assert "arg: --input_shape=x_real:1,8,8,3;c_trg:1,2" in printed
    assert "ATC run success" in printed


def test_run_atc_failure_reports_the_e_code(tmp_path, monkeypatch, pipe_tf_model):
    _install(tmp_path, monkeypatch, FAILING_ATC)
    cmd = atc.build_atc_command(pipe_tf_model.pb, tmp_path / "gen", "Ascend310")
    with pytest.raises(UserError, match=r"exit 1\): E10001"):
        atc.run_atc(cmd)


def test_rc0_without_success_line_is_a_failure(tmp_path, monkeypatch, pipe_tf_model):
    _install(tmp_path, monkeypatch, SILENT_ATC)
    with pytest.raises(UserError, match="sideways"):
        atc.run_atc(atc.build_atc_command(pipe_tf_model.pb, tmp_path / "gen", "Ascend310"))


def test_missing_atc_prints_the_command(tmp_path, monkeypatch, pipe_tf_model, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    cmd = atc.build_atc_command(pipe_tf_model.pb, tmp_path / "gen", "Ascend310")
    with pytest.raises(UserError, match="atc not found on PATH.*printed above"):
        atc.run_atc(cmd)
    assert "--framework=3" in capsys.readouterr().out


def test_cli_dry_run_and_help(pipe_tf_model, capsys):
    with pytest.raises(SystemExit) as info:
        atc.main(["--model", str(pipe_tf_model.pb), "--output", "om/gen", "--soc_version", "Ascend310",
                  "--input_format", "NHWC", "--dry_run"])
    assert info.value.code == 0
    assert "'--input_shape=x_real:1,8,8,3;c_trg:1,2'" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        atc.main(["--model", "missing.pb", "--output", "o", "--soc_version", "Ascend310", "--dry_run"])
    assert info.value.code == 2
    assert capsys.readouterr().err.strip() == "error: model for ATC not found: missing.pb"
    with pytest.raises(SystemExit):
        atc.main(["--help"])
    assert "python -m common_tools.atc --model" in capsys.readouterr().out
