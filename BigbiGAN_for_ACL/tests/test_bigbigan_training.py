"""The shared driver's policies on BigBiGAN's real build (tiny config, SynthDigits in memory).

Building the networks costs seconds, so the contract's many builds draw from a pool of three
eagerly-run TrainSteps (at most three loops are alive at once in any contract test): each build
puts every variable a checkpoint holds (weights, batch-norm and spectral-norm state, both Adam
states, the z generator, the dropout streams) back to its value at construction, which is what a
fresh build with the same seed gives; ``test_pool_reset_equals_a_fresh_build`` checks that.
"""

import numpy as np
import pytest

from common_tools import testing
from common_tools.synthetic.digits import digits

from bigbigan import train
from bigbigan.config import BigBiGANConfig

CFG = BigBiGANConfig.tiny()
DATA = digits(seed=0, num=16)               # 4 batches of 4 per epoch


def _state_variables(step) -> list:
    out = []
    for name, obj in step.trackables().items():
        if name in ("G", "D", "E"):
            out += list(obj.weights)
        elif name == "dropout":
            out += [obj[k] for k in sorted(obj)]
        elif name == "rng":
            out.append(obj.state)
        else:
            out += list(obj.variables)
    return out


class _Pool:
    size = 3

    def __init__(self):
        self.steps, self.initial, self.taken = [], [], 0

    def take(self, cfg):
        assert cfg == CFG, "the pool holds steps of the tiny config only"
        if len(self.steps) < self.size:
            step = train.make_step(cfg, compile=False)
            self.steps.append(step)
            self.initial.append([v.numpy().copy() for v in _state_variables(step)])
        i = self.taken % self.size
        self.taken += 1
        for v, value in zip(_state_variables(self.steps[i]), self.initial[i]):
            v.assign(value)
        return self.steps[i]


POOL = _Pool()


class TestDriverContract(testing.TFTrainingContract):
    def config(self):
        return CFG

    def build(self, cfg, run):
        return train.build(cfg, run, DATA, step=POOL.take(cfg))

    def rng(self, loop):
        return loop.checkpointer.trackables["rng"]


def test_pool_reset_equals_a_fresh_build():
    used = POOL.take(CFG)
    used(*next(iter(_batches())))                          # move every piece of state
    for _ in range(POOL.size):                              # round robin: back to the same one
        again = POOL.take(CFG)
    assert again is used                                    # the same object, reset
    fresh = train.make_step(CFG, compile=False)
    a, b = _state_variables(again), _state_variables(fresh)
    assert len(a) == len(b) > 100
    for va, vb in zip(a, b):
        np.testing.assert_array_equal(va.numpy(), vb.numpy(), err_msg=getattr(va, "path", va.name))


def _batches():
    from bigbigan.data import train_batches

    return train_batches(*DATA, CFG, seed=0)


def test_checkpoint_holds_every_piece_of_state(tmp_path):
    from common_tools.training import Run

    loop = train.build(CFG, Run(str(tmp_path), str(tmp_path / "ck"), str(tmp_path / "s")), DATA,
                       step=POOL.take(CFG))
    held = set(loop.checkpointer.trackables)
    assert held == {"G", "D", "E", "d_opt", "ge_opt", "rng", "dropout"}
    assert loop.total_steps == CFG.iterations and loop.images_per_step == CFG.batch_size


def test_too_small_a_data_set_is_one_line(tmp_path):
    from common_tools.errors import UserError

    with pytest.raises(UserError, match="fewer than one batch"):
        train.train(CFG.replace(batch_size=32), str(tmp_path), data=DATA)
