"""FID arithmetic (no network): the eigen-decomposition trace against scipy's sqrtm formula, exact
properties, the small-sample warning, and the restricted TorchScript reader on a synthetic archive."""

import io
import pickle
import sys
import types
import warnings
import zipfile

import numpy as np
import pytest
import scipy.linalg

from common_tools.errors import UserError
from common_tools.metrics import fid, weights


def _random_cov(rng, d, rank=None):
    x = rng.normal(size=(rank or 3 * d, d)) * rng.uniform(0.1, 3.0, size=d)
    return np.cov(x, rowvar=False)


def scipy_fid(mu1, s1, mu2, s2):
    """The TTUR / pytorch-fid formula with scipy.linalg.sqrtm."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_trace_term_matches_scipy_sqrtm():
    rng = np.random.default_rng(0)
    for d in (8, 64):
        s1, s2 = _random_cov(rng, d), _random_cov(rng, d)
        mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
        ours = fid.frechet_distance(mu1, s1, mu2, s2)
        assert ours == pytest.approx(scipy_fid(mu1, s1, mu2, s2), rel=1e-8, abs=1e-8)


def test_rank_deficient_covariances_stay_real_and_finite():
    rng = np.random.default_rng(1)
    s1, s2 = _random_cov(rng, 64, rank=10), _random_cov(rng, 64, rank=10)  # N < d, like FID from few images
    value = fid.frechet_distance(np.zeros(64), s1, np.zeros(64), s2)
    assert np.isfinite(value) and value >= -1e-8
    assert value == pytest.approx(scipy_fid(np.zeros(64), s1, np.zeros(64), s2), rel=1e-5, abs=1e-6)


def test_low_rank_route_equals_the_full_decomposition():
    rng = np.random.default_rng(4)
    d = 48
    for n1, n2 in ((10, 200), (10, 15), (49, 20)):  # the last: N1 > d, the full route
        f1 = rng.normal(size=(n1, d)) * rng.uniform(0.2, 2.0, d)
        f2 = rng.normal(0.1, 1.3, size=(n2, d))
        (m1, s1), (m2, s2) = fid.statistics(f1), fid.statistics(f2)
        full = fid.trace_sqrt_product(s1, s2)
        assert fid.trace_sqrt_product_low_rank(f1, s2) == pytest.approx(full, rel=1e-7)
        assert fid.frechet_distance(m1, s1, m2, s2, features1=f1) == pytest.approx(scipy_fid(m1, s1, m2, s2), rel=1e-6)
    with pytest.warns(UserWarning):
        assert fid.fid_from_features(f1, f1) == pytest.approx(0.0, abs=1e-8)


def test_fid_properties_on_features():
    rng = np.random.default_rng(2)
    f = rng.normal(size=(3000, 16))
    shift = np.full(16, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 3000 samples: no small-sample warning
        assert fid.fid_from_features(f, f) == pytest.approx(0.0, abs=1e-9)
        # a pure shift moves only the mean term: FID = |shift|^2 exactly
        assert fid.fid_from_features(f, f + shift) == pytest.approx(float(shift @ shift), abs=1e-9)
        assert fid.fid_from_features(f, f * 1.5) > fid.fid_from_features(f, f * 1.1) > 0


def test_warns_under_2048_samples():
    rng = np.random.default_rng(3)
    with pytest.warns(UserWarning, match="at least 2048"):
        fid.fid_from_features(rng.normal(size=(100, 4)), rng.normal(size=(100, 4)))


# ---- the restricted TorchScript reader, on an archive built here (torch is never imported) ----

@pytest.fixture
def fake_torch_modules(monkeypatch):
    """Modules named like torch's so pickle writes the same GLOBALs a TorchScript data.pkl holds."""
    def module(name, **attrs):
        parts = name.split(".")
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if parent not in sys.modules:
                monkeypatch.setitem(sys.modules, parent, types.ModuleType(parent))
        m = types.ModuleType(name)
        for k, v in attrs.items():
            v.__module__, v.__qualname__ = name, k
            setattr(m, k, v)
        monkeypatch.setitem(sys.modules, name, m)
        return m

    class FloatStorage:
        pass

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    module("torch", FloatStorage=FloatStorage)
    module("torch._utils", _rebuild_tensor_v2=_rebuild_tensor_v2)

    def make_class(mod, name):
        cls = type(name, (), {})
        module(mod, **{name: cls})
        return cls

    return types.SimpleNamespace(FloatStorage=FloatStorage, rebuild=_rebuild_tensor_v2, make_class=make_class)


class _Tensor:
    def __init__(self, key, array, rebuild, storage_cls):
        self.key, self.array, self.rebuild, self.storage_cls = key, array, rebuild, storage_cls

    def __reduce__(self):
        from collections import OrderedDict

        strides = tuple(s // 4 for s in self.array.strides)
        storage = ("storage", self.storage_cls, self.key, "cpu", self.array.size)
        return self.rebuild, (_Persistent(storage), 0, self.array.shape, strides, False, OrderedDict())


class _Persistent:
    def __init__(self, pid):
        self.pid = pid


class _Writer(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _Persistent) else None


def _write_pt(path, tree, storages):
    buf = io.BytesIO()
    _Writer(buf, protocol=2).dump(tree)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", buf.getvalue())
        for key, arr in storages.items():
            zf.writestr(f"archive/data/{key}", np.ascontiguousarray(arr, "<f4").tobytes())


def test_reader_converts_a_conv_layer_to_tf_names(tmp_path, fake_torch_modules):
    ft = fake_torch_modules
    Wrap = ft.make_class("__torch__.wrap_net", "WrapNet")
    Net = ft.make_class("__torch__.inceptionv3", "InceptionV3")
    Conv = ft.make_class("__torch__.inceptionv3.___torch_mangle_2", "Conv2dLayer")
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3, 1, 3)).astype(np.float32)  # OIHW
    beta, mean, var = (rng.normal(size=4).astype(np.float32) for _ in range(3))
    conv = Conv()
    conv.__dict__.update(weight=_Tensor("0", w, ft.rebuild, ft.FloatStorage),
                         beta=_Tensor("1", beta, ft.rebuild, ft.FloatStorage),
                         mean=_Tensor("2", mean, ft.rebuild, ft.FloatStorage),
                         var=_Tensor("3", var, ft.rebuild, ft.FloatStorage), stride=1, padding=[0, 1])
    block = Net()
    block.__dict__.update(training=False, tower_1_mixed_conv_1=conv)
    layers = Net()
    layers.__dict__.update(mixed_9=block)
    net, root = Net(), Wrap()
    net.__dict__.update(layers=layers)
    root.__dict__.update(training=False, net=net)
    pt = tmp_path / "tiny.pt"
    _write_pt(pt, root, {"0": w, "1": beta, "2": mean, "3": var})

    out = weights.convert_module_tree(weights.read_torchscript(str(pt)))
    name = "mixed_9/tower_1/mixed/conv_1"
    np.testing.assert_array_equal(out[f"{name}/conv2d_params"], w.transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(out[f"{name}/batchnorm/moving_variance"], var)
    assert list(out[f"{name}/padding"]) == [0, 1] and list(out[f"{name}/stride"]) == [1, 1]


def test_reader_refuses_other_globals(tmp_path):
    class Evil:
        def __reduce__(self):
            import os

            return os.getcwd, ()

    pt = tmp_path / "evil.pt"
    with zipfile.ZipFile(pt, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps(Evil(), protocol=2))
    with pytest.raises(UserError, match="unexpected object"):
        weights.read_torchscript(str(pt))


def test_missing_weights_say_how_to_get_them(tmp_path):
    with pytest.raises(UserError, match="make weights"):
        weights.load(str(tmp_path / "none.npz"))


def test_wrong_sha1_is_refused(tmp_path):
    pt = tmp_path / "default_1.pt"
    pt.write_bytes(b"not the file")
    with pytest.raises(UserError, match="sha1"):
        weights.convert_pt(str(pt), str(tmp_path / "w.npz"))
