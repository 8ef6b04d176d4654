"""The fine-tuned TF-slim Inception-v3 loader of inception_score.py, on tiny checkpoints written here
with the slim library's variable names (every width / 16, so a 299 px forward takes a fraction of a
second): moving-average copies preferred, background class dropped, missing pieces named."""

import numpy as np
import pytest

from common_tools.errors import UserError
from common_tools.metrics import inception_score as m

DIV = 16


def _write(prefix, num_outputs=51, drop=(), ema=True, logits_bias=None, seed=0):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    names, tensors = [], []

    def put(name, value):
        value = np.asarray(value, np.float32)
        if any(name.startswith(d) for d in drop):
            return
        if ema:      # the raw variable holds garbage: only its moving average may be used
            names.append(name), tensors.append(np.full(value.shape, np.nan, np.float32))
            name += "/ExponentialMovingAverage"
        names.append(name), tensors.append(value)

    for name, kh, kw, cin, cout, _, _ in m.SLIM_V3_CONVS:
        cin = cin if name == "conv0" else cin // DIV
        cout //= DIV
        put(f"{name}/weights", rng.normal(0, (2.0 / (kh * kw * cin)) ** 0.5, (kh, kw, cin, cout)))
        put(f"{name}/BatchNorm/beta", rng.normal(0, 0.1, cout))
        put(f"{name}/BatchNorm/moving_mean", rng.normal(0, 0.1, cout))
        put(f"{name}/BatchNorm/moving_variance", rng.uniform(0.5, 1.5, cout))
    weights = rng.normal(0, 0.5, (2048 // DIV, num_outputs)) if logits_bias is None else \
        np.zeros((2048 // DIV, num_outputs))
    put("logits/logits/weights", weights)
    put("logits/logits/biases", np.zeros(num_outputs) if logits_bias is None else logits_bias)
    tf.raw_ops.SaveV2(prefix=str(prefix), tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.constant(t) for t in tensors])
    return str(prefix)


def _images(n, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (64 + 8 * (i % 3), 64, 3), dtype=np.uint8) for i in range(n)]


def test_the_table_has_the_slim_names():
    names = [c[0] for c in m.SLIM_V3_CONVS]
    assert len(names) == 94 and names[:5] == ["conv0", "conv1", "conv2", "conv3", "conv4"]
    for name in ("mixed_35x35x256a/branch5x5/Conv_1", "mixed_17x17x768b/branch7x7dbl/Conv_4",
                 "mixed_17x17x1280a/branch7x7x3/Conv_3", "mixed_8x8x2048b/branch3x3dbl/Conv_3"):
        assert name in names


def test_loader_uses_the_moving_averages_and_drops_the_background(tmp_path):
    ckpt = _write(tmp_path / "model.ckpt-5000")
    net = m.SlimInceptionV3.from_checkpoint(ckpt)
    assert net.num_classes == 50
    probs = net.probs(_images(12))
    assert probs.shape == (12, 50) and np.isfinite(probs).all()
    assert np.allclose(probs.sum(axis=1), 1) and probs.std(axis=0).max() > 1e-4   # images differ
    result = m.finetuned_inception_score(_images(20), str(tmp_path), splits=10)   # a folder: its newest
    assert result["n"] == 20 and result["num_classes"] == 50 and result["is"] >= 1.0


def test_a_dominant_class_gives_score_one(tmp_path):
    bias = np.zeros(51)
    bias[0], bias[4] = 50.0, 20.0              # the background logit is the largest, and ignored
    ckpt = _write(tmp_path / "model.ckpt", logits_bias=bias, ema=False)
    net = m.SlimInceptionV3.from_checkpoint(ckpt)
    assert (net.probs(_images(4)).argmax(axis=1) == 3).all()
    assert m.finetuned_inception_score(_images(10), ckpt)["is"] == pytest.approx(1.0, abs=1e-6)


def test_missing_pieces_are_one_line(tmp_path):
    with pytest.raises(UserError, match="no Inception checkpoint given.*inception_finetuned_models/birds_valid299"):
        m.SlimInceptionV3.from_checkpoint(None)
    with pytest.raises(UserError, match="not found"):
        m.SlimInceptionV3.from_checkpoint(str(tmp_path / "nothing.ckpt"))
    ckpt = _write(tmp_path / "model.ckpt", drop=("mixed_17x17x768c/branch7x7/Conv_2/weights",))
    with pytest.raises(UserError, match="no variable mixed_17x17x768c/branch7x7/Conv_2/weights"):
        m.SlimInceptionV3.from_checkpoint(ckpt)


def test_forward_equals_keras_inception_v3_with_the_same_weights():
    """The architecture (every kernel shape of the table, strides, paddings, pools, branch order)
    against keras.applications.InceptionV3, the same network: its convs in creation order are the
    slim table's, its BN has no scale and eps 1e-3, its top is a global average pool + dense."""
    import keras

    model = keras.applications.InceptionV3(weights=None, classes=51, classifier_activation=None)
    def created(kind):          # model.layers is in graph order; the names count up in creation order
        found = [l for l in model.layers if isinstance(l, kind)]
        return sorted(found, key=lambda l: int(l.name.rsplit("_", 1)[1]) if l.name[-1].isdigit() else 0)

    convs, norms = created(keras.layers.Conv2D), created(keras.layers.BatchNormalization)
    dense = [l for l in model.layers if isinstance(l, keras.layers.Dense)][0]
    rng = np.random.default_rng(0)
    weights = {}
    for (name, kh, kw, cin, cout, _, _), conv, norm in zip(m.SLIM_V3_CONVS, convs, norms, strict=True):
        assert tuple(conv.kernel.shape) == (kh, kw, cin, cout), name
        beta = rng.normal(0, 0.1, cout)
        mean, var = rng.normal(0, 0.1, cout), rng.uniform(0.5, 1.5, cout)
        norm.set_weights([beta, mean, var])
        weights.update({f"{name}/weights": conv.get_weights()[0], f"{name}/BatchNorm/beta": beta,
                        f"{name}/BatchNorm/moving_mean": mean, f"{name}/BatchNorm/moving_variance": var})
    w, b = dense.get_weights()
    b = rng.normal(0, 0.1, b.shape)
    dense.set_weights([w, b])
    weights.update({"logits/logits/weights": w, "logits/logits/biases": b})
    x = rng.uniform(-1, 1, (2, 299, 299, 3)).astype(np.float32)
    ours = m.SlimInceptionV3(weights).logits(x)
    theirs = np.asarray(model(x, training=False))
    assert np.abs(ours - theirs).max() < 1e-3 * max(1.0, np.abs(theirs).max())
