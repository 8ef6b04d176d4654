"""TF2 port of the 2015-12-05 FID Inception network (pool3 features), weights from :mod:`.weights`.

TensorFlow-only by nature (imported lazily by :mod:`.fid`). Forward, as in the TorchScript file's
``code/`` folder plus the TF1 graph's input stage:

    x [N, H, W, 3] float in [0, 255]
    -> ResizeBilinear to 299x299 (TF1: align_corners=False, half_pixel_centers=False)
    -> (x - 128) / 128
    -> conv(32, 3x3/2) conv(32, 3x3) conv(64, 3x3 pad 1) maxpool(3/2)        # 147 -> 73
    -> conv(80, 1x1) conv(192, 3x3) maxpool(3/2)                             # 35x35x192
    -> mixed, mixed_1, mixed_2 (A)    35x35x288
    -> mixed_3 (B)                    17x17x768
    -> mixed_4 .. mixed_7 (C)         17x17x768
    -> mixed_8 (D)                     8x8x1280
    -> mixed_9, mixed_10 (E)           8x8x2048   (mixed_10's pool branch is a MAX pool)
    -> average over 8x8 = pool3       [N, 2048]

Every "conv" is conv (no bias) -> batch norm with beta only (no gamma), eps 1e-3 -> ReLU; its stride
and explicit zero padding come from the weights file. Average pools (3x3/1, pad 1) exclude the padding
from the count (TF's SAME avg pool does exactly that).
"""

from __future__ import annotations

import re

import numpy as np

from common_tools.errors import UserError

BN_EPS = 1e-3
INPUT_SIZE = 299


class FIDInception:
    """Callable ``model(images [N, H, W, 3] float32 in [0, 255]) -> pool3 [N, 2048] float32``."""

    def __init__(self, weights: dict[str, np.ndarray]):
        import tensorflow as tf

        self._w = weights
        self._convs: dict[str, tuple] = {}
        for key in weights:
            if key.endswith("/conv2d_params"):
                name = key[: -len("/conv2d_params")]
                var = weights[f"{name}/batchnorm/moving_variance"].astype(np.float64)
                mean = weights[f"{name}/batchnorm/moving_mean"].astype(np.float64)
                beta = weights[f"{name}/batchnorm/beta"].astype(np.float64)
                scale = 1.0 / np.sqrt(var + BN_EPS)
                self._convs[name] = (
                    tf.constant(weights[key], tf.float32),
                    tf.constant(scale, tf.float32),
                    tf.constant(beta - mean * scale, tf.float32),
                    [int(s) for s in weights[f"{name}/stride"]],
                    [int(p) for p in weights[f"{name}/padding"]],
                )
        if len(self._convs) != 94:
            raise UserError(f"FID Inception weights hold {len(self._convs)} conv layers, expected 94; "
                            "re-run `make weights`")
        self._fn = tf.function(self._forward, input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])

    def __call__(self, images):
        return self._fn(images)

    # ---- layers ----
    def _conv(self, x, name: str):
        import tensorflow as tf

        kernel, scale, shift, stride, (ph, pw) = self._convs[name]
        if ph or pw:
            x = tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]])
        x = tf.nn.conv2d(x, kernel, strides=[1, *stride, 1], padding="VALID")
        return tf.nn.relu(x * scale + shift)

    def _tower(self, x, prefix: str):
        """The convs ``prefix/conv, prefix/conv_1, ...`` in order (a Sequential of the original)."""
        order = {}
        for name in self._convs:
            m = re.fullmatch(re.escape(prefix) + r"/conv(?:_(\d+))?", name)
            if m:
                order[int(m.group(1) or 0)] = name
        for i in sorted(order):
            x = self._conv(x, order[i])
        return x

    def _pool(self, x, name: str, stride: int):
        import tensorflow as tf

        kind = str(self._w[f"{name}/pool_type"])
        padding = "VALID" if stride == 2 else "SAME"
        if kind == "MaxPool2d":
            return tf.nn.max_pool2d(x, 3, stride, padding)
        if kind == "AvgPool2d":
            return tf.nn.avg_pool2d(x, 3, stride, padding)  # SAME: padding excluded from the count
        raise UserError(f"unknown pool type {kind!r} for {name} in the FID weights")

    def _block(self, x, name: str):
        import tensorflow as tf

        has = lambda sub: f"{name}/{sub}" in self._convs  # noqa: E731
        if has("tower/mixed/conv"):  # E: towers split into 1x3 and 3x1 heads
            a = self._conv(x, f"{name}/tower/conv")
            b = self._conv(self._conv(x, f"{name}/tower_1/conv"), f"{name}/tower_1/conv_1")
            pool = self._pool(x, f"{name}/tower_2/pool", 1)
            outs = [self._conv(x, f"{name}/conv"),
                    self._conv(a, f"{name}/tower/mixed/conv"), self._conv(a, f"{name}/tower/mixed/conv_1"),
                    self._conv(b, f"{name}/tower_1/mixed/conv"), self._conv(b, f"{name}/tower_1/mixed/conv_1"),
                    self._conv(pool, f"{name}/tower_2/conv")]
        elif f"{name}/pool/pool_type" in self._w:  # B, D: grid reduction with a 3x3/2 max pool
            outs = [self._conv(x, f"{name}/conv")] if has("conv") else []
            outs += [self._tower(x, f"{name}/tower")]
            if has("tower_1/conv"):
                outs += [self._tower(x, f"{name}/tower_1")]
            outs += [self._pool(x, f"{name}/pool", 2)]
        else:  # A, C
            pool = self._pool(x, f"{name}/tower_2/pool", 1)
            outs = [self._conv(x, f"{name}/conv"), self._tower(x, f"{name}/tower"),
                    self._tower(x, f"{name}/tower_1"), self._conv(pool, f"{name}/tower_2/conv")]
        return tf.concat(outs, axis=-1)

    def _forward(self, images):
        import tensorflow as tf

        x = tf.raw_ops.ResizeBilinear(images=images, size=[INPUT_SIZE, INPUT_SIZE],
                                      align_corners=False, half_pixel_centers=False)
        x = (x - 128.0) / 128.0                                   # [N, 299, 299, 3]
        x = self._conv(x, "conv")                                 # 149x149x32
        x = self._conv(x, "conv_1")                               # 147x147x32
        x = self._conv(x, "conv_2")                               # 147x147x64
        x = tf.nn.max_pool2d(x, 3, 2, "VALID")                    # 73x73x64
        x = self._conv(x, "conv_3")                               # 73x73x80
        x = self._conv(x, "conv_4")                               # 71x71x192
        x = tf.nn.max_pool2d(x, 3, 2, "VALID")                    # 35x35x192
        for name in ["mixed"] + [f"mixed_{i}" for i in range(1, 11)]:
            x = self._block(x, name)                              # ... 8x8x2048
        return tf.reduce_mean(x, axis=[1, 2])                     # pool3 [N, 2048]


_cache: dict[str, FIDInception] = {}


def load_inception(npz_path: str | None = None, allow_fetch: bool = True) -> FIDInception:
    """The network with the converted weights (built once per process); fetched on first use if
    missing, and a UserError saying to run `make weights` when that fails."""
    from common_tools.metrics import weights as W

    path = npz_path or W.weights_path()
    if path not in _cache:
        _cache[path] = FIDInception(W.load(path, allow_fetch=allow_fetch))
    return _cache[path]
