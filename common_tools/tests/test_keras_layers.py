"""common_tools.keras_layers.Composite: a nested network built by its first call, without Keras's
symbolic pre-trace per nesting level, gets the very weights (paths, shapes, seeded values)."""

import numpy as np


def _network(composite: bool):
    import keras

    from common_tools.keras_layers import Composite

    bases = (Composite, keras.layers.Layer) if composite else (keras.layers.Layer,)
    calls = []

    class Block(*bases):
        def __init__(self, ch, **kw):
            super().__init__(**kw)
            self.conv = keras.layers.Conv2D(ch, 3, padding="same", name="conv")
            self.norm = keras.layers.BatchNormalization(name="bn")

        def call(self, x, training=False):
            calls.append(self.name)
            return x + self.norm(self.conv(x), training=training)

    class Net(*bases[:-1], keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.stem = keras.layers.Dense(4, name="stem")
            self.blocks = [Block(4, name=f"block{i}") for i in range(2)]
            self.inner = Outer(name="outer")

        def call(self, x, training=False):
            calls.append(self.name)
            h = self.stem(x)
            for block in self.blocks:
                h = block(h, training=training)
            return self.inner(h, training=training)

    class Outer(*bases):                                   # a composite of composites
        def __init__(self, **kw):
            super().__init__(**kw)
            self.block = Block(4, name="deep")

        def call(self, x, training=False):
            calls.append(self.name)
            return self.block(x, training=training)

    keras.utils.set_random_seed(3)
    net = Net(name="net")
    out = net(np.ones((2, 5, 5, 3), np.float32))
    return net, out, calls


def test_composite_builds_by_its_first_call_with_the_same_weights():
    plain, plain_out, plain_calls = _network(composite=False)
    built, built_out, built_calls = _network(composite=True)
    # Keras alone traces each composite's call once per level above it, then calls it for real
    assert plain_calls.count("deep") > 1 and plain_calls.count("net") == 2
    assert sorted(built_calls) == sorted(["net", "block0", "block1", "outer", "deep"])   # once each
    assert [v.path for v in built.weights] == [v.path for v in plain.weights]
    assert len(built.weights) == 3 * 6 + 2 == len(plain.weights)     # 3 blocks of conv + bn, the stem
    for a, b in zip(built.weights, plain.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    np.testing.assert_array_equal(np.asarray(built_out), np.asarray(plain_out))
    assert built.built and all(layer.built for layer in built._flatten_layers())
