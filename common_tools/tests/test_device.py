"""device: NPU/GPU/CPU choice with stand-in npu_device modules, the NpuOptimizer config, MindSpore."""

import argparse
import io
import os
import subprocess
import sys
import types

import pytest

from common_tools import device
from common_tools.errors import UserError


@pytest.fixture
def fresh(monkeypatch):
    """No NPU opened yet and no GPU, whatever machine runs the test."""
    monkeypatch.setattr(device, "_npu", {"opened": False, "precision_mode": None, "handle": None})
    monkeypatch.setattr(device, "_tf_gpus", lambda: [])
    monkeypatch.setattr(device, "_tf_hide_gpus", lambda: None)
    return monkeypatch


def _fake_npu(monkeypatch, open_error=None):
    calls = []

    class Options:
        def __setattr__(self, key, value):
            calls.append(("set", key, value))
            object.__setattr__(self, key, value)

    options = Options()

    class Handle:
        def as_default(self):
            calls.append(("as_default",))
            return self

    def open_():
        calls.append(("open",))
        if open_error:
            raise open_error
        return Handle()

    module = types.ModuleType("npu_device")
    module.global_options = lambda: options
    module.open = open_
    monkeypatch.setitem(sys.modules, "npu_device", module)
    return calls


def test_no_npu_device_means_cpu(fresh):
    fresh.setitem(sys.modules, "npu_device", None)      # import npu_device -> ImportError
    out = io.StringIO()
    assert device.select_device(stream=out) == "cpu"
    assert out.getvalue() == "device: cpu (no npu_device, no GPU visible)\n"
    with pytest.raises(UserError, match="--device npu requested but no npu_device"):
        device.select_device("npu", stream=None)
    with pytest.raises(UserError, match="sees no GPU"):
        device.select_device("gpu", stream=None)
    with pytest.raises(UserError, match="unknown device 'tpu'"):
        device.select_device("tpu", stream=None)


def test_gpu_chosen_when_tensorflow_sees_one(fresh):
    fresh.setitem(sys.modules, "npu_device", None)
    fresh.setattr(device, "_tf_gpus", lambda: ["GPU:0"])
    out = io.StringIO()
    assert device.select_device("auto", stream=out) == "gpu"
    assert device.select_device("cpu", stream=out) == "cpu"
    assert out.getvalue().splitlines() == ["device: gpu (1 visible)", "device: cpu (requested)"]


def test_open_failure_is_said_and_cpu_used(fresh):
    calls = _fake_npu(fresh, open_error=RuntimeError("no davinci device\nmore detail"))
    out = io.StringIO()
    assert device.select_device(stream=out) == "cpu"
    lines = out.getvalue().splitlines()
    assert lines[0] == ("npu_device found but open() failed: RuntimeError: no davinci device; "
                        "using CPU")
    assert lines[1].startswith("device: cpu") and ("open",) in calls
    with pytest.raises(UserError, match="open\\(\\) failed"):
        device.select_device("npu", stream=None)


def test_open_success_sets_options_first(fresh):
    calls = _fake_npu(fresh)
    out = io.StringIO()
    assert device.select_device("npu", precision_mode="allow_mix_precision", stream=out) == "npu"
    assert calls == [("set", "precision_mode", "allow_mix_precision"), ("open",), ("as_default",)]
    assert "device: npu" in out.getvalue()
    assert device.select_device(stream=None) == "npu" and calls.count(("open",)) == 1  # opened once
    assert device.set_mixed_precision(True, "npu") == "allow_mix_precision"
    with pytest.raises(UserError, match="differs from allow_mix_precision"):
        device.set_mixed_precision(True, "npu", precision_mode="force_fp16")


def test_mixed_precision_after_a_default_open_is_a_note(fresh, capsys):
    _fake_npu(fresh)
    assert device.select_device(stream=None) == "npu"
    assert device.set_mixed_precision(True, "npu") == "npu default"
    assert "opened with its default precision_mode" in capsys.readouterr().err
    assert device.set_mixed_precision(False, "npu") == "float32"


def test_mixed_precision_policies(fresh):
    keras = pytest.importorskip("keras")
    assert device.set_mixed_precision(False, "cpu") == "float32"
    try:
        assert device.set_mixed_precision(True, "cpu") == "mixed_bfloat16"
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
        assert device.set_mixed_precision(True, "gpu") == "mixed_float16"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_device_args():
    parser = device.add_device_args(argparse.ArgumentParser())
    args = parser.parse_args(["--device", "cpu", "--mixed_precision", "--precision_mode", "force_fp16"])
    assert (args.device, args.mixed_precision, args.precision_mode) == ("cpu", True, "force_fp16")
    assert parser.parse_args([]).device == "auto"
    with pytest.raises(SystemExit):
        parser.parse_args(["--device", "tpu"])
    assert device.npu_precision_mode(True) == "allow_mix_precision"
    assert device.npu_precision_mode(False) is None


def test_npu_session_config_has_the_npu_optimizer():
    pytest.importorskip("tensorflow")
    from tensorflow.core.protobuf.rewriter_config_pb2 import RewriterConfig

    config = device.npu_session_config(precision_mode="force_fp16", extra={"iterations_per_loop": 10})
    rewrite = config.graph_options.rewrite_options
    (op,) = rewrite.custom_optimizers
    params = op.parameter_map
    assert op.name == "NpuOptimizer"
    assert params["precision_mode"].s == b"force_fp16"
    assert params["dynamic_graph_execute_mode"].s == b"lazy_recompile"
    assert params["dynamic_input"].b is True and params["use_off_line"].b is True
    assert params["mix_compile_mode"].b is False and params["iterations_per_loop"].i == 10
    assert rewrite.remapping == RewriterConfig.OFF
    assert rewrite.memory_optimization == RewriterConfig.OFF


MINDSPORE_CHECK = """
import sys
from common_tools.device import select_device, setup_mindspore
print(select_device("auto", framework="mindspore", stream=None))
print(setup_mindspore("cpu", mode="graph"))
import mindspore
print(mindspore.get_context("device_target"), mindspore.get_context("mode") == mindspore.GRAPH_MODE)
from common_tools.logging import StepLogger
log = StepLogger(sys.argv[1], total_steps=1, stream=None)   # TensorBoard on by default
log.log(1, loss=0.5)
log.close()
print("tensorflow" in sys.modules)
"""


def test_setup_mindspore_cpu_without_tensorflow(tmp_path):
    pytest.importorskip("mindspore")
    env = dict(os.environ, GLOG_v="3")
    result = subprocess.run([sys.executable, "-c", MINDSPORE_CHECK, str(tmp_path)], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["cpu", "CPU", "CPU", "True", "False"]


def test_setup_mindspore_falls_back_to_device_target_on_old_versions(monkeypatch):
    calls = []
    old = types.ModuleType("mindspore")           # a MindSpore < 2.5 stand-in: no set_device
    old.GRAPH_MODE, old.PYNATIVE_MODE = 0, 1
    old.set_context = lambda **kw: calls.append(kw)
    monkeypatch.setitem(sys.modules, "mindspore", old)
    assert device.setup_mindspore("npu", device_id=3, mode="pynative") == "Ascend"
    assert calls == [{"mode": 1}, {"device_target": "Ascend", "device_id": 3}]
    with pytest.raises(UserError, match="unknown MindSpore mode"):
        device.setup_mindspore("cpu", mode="eager")
