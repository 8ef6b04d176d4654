import collections
import os
import pickle

import numpy as np
import pytest

from common_tools import safe_pickle
from common_tools.errors import UserError

# A Python-2 (protocol 2) pickle of np.array([0, 200, 2], int32): str opcodes ('U') hold the raw
# bytes, which only latin1 can decode (byte 0xc8 = 200 is not ASCII).
PY2_ARRAY = (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00\x85q\x02"
             b"U\x01bq\x03\x87q\x04Rq\x05(K\x01K\x03\x85q\x06cnumpy\ndtype\nq\x07U\x02i4q\x08K\x00K\x01"
             b"\x87q\tRq\n(K\x03U\x01<q\x0bNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x0cb\x89U\x0c"
             b"\x00\x00\x00\x00\xc8\x00\x00\x00\x02\x00\x00\x00q\rtq\x0eb.")


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"echo pwned > {self.marker}",))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_data_and_numpy_round_trip(tmp_path, protocol):
    obj = {"list": [1, 2.5, None, True, -3], "tuple": (b"\x00\xff", "text"), "set": {1, 2},
           "frozen": frozenset({"a"}), "ordered": collections.OrderedDict(b=1, a=2),
           "array": np.arange(12, dtype=np.float32).reshape(3, 4), "scalar": np.float64(3.5),
           "objects": np.array(["ab", "c"], dtype=object), "big": 2 ** 80}
    path = tmp_path / "data.pickle"
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    got = safe_pickle.load(path)
    assert got["list"] == obj["list"] and got["tuple"] == obj["tuple"] and got["set"] == {1, 2}
    assert got["frozen"] == frozenset({"a"}) and list(got["ordered"]) == ["b", "a"]
    assert got["array"].dtype == np.float32 and np.array_equal(got["array"], obj["array"])
    assert got["scalar"] == 3.5 and isinstance(got["scalar"], np.float64)
    assert list(got["objects"]) == ["ab", "c"] and got["big"] == 2 ** 80


def test_python2_pickle_needs_latin1():
    arr = safe_pickle.loads(PY2_ARRAY, encoding="latin1")
    assert arr.dtype == np.int32 and arr.tolist() == [0, 200, 2]
    with pytest.raises(UserError, match="not a readable pickle"):
        safe_pickle.loads(PY2_ARRAY)  # ASCII cannot decode byte 0xc8


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_code_running_pickle_is_refused_and_never_runs(tmp_path, protocol):
    marker = tmp_path / "side_effect.txt"
    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps({"ok": [1], "evil": RunsCode(marker)}, protocol=protocol))
    with pytest.raises(UserError) as err:
        safe_pickle.load(path)
    message = str(err.value)
    assert str(path) in message and ("posix.system" in message or "os.system" in message)
    assert "\n" not in message
    assert not marker.exists()
    # and the same bytes through the standard unpickler would have run it (the test can fail)
    pickle.loads(path.read_bytes())
    assert marker.exists()


@pytest.mark.parametrize("module,name", [("builtins", "eval"), ("subprocess", "Popen"),
                                         ("numpy", "load"), ("collections", "namedtuple")])
def test_other_globals_are_refused(module, name):
    data = f"c{module}\n{name}\n(S'1'\ntR.".encode()
    with pytest.raises(UserError, match=f"refused to load {module}.{name}"):
        safe_pickle.loads(data)


def test_truncated_garbage_and_missing_files(tmp_path):
    good = pickle.dumps({"a": np.zeros(100)}, protocol=4)
    truncated = tmp_path / "truncated.pickle"
    truncated.write_bytes(good[: len(good) // 2])
    garbage = tmp_path / "garbage.pickle"
    garbage.write_bytes(b"this is not a pickle at all")
    for path in (truncated, garbage):
        with pytest.raises(UserError, match="not a readable pickle") as err:
            safe_pickle.load(path)
        assert str(path) in str(err.value)
    with pytest.raises(UserError, match="pickle file not found"):
        safe_pickle.load(tmp_path / "missing.pickle")
