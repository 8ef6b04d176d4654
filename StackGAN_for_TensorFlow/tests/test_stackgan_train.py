"""The shared driver's contract on both stages' real build (networks, step, SynthBirds batches):
non-finite stop, Ctrl-C saves and resumes, save -> load restores every variable, the random
stream continues across a resume; plus what Stage-II adds (its frozen Stage-I G)."""

import os

import numpy as np
import pytest

from common_tools import testing, training
from common_tools.errors import UserError
from stackgan import data
from stackgan.config import StackGANConfig
from stackgan.train import build


@pytest.fixture(scope="module")
def splits(synthbirds):
    return {stage: data.load_splits(StackGANConfig.tiny().for_stage(stage), synthbirds["data_dir"])
            for stage in (1, 2)}


class TestStageIContract(testing.TFTrainingContract):
    @pytest.fixture(autouse=True)
    def _splits(self, splits):
        self.splits = splits[1]

    def config(self):
        return StackGANConfig.tiny()

    def build(self, cfg, run):
        return build(cfg, run, splits=self.splits)

    def rng(self, loop):
        return loop.checkpointer.trackables["rng"]


class TestStageIIContract(TestStageIContract):
    @pytest.fixture(autouse=True)
    def _splits(self, splits, stage1_run):
        self.splits, self.stage1 = splits[2], stage1_run

    def config(self):
        return StackGANConfig.tiny().for_stage(2).replace(pretrained_model=self.stage1)

    # Stage-II's own checkpoint layout (G2, D2 and the frozen G1) is what this class adds; the
    # driver's policies and the random stream are the same code as Stage-I's, checked above
    test_nonfinite_stops_with_last_good_checkpoint = None
    test_ctrl_c_saves_and_resume_continues = None
    test_random_stream_continues_across_resume = None


def test_stage2_starts_from_the_stage1_generator(splits, stage1_run, tmp_path):
    from common_tools.checkpoint import model_variables

    from stackgan.infer import load_generators

    _, nets, step = load_generators(stage1_run)
    assert step == 4
    cfg = StackGANConfig.tiny().for_stage(2).replace(pretrained_model=stage1_run)
    run = training.Run(str(tmp_path), str(tmp_path / "checkpoints"), str(tmp_path / "samples"))
    loop = build(cfg, run, splits=splits[2])
    g1 = loop.checkpointer.trackables["G1"]
    for key, v in model_variables(nets["G1"]).items():
        np.testing.assert_array_equal(model_variables(g1)[key].numpy(), v.numpy(), err_msg=key)
    assert loop.total_steps == 4 and set(loop.checkpointer.trackables) >= {"G1", "G2", "D2"}


def test_stage2_without_a_stage1_checkpoint_names_the_key(splits, tmp_path):
    run = training.Run(str(tmp_path), str(tmp_path / "checkpoints"), str(tmp_path / "samples"))
    cfg = StackGANConfig.tiny().for_stage(2)
    with pytest.raises(UserError, match="TRAIN.PRETRAINED_MODEL is empty"):
        build(cfg, run, splits=splits[2])
    missing = str(tmp_path / "no_stage1")
    with pytest.raises(UserError, match=f"TRAIN.PRETRAINED_MODEL {missing}: checkpoint not found"):
        build(cfg.replace(pretrained_model=missing), run, splits=splits[2])


def test_stage2_refuses_a_stage1_run_of_other_widths(splits, stage1_run, tmp_path):
    run = training.Run(str(tmp_path), str(tmp_path / "checkpoints"), str(tmp_path / "samples"))
    cfg = StackGANConfig.tiny().for_stage(2).replace(pretrained_model=stage1_run, gf_dim=8)
    with pytest.raises(UserError, match="trained with gf_dim=4 but this Stage-II run has gf_dim=8"):
        build(cfg, run, splits=splits[2])


def test_epochs_and_lr_schedule_from_the_data(splits, tmp_path):
    cfg = StackGANConfig.tiny().replace(max_iterations=0, max_epoch=3)        # 4 iterations an epoch
    run = training.Run(str(tmp_path), str(tmp_path / "checkpoints"), str(tmp_path / "samples"))
    loop = build(cfg, run, splits=splits[1])
    assert loop.total_steps == 12
    assert [loop.schedule(i)["epoch"] for i in (0, 3, 4, 11)] == [0, 0, 1, 2]
    assert loop.schedule(11)["lr_g"] == pytest.approx(2e-4 / 4)                # halved every epoch
    assert os.path.basename(loop.sample(12)) == "12-images.png"
