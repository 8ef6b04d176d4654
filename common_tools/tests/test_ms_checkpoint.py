"""ms_checkpoint: MindSpore cells + step + random/extra state saved, kept, verified and restored.

Tiny nn.Dense cells; every test checks values after a restore against values changed after the save,
so a keeper that restored nothing would fail.
"""

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")
from mindspore import nn  # noqa: E402

from common_tools import ms_checkpoint  # noqa: E402
from common_tools.errors import UserError  # noqa: E402
from common_tools.ms_checkpoint import DamagedCheckpoint, MSCheckpointKeeper  # noqa: E402


class Counter:
    """Extra state through state_dict / load_state_dict."""

    def __init__(self):
        self.value = 0

    def state_dict(self):
        return {"value": self.value}

    def load_state_dict(self, state):
        self.value = state["value"]


def _values(cell):
    return {k: p.asnumpy().copy() for k, p in ms_checkpoint.cell_parameters(cell).items()}


def _scramble(cell, seed):
    rng = np.random.default_rng(seed)
    for p in cell.trainable_params():
        p.set_data(ms.Tensor(rng.standard_normal(p.shape).astype(np.float32)))


def _keeper(directory, notes=None, **kw):
    objects = kw.pop("objects", None)
    return MSCheckpointKeeper(directory, say=(notes.append if notes is not None else print), **kw,
                              **(objects or {}))


def test_round_trip_restores_cells_states_and_random_streams(tmp_path):
    G, D, counter = nn.Dense(3, 4), nn.Dense(4, 1), Counter()
    gen, pyrng = np.random.default_rng(5), random.Random(5)
    keeper = _keeper(tmp_path, objects=dict(G=G, D=D, count=counter, gen=gen, py=pyrng))
    counter.value = 7
    ms.set_seed(11)                 # a MindSpore seed in effect: restoring it must not clobber numpy's state
    np.random.seed(3)
    path = keeper.save(3)
    assert path == str(tmp_path / "model-3.manifest.json") and keeper.latest == path
    saved_g, saved_d = _values(G), _values(D)
    expected = (gen.standard_normal(4), pyrng.random(), np.random.rand())  # the draws after the save
    _scramble(G, 1), _scramble(D, 2)
    counter.value = -1
    gen.standard_normal(10), pyrng.random(), np.random.rand(5)
    again = _keeper(tmp_path, objects=dict(G=G, D=D, count=counter, gen=gen, py=pyrng))
    assert again.restore() == 3 and again.step == 3
    for key, value in saved_g.items():
        np.testing.assert_array_equal(_values(G)[key], value)
    for key, value in saved_d.items():
        np.testing.assert_array_equal(_values(D)[key], value)
    assert counter.value == 7
    np.testing.assert_array_equal(gen.standard_normal(4), expected[0])
    assert pyrng.random() == expected[1] and np.random.rand() == expected[2]
    assert again.count_parameters() == 4
    assert sorted(os.listdir(tmp_path)) == ["D_model-3.ckpt", "G_model-3.ckpt", "checkpoint_state.json",
                                            "model-3.manifest.json"]


def test_card_names_load_with_plain_mindspore(tmp_path):
    G = nn.Dense(3, 4)
    keeper = _keeper(tmp_path, name_fn=str, objects=dict(AvG=G))
    keeper.save(1200)
    path = tmp_path / "AvG_1200.ckpt"
    fresh = nn.Dense(3, 4)
    assert ms.load_param_into_net(fresh, ms.load_checkpoint(str(path))) == ([], [])
    np.testing.assert_array_equal(fresh.weight.asnumpy(), G.weight.asnumpy())
    assert ms_checkpoint.checkpoint_file(tmp_path, "AvG") == str(path)
    assert ms_checkpoint.checkpoint_file(str(path), "AvG") == str(path)
    with pytest.raises(UserError, match="has no 'D' checkpoint"):
        ms_checkpoint.checkpoint_file(tmp_path, "D")
    other = nn.Dense(3, 4)
    ms_checkpoint.load_cell(str(path), other)
    np.testing.assert_array_equal(other.weight.asnumpy(), G.weight.asnumpy())


def test_parameters_keyed_by_path_not_by_their_current_name(tmp_path):
    G = nn.Dense(3, 4)
    keeper = _keeper(tmp_path, objects=dict(G=G))
    G.weight.name = "loss.G.weight"            # what compiling G inside another cell does
    keeper.save(1)
    saved = _values(G)
    assert sorted(ms.load_checkpoint(str(tmp_path / "G_model-1.ckpt"))) == ["bias", "weight"]
    _scramble(G, 3)
    G.weight.name = "other.weight"
    assert keeper.restore() == 1
    np.testing.assert_array_equal(G.weight.asnumpy(), saved["weight"])


def test_keeps_the_last_n(tmp_path):
    G = nn.Dense(2, 2)
    keeper = _keeper(tmp_path, max_to_keep=2, objects=dict(G=G))
    for step in (1, 2, 3, 4):
        keeper.save(step)
    assert sorted(os.listdir(tmp_path)) == ["G_model-3.ckpt", "G_model-4.ckpt", "checkpoint_state.json",
                                            "model-3.manifest.json", "model-4.manifest.json"]
    state = json.loads((tmp_path / "checkpoint_state.json").read_text())
    assert state == {"latest": "model-4", "all": ["model-3", "model-4"], "step": 4}
    assert keeper.all == [str(tmp_path / "model-3.manifest.json"), str(tmp_path / "model-4.manifest.json")]


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "manifest"])
def test_damaged_newest_falls_back_in_one_line(tmp_path, damage):
    G = nn.Dense(3, 4)
    keeper = _keeper(tmp_path, objects=dict(G=G))
    keeper.save(1)
    at_one = _values(G)
    _scramble(G, 4)
    keeper.save(2)
    target = tmp_path / ("model-2.manifest.json" if damage == "manifest" else "G_model-2.ckpt")
    data = bytearray(target.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    elif damage == "truncate":
        target.write_bytes(bytes(data[: len(data) // 2]))
    elif damage == "delete":
        target.unlink()
    else:
        target.write_text("{not json")
    _scramble(G, 5)
    notes = []
    assert _keeper(tmp_path, notes, objects=dict(G=G)).restore() == 1
    assert len(notes) == 1 and "model-2" in notes[0] and "resumed from the older model-1" in notes[0]
    assert "\n" not in notes[0]
    np.testing.assert_array_equal(G.weight.asnumpy(), at_one["weight"])


def test_every_checkpoint_damaged_is_one_error(tmp_path):
    G = nn.Dense(3, 4)
    keeper = _keeper(tmp_path, objects=dict(G=G))
    keeper.save(1)
    (tmp_path / "G_model-1.ckpt").write_bytes(b"garbage")
    with pytest.raises(DamagedCheckpoint, match="every checkpoint .* is damaged") as err:
        _keeper(tmp_path, objects=dict(G=G)).restore()
    assert "\n" not in str(err.value)


def test_a_kill_during_a_save_leaves_the_previous_one(tmp_path):
    G = nn.Dense(3, 4)
    notes = []
    keeper = _keeper(tmp_path, notes, objects=dict(G=G))
    keeper.save(1)
    at_one = _values(G)
    # what a kill after writing the cell file but before the manifest leaves behind
    (tmp_path / "model-2_temp").mkdir()
    (tmp_path / "model-2_temp" / "G_model-2.ckpt").write_bytes(b"partial")
    _scramble(G, 6)
    assert _keeper(tmp_path, notes, objects=dict(G=G)).restore() == 1
    assert not (tmp_path / "model-2_temp").exists() and not notes
    np.testing.assert_array_equal(G.weight.asnumpy(), at_one["weight"])


def test_only_an_incomplete_first_save_starts_from_zero(tmp_path):
    (tmp_path / "model-1_temp").mkdir()
    notes = []
    assert _keeper(tmp_path, notes, objects=dict(G=nn.Dense(2, 2))).restore() is None
    assert len(notes) == 1 and "incomplete" in notes[0]
    assert _keeper(tmp_path / "empty", notes, objects=dict(G=nn.Dense(2, 2))).restore() is None


def test_states_restore_before_callable_cells(tmp_path):
    """A model that grows: its size comes back first, then the cells it rebuilt are loaded."""

    class Growing:
        def __init__(self):
            self.width = 2
            self.net = nn.Dense(3, self.width)

        def state_dict(self):
            return {"width": self.width}

        def load_state_dict(self, state):
            self.width = state["width"]
            self.net = nn.Dense(3, self.width)     # rebuilt at the saved size

    model = Growing()
    model.width, model.net = 5, nn.Dense(3, 5)
    keeper = _keeper(tmp_path, objects=dict(size=model, G=lambda: model.net))
    keeper.save(9)
    saved = _values(model.net)
    fresh = Growing()
    assert fresh.width == 2
    assert _keeper(tmp_path, objects=dict(size=fresh, G=lambda: fresh.net)).restore() == 9
    assert fresh.width == 5
    np.testing.assert_array_equal(fresh.net.weight.asnumpy(), saved["weight"])


def test_a_checkpoint_of_another_model_is_one_error_not_a_fallback(tmp_path):
    _keeper(tmp_path, objects=dict(G=nn.Dense(3, 4))).save(1)
    with pytest.raises(UserError, match=r"weight has shape \(4, 3\) in the checkpoint, \(5, 3\)") as err:
        _keeper(tmp_path, objects=dict(G=nn.Dense(3, 5))).restore()
    assert not isinstance(err.value, DamagedCheckpoint)
    with pytest.raises(UserError, match="holds G but this model keeps D, G"):
        _keeper(tmp_path, objects=dict(G=nn.Dense(3, 4), D=nn.Dense(1, 1))).restore()


def test_bad_objects_and_names_are_refused(tmp_path):
    with pytest.raises(TypeError, match="'x'"):
        MSCheckpointKeeper(tmp_path, x=3)
    with pytest.raises(ValueError, match="'step'"):
        MSCheckpointKeeper(tmp_path, step=nn.Dense(1, 1))
    keeper = MSCheckpointKeeper(tmp_path, name_fn=lambda s: f"a/{s}", G=nn.Dense(1, 1))
    with pytest.raises(ValueError, match="file name"):
        keeper.save(1)


def test_read_checkpoint_errors_are_one_line(tmp_path):
    with pytest.raises(UserError, match="not found"):
        ms_checkpoint.read_checkpoint(tmp_path / "none.ckpt")
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(DamagedCheckpoint) as err:
        ms_checkpoint.read_checkpoint(bad)
    assert "\n" not in str(err.value) and str(bad) in str(err.value)


def test_importing_it_imports_no_framework():
    code = ("import sys, common_tools.ms_checkpoint, common_tools.training; "
            "bad = [m for m in ('mindspore', 'tensorflow') if m in sys.modules]; "
            "sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
