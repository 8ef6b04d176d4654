import os
import stat

import pytest

from common_tools import msame
from common_tools.errors import UserError

FOLDER_MODE_LOG = """[INFO] acl init success
[INFO] open device 0 success
[INFO] load model ./om/STGAN.om success
./out/20211104_165416
[INFO] start to process file:./bin/input1/000001.bin
Inference time: 7.507ms
[INFO] output data success
Inference time: 7.25ms
[INFO] output data success
Inference average time : 7.38 ms
Inference average time without first time: 7.25 ms
[INFO] Execute sample success
"""

STAND_IN = """#!/bin/sh
# stand-in msame: create <output>/20211104_165416, print like msame (file mode), exit 0
while [ $# -gt 0 ]; do
  case "$1" in --output) out="$2"; shift;; esac
  shift
done
mkdir -p "$out/20211104_165416"
printf 'x' > "$out/20211104_165416/model_output_0.bin"
echo "[INFO] acl init success"
echo "$out/20211104_165416"
echo "Inference time: 1.5ms"
echo "Inference time: 2.5ms"
echo "Inference average time: 2.000000 ms"
echo "[INFO] Execute sample success"
"""

ERRORING = """#!/bin/sh
echo "[INFO] acl init success"
echo "[ERROR] input parameter must be folder or file ending in '.bin'"
exit 0
"""


def _install(tmp_path, monkeypatch, script):
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    exe = bindir / "msame"
    exe.write_text(script)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


def test_build_command_joins_inputs_and_adds_extra():
    cmd = msame.build_msame_command("msame", "m.om", ["in/a", "in/b"], "out", outfmt="TXT", loop=5,
                                    device=1, extra={"dymBatch": 4})
    assert cmd == ["msame", "--model", "m.om", "--input", "in/a,in/b", "--output", "out",
                   "--outfmt", "TXT", "--loop", "5", "--device", "1", "--dymBatch", "4"]
    zeros = msame.build_msame_command("msame", "m.om", None, "out")
    assert "--input" not in zeros and zeros[-4:] == ["--loop", "1", "--device", "0"]
    with pytest.raises(UserError, match="msame-onnx"):
        msame.build_msame_command("msame", "m.onnx", None, "out")


def test_parse_folder_mode_output():
    parsed = msame.parse_msame_output(FOLDER_MODE_LOG)
    assert parsed == {"times_ms": [7.507, 7.25], "average_ms": 7.38,
                      "output_dir": "./out/20211104_165416", "errors": []}


def test_parse_finds_errors_and_newer_folder_names():
    text = "/data/out/2024115_9_5_3_123456\nInference average time: 3.250000 ms\n  [ERROR] model execute failed\n"
    parsed = msame.parse_msame_output(text)
    assert parsed["output_dir"] == "/data/out/2024115_9_5_3_123456"
    assert parsed["average_ms"] == 3.25
    assert parsed["errors"] == ["[ERROR] model execute failed"]
    assert msame.parse_msame_output("")["output_dir"] is None


def test_run_msame_with_a_stand_in(tmp_path, monkeypatch, capsys):
    _install(tmp_path, monkeypatch, STAND_IN)
    result = msame.run_msame("m.om", tmp_path / "out", inputs=["a.bin"], loop=2)
    assert result["times_ms"] == [1.5, 2.5] and result["average_ms"] == 2.0
    assert result["output_dir"] == f"{tmp_path / 'out'}/20211104_165416"
    assert msame.latest_output_dir(tmp_path / "out") == result["output_dir"]
    assert "--loop 2" in capsys.readouterr().out


def test_error_line_with_exit_0_raises(tmp_path, monkeypatch):
    _install(tmp_path, monkeypatch, ERRORING)
    with pytest.raises(UserError, match=r"exit 0\): \[ERROR\] input parameter must be folder"):
        msame.run_msame("m.om", tmp_path / "out", inputs=["x"])


def test_missing_msame_prints_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(UserError, match="msame not found on PATH"):
        msame.run_msame("m.om", tmp_path / "out")
    assert capsys.readouterr().out.startswith("msame --model m.om --output")


def test_latest_output_dir_by_mtime_then_name(tmp_path):
    root = tmp_path / "out"
    for name, mtime in [("20211104_165416", 2000), ("20211104_165417", 1000), ("b_same", 3000),
                        ("a_same", 3000), (".hidden", 9000)]:
        (root / name).mkdir(parents=True)
        os.utime(root / name, (mtime, mtime))
    (root / "file.bin").write_bytes(b"")
    assert msame.latest_output_dir(root) == str(root / "b_same")
    os.utime(root / "20211104_165416", (5000, 5000))
    assert msame.latest_output_dir(root) == str(root / "20211104_165416")


def test_latest_output_dir_errors_name_the_root(tmp_path):
    with pytest.raises(UserError, match="no output subfolder in .*empty"):
        (tmp_path / "empty").mkdir()
        msame.latest_output_dir(tmp_path / "empty")
    with pytest.raises(UserError, match="not found: .*nowhere"):
        msame.latest_output_dir(tmp_path / "nowhere")
