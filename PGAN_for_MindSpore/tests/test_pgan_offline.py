"""The card's offline flow on a tiny 8x8 generator: scripts/run_infer_310.sh on the ONNX export (noise
bins -> the msame-compatible runner -> result_Files/generated_N.png, time_Result/), the images and raw
outputs against MindSpore's G (parity), the MindIR branch saying it needs Ascend (with the command it
would run), and the launcher's bad inputs. The exports are made once, in-process."""

import os
import subprocess

import mindspore as ms
import numpy as np
import pytest
from PIL import Image

from common_tools.errors import UserError
from common_tools.export import parity_report

FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(FOLDER, "scripts", "run_infer_310.sh")
BATCH, LATENT = 4, 8


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(folder, G): AvG_5.ckpt of an 8x8 generator with random weights, PGAN.onnx and PGAN.mindir (batch 4)."""
    from common_tools.ms_checkpoint import save_cell
    from pgan.inference import load_generator
    from pgan.network_G import Generator

    folder = tmp_path_factory.mktemp("export")
    previous = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        ms.set_seed(3)
        save_cell(Generator(depths=(8, 4), latent_dim=LATENT, num_scales=2, conv_form="native"),
                  str(folder / "AvG_5.ckpt"))
        G, _ = load_generator(str(folder / "AvG_5.ckpt"), conv_form="native")
        z, alpha = ms.Tensor(np.zeros((BATCH, LATENT), np.float32)), ms.Tensor(np.float32(0.0))
        for fmt in ("ONNX", "MINDIR"):
            ms.export(G, z, alpha, file_name=str(folder / "PGAN"), file_format=fmt)
    finally:
        ms.set_context(mode=previous)
    return folder, G


def _infer(cwd, *args, check=True):
    proc = subprocess.run(["bash", SCRIPT, *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr[-1500:]
    return proc


def _online(G, z):
    previous = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        return np.concatenate([G(ms.Tensor(z[i:i + BATCH]), ms.Tensor(np.float32(0.0))).asnumpy()
                               for i in range(0, len(z), BATCH)])
    finally:
        ms.set_context(mode=previous)


def test_model_signature_from_either_export(exported):
    from pgan.offline import model_signature

    folder, _ = exported
    for ext in ("onnx", "mindir"):
        sig = model_signature(str(folder / f"PGAN.{ext}"))
        assert (sig["batch"], sig["latent_dim"], sig["resolution"]) == (BATCH, LATENT, 8), ext
        assert [(n, s) for n, s, _ in sig["inputs"]] == [("z", [BATCH, LATENT]), ("alpha", [])]
    with pytest.raises(UserError, match="expected the .mindir or .onnx"):
        model_signature(str(folder / "AvG_5.ckpt"))


def test_run_infer_310_on_the_onnx_export(exported, tmp_path):
    from pgan.inference import noise
    from pgan.offline import read_images, to_uint8

    folder, G = exported
    proc = _infer(tmp_path, str(folder / "PGAN.onnx"), "y", "10")
    assert "common_tools.runner" in proc.stdout and "wrote 10 images" in proc.stdout
    names = sorted(os.listdir(tmp_path / "result_Files"), key=lambda n: int(n[10:-4]))
    assert names == [f"generated_{n}.png" for n in range(10)]     # 3 inferences of 4, the first 10 kept
    assert len(os.listdir(tmp_path / "preprocess_Result" / "z")) == 3
    timing = (tmp_path / "time_Result" / "test_perform_static.txt").read_text()
    assert "average time" in timing and "infer_count 3" in timing

    z = noise(12, LATENT, seed=1)                     # the card's eval noise: the same first faces as eval.py
    online = _online(G, z)[:10]
    runner, _ = read_images(tmp_path / "preprocess_Result", tmp_path / "result_bin")
    report = parity_report({"mindspore": [online], "onnxruntime": [runner]})["mindspore vs onnxruntime"]
    assert np.abs(online).max() > 0.01 and report["max_abs"][0] < 1e-4, report
    pngs = np.stack([np.asarray(Image.open(tmp_path / "result_Files" / n)) for n in names])
    assert pngs.shape == (10, 8, 8, 3)
    assert np.abs(pngs.astype(int) - to_uint8(online).astype(int)).max() <= 1
    assert pngs.reshape(10, -1).std(axis=0).mean() > 1.0          # ten different faces


def test_mindir_needs_ascend_and_says_the_command(exported, tmp_path):
    folder, _ = exported
    env_has_ascend = os.environ.get("ASCEND_HOME_PATH") or os.path.isdir("/usr/local/Ascend")
    if env_has_ascend:
        pytest.skip("an Ascend toolkit is installed here")
    proc = _infer(tmp_path, str(folder / "PGAN.mindir"), "y", "4", "0", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"--mindir_path={folder / 'PGAN.mindir'}" in proc.stdout and "--device_id=0" in proc.stdout
    assert proc.stderr.strip().count("\n") == 0 and "no Ascend toolkit here" in proc.stderr
    assert not (tmp_path / "result_Files").exists()


def test_ascend_program_takes_the_launchers_flags_and_writes_what_postprocess_reads():
    """ascend310_infer/src/main.cc cannot be built here (no Ascend, no MindSpore C++ headers); what can
    be checked is the contract between it, run_infer_310.sh and postprocess.py: every flag the script
    passes is one the program requires or accepts, its time line matches the parser's pattern, and
    its outputs are named <name>_output_<i>.bin."""
    import re

    from pgan.offline import _TIME_LINE

    with open(SCRIPT) as f:
        script = f.read()
    with open(os.path.join(FOLDER, "ascend310_infer", "src", "main.cc")) as f:
        program = f.read()
    command = script[script.index("MINDIR_CMD=("):script.index(")", script.index("--device_id"))]
    passed = set(re.findall(r'"--(\w+)=', command))
    assert passed == {"mindir_path", "input0_path", "input1_path", "result_path", "device_id"}
    required = set(re.findall(r'"(\w+_path)"', program[program.index("for (const char *key"):]))
    assert required == passed - {"device_id"} and '{"device_id", "0"}' in program   # optional, default 0
    printed = re.search(r'"(Inference time: )" << ms << " (ms)"', program)
    assert printed and _TIME_LINE.search(f"{printed.group(1)}12.5 {printed.group(2)}").group(1) == "12.5"
    assert '"_output_" + std::to_string(j) + ".bin"' in program
    assert os.access(os.path.join(FOLDER, "ascend310_infer", "build.sh"), os.R_OK)


def test_launcher_bad_inputs(exported, tmp_path):
    folder, _ = exported
    onnx = str(folder / "PGAN.onnx")
    cases = [
        ([onnx, "y"], "usage:"),
        ([str(tmp_path / "none.onnx"), "y", "4"], "not found"),
        ([onnx, "maybe", "4"], "NEED_PREPROCESS must be y or n"),
        ([onnx, "y", "0"], "NIMAGES must be a positive integer"),
        ([str(folder / "AvG_5.ckpt"), "y", "4"], "expected the .mindir"),
        ([onnx, "n", "4"], "run once with y"),
    ]
    for args, message in cases:
        proc = _infer(tmp_path, *args, check=False)
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)


def test_outputs_of_another_model_are_refused(exported, tmp_path):
    from common_tools.runner import run

    from pgan.offline import write_images, write_noise

    folder, _ = exported
    write_noise(tmp_path / "bins", str(folder / "PGAN.onnx"), 4)
    run(str(folder / "PGAN.onnx"), [str(tmp_path / "bins" / "z"), str(tmp_path / "bins" / "alpha")],
        output=str(tmp_path / "out"), log=lambda line: None)
    write_noise(tmp_path / "bins", str(folder / "PGAN.onnx"), 8)          # two inferences now, one output
    with pytest.raises(UserError, match="incomplete"):
        write_images(tmp_path / "bins", tmp_path / "out", tmp_path / "png")
