"""StarGAN's real build (networks, step, data) under the shared driver's contract, at the tiny
config on 24 SynthFaces; and what a resumed run may change. The step runs eagerly here (see
conftest.eagerly): these are the driver's policies, not the tracing."""

import io
import os

import pytest

from common_tools import testing, training
from common_tools.errors import UserError
from common_tools.logging import read_jsonl
from stargan import train as stargan_train
from stargan.config import StarGANConfig


@pytest.fixture(autouse=True)
def _eager_with_data(request, faces, eager_mode):
    if request.instance is not None:
        request.instance.faces = faces
    with eager_mode():
        yield


class TestDriverContract(testing.TFTrainingContract):
    """Non-finite stop, Ctrl-C save + resume, every variable restored, the random stream continues."""

    def config(self):
        return StarGANConfig.tiny().replace(checkpoint_steps=1000, save_steps=1000)

    def build(self, cfg, run):
        return stargan_train.build(cfg, run, self.faces["images"], self.faces["attrs"])

    def rng(self, loop):
        return loop.checkpointer.trackables["rng"]


def test_resume_refuses_a_network_change_and_applies_a_schedule_change(faces, trained, tmp_path):
    """Probe: a changed network field was refused, any other change taken silently."""
    import shutil

    from common_tools import runs

    shutil.copytree(trained, tmp_path, dirs_exist_ok=True)          # 4 of 4 iterations done
    cfg = runs.load_config(StarGANConfig, str(tmp_path))

    def run(c, stream):
        return stargan_train.train(c, str(tmp_path), faces["images"], faces["attrs"], tensorboard=False,
                                   stream=stream)

    with pytest.raises(UserError, match=r"g_conv_dim=8 but g_conv_dim=16 .*new output folder"):
        run(cfg.replace(g_conv_dim=16), io.StringIO())
    said = io.StringIO()
    summary = run(cfg.replace(g_lr=2e-4, training_iterations=5, num_step_decay=0), said)
    assert summary["start"] == 4 and summary["end"] == 5
    assert "resuming with g_lr changed: 0.0001 -> 0.0002" in said.getvalue()
    assert "training_iterations changed: 4 -> 5" in said.getvalue()
    lr = [r["lr_g"] for r in read_jsonl(os.path.join(tmp_path, "train_log.jsonl"))]
    assert lr[-1] == pytest.approx(2e-4) and lr[0] == pytest.approx(1e-4)   # the new lr at step 5
    assert [r["step"] for r in read_jsonl(os.path.join(tmp_path, "train_log.jsonl"))] == [1, 2, 3, 4, 5]
    assert os.path.isfile(os.path.join(tmp_path, training.CHECKPOINT_DIR, "model-5.index"))
