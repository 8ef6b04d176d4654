"""The layers BigBiGAN needs that Keras does not have (NHWC, Keras 3, any backend op via keras.ops).

    SNDense, SNConv2D, SNConv2DTranspose   spectral normalisation (Miyato et al., ICLR 2018)
    ConditionalBatchNorm                   batch norm whose γ and β are linear in a condition vector
    SelfAttention                          the SAGAN non-local block (Zhang et al., ICML 2019)
    make_initializer                       a fresh kernel initializer per layer
                                           ("truncated_normal" | "orthogonal")

Spectral norm keeps its power-iteration vector u as a non-trainable weight that only a training
call updates: inference (and so the frozen graph) reads u and never assigns it.

    dense = SNDense(64, kernel_initializer=make_initializer("truncated_normal"), name="dense")
    y = dense(x, training=True)      # one power iteration; u updated
    y = dense(x)                     # same iteration from the stored u; u untouched
"""

from __future__ import annotations

import keras
from keras import ops

INITIALIZERS = {
    # BigBiGAN reference on MNIST / Fashion-MNIST
    "truncated_normal": lambda: keras.initializers.TruncatedNormal(mean=0.0, stddev=0.02),
    # BigGAN (and the reference on CIFAR-10)
    "orthogonal": lambda: keras.initializers.Orthogonal(),
}


def make_initializer(init: str):
    """A NEW initializer instance for one layer (never shared between layers)."""
    if init not in INITIALIZERS:
        raise ValueError(f"init must be one of {sorted(INITIALIZERS)}, got {init!r}")
    return INITIALIZERS[init]()


def _l2_normalize(x, eps=1e-12):
    """x / sqrt(max(Σx², eps)), as tf.nn.l2_normalize."""
    return x * ops.rsqrt(ops.maximum(ops.sum(ops.square(x)), eps))


# ---------------------------------------------------------------------------------------------
# Spectral normalisation
# ---------------------------------------------------------------------------------------------

class SpectralNormalized(keras.layers.Layer):
    """Base of the SN layers: a trainable kernel W, a non-trainable u [1, n], and W_SN = W / σ(W).

    W is read as the matrix W_r [m, n], n = the kernel's last axis: the output units of a Dense or
    Conv2D; for Conv2DTranspose (kernel (k, k, out, in)) the input channels, as in the reference.
    Every call runs one power iteration from the stored u:

        v  = u W_rᵀ / ‖u W_rᵀ‖          [1, m]
        u' = v W_r  / ‖v W_r‖           [1, n]
        σ  = v W_r u'ᵀ                  (u', v held constant for the gradient, which flows through W)

    A training call (training=True) stores u'; any other call leaves u as it is, so inference is a
    pure function of the weights (two calls agree) and a frozen graph holds no assign.
    """

    def __init__(self, kernel_initializer="glorot_uniform", use_bias=False, **kwargs):
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.use_bias = use_bias

    def _add_weights(self, kernel_shape, bias_size, u_size):
        self.kernel = self.add_weight(name="kernel", shape=kernel_shape,
                                      initializer=self.kernel_initializer)
        self.bias = (self.add_weight(name="bias", shape=(bias_size,), initializer="zeros")
                     if self.use_bias else None)
        self.sn_u = self.add_weight(name="sn_u", shape=(1, u_size), trainable=False,
                                    initializer=keras.initializers.TruncatedNormal(stddev=0.02))

    def normalized_kernel(self, training=False):
        """W / σ(W), with the kernel's shape; stores the new u only when ``training``."""
        kernel = ops.convert_to_tensor(self.kernel)
        w = ops.reshape(kernel, (-1, kernel.shape[-1]))                       # W_r [m, n]
        u = ops.convert_to_tensor(self.sn_u)                                  # [1, n]
        v = ops.stop_gradient(_l2_normalize(ops.matmul(u, ops.transpose(w))))  # [1, m]
        u_new = ops.stop_gradient(_l2_normalize(ops.matmul(v, w)))           # [1, n]
        if training:
            self.sn_u.assign(u_new)
        sigma = ops.matmul(ops.matmul(v, w), ops.transpose(u_new))            # [1, 1]
        return kernel / ops.reshape(sigma, ())

    def _add_bias(self, y):
        return y if self.bias is None else y + self.bias


class SNDense(SpectralNormalized):
    """Dense with a spectrally normalised kernel (in, units); u has ``units`` entries."""

    def __init__(self, units, use_bias=True, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(kernel_initializer, use_bias, **kwargs)
        self.units = units

    def build(self, input_shape):
        self._add_weights((input_shape[-1], self.units), self.units, self.units)

    def call(self, x, training=False):                                   # [B, in]
        return self._add_bias(ops.matmul(x, self.normalized_kernel(training)))  # [B, units]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)


class SNConv2D(SpectralNormalized):
    """Stride-1 SAME Conv2D with a spectrally normalised kernel (k, k, in, filters)."""

    def __init__(self, filters, kernel_size, use_bias=False, kernel_initializer="glorot_uniform",
                 **kwargs):
        super().__init__(kernel_initializer, use_bias, **kwargs)
        self.filters = filters
        self.kernel_size = kernel_size

    def build(self, input_shape):
        k = self.kernel_size
        self._add_weights((k, k, input_shape[-1], self.filters), self.filters, self.filters)

    def call(self, x, training=False):                                   # [B, H, W, in]
        y = ops.conv(x, self.normalized_kernel(training), strides=1, padding="same")
        return self._add_bias(y)                                          # [B, H, W, filters]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)


class SNConv2DTranspose(SpectralNormalized):
    """Stride-1 SAME Conv2DTranspose, kernel (k, k, filters, in); u has ``in`` entries (reference)."""

    def __init__(self, filters, kernel_size, use_bias=False, kernel_initializer="glorot_uniform",
                 **kwargs):
        super().__init__(kernel_initializer, use_bias, **kwargs)
        self.filters = filters
        self.kernel_size = kernel_size

    def build(self, input_shape):
        k, c_in = self.kernel_size, input_shape[-1]
        self._add_weights((k, k, self.filters, c_in), self.filters, c_in)

    def call(self, x, training=False):                                   # [B, H, W, in]
        y = ops.conv_transpose(x, self.normalized_kernel(training), strides=1, padding="same")
        return self._add_bias(y)                                          # [B, H, W, filters]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)


# ---------------------------------------------------------------------------------------------
# Conditional batch norm and self-attention
# ---------------------------------------------------------------------------------------------

class ConditionalBatchNorm(keras.layers.Layer):
    """BN(x | c) = γ(c) · (x − μ) / sqrt(σ² + ε) + β(c), with γ(c) = Dense(c), β(c) = Dense(c).

    γ and β are the Dense outputs used directly (no 1 + γ), as in the reference. Training uses the
    batch moments over (B, H, W) and updates the moving ones, m ← momentum·m + (1 − momentum)·batch;
    inference uses the moving ones. x [B, H, W, C], c [B, d] -> [B, H, W, C].

    ``synchronized`` (set by the data-parallel step, as Keras's BatchNormalization.synchronized):
    under a tf.distribute strategy with >1 replica the batch moments are those of the GLOBAL batch
    (two all-reduces: the mean, then the mean squared deviation), so every replica normalises as
    one device does on the global batch and the moving moments stay identical on every replica.
    """

    def __init__(self, channels, momentum=0.9, epsilon=1e-5, init="truncated_normal", **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.momentum = momentum
        self.epsilon = epsilon
        self.synchronized = False          # global-batch moments under tf.distribute (see above)
        self.gamma = keras.layers.Dense(channels, kernel_initializer=make_initializer(init),
                                        name="gamma")
        self.beta = keras.layers.Dense(channels, kernel_initializer=make_initializer(init),
                                       name="beta")

    def build(self, input_shape):
        self.moving_mean = self.add_weight(name="moving_mean", shape=(self.channels,),
                                           initializer="zeros", trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=(self.channels,),
                                               initializer="ones", trainable=False)

    def call(self, x, c, training=False):
        gamma = ops.reshape(self.gamma(c), (-1, 1, 1, self.channels))     # [B, 1, 1, C]
        beta = ops.reshape(self.beta(c), (-1, 1, 1, self.channels))       # [B, 1, 1, C]
        if training:
            mean, variance = (self._global_moments(x) if self.synchronized else
                              ops.moments(x, axes=[0, 1, 2]))             # [C], [C]
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
            self.moving_variance.assign(self.moving_variance * m + variance * (1.0 - m))
        else:
            mean, variance = self.moving_mean, self.moving_variance
        return (x - mean) * ops.rsqrt(variance + self.epsilon) * gamma + beta

    def _global_moments(self, x):
        """(mean, variance) [C] over (B, H, W) of every replica's x: Σx / N, then Σ(x − mean)² / N."""
        import tensorflow as tf

        ctx = tf.distribute.get_replica_context()
        if ctx is None or ctx.num_replicas_in_sync == 1:
            return ops.moments(x, axes=[0, 1, 2])
        count = tf.cast(tf.reduce_prod(tf.shape(x)[:3]), x.dtype)
        total, n = ctx.all_reduce("sum", [tf.reduce_sum(x, axis=[0, 1, 2]), count])
        mean = total / n
        squares = ctx.all_reduce("sum", tf.reduce_sum(tf.square(x - mean), axis=[0, 1, 2]))
        return mean, squares / n

    def compute_output_shape(self, input_shape):
        return input_shape


class SelfAttention(keras.layers.Layer):
    """SAGAN non-local block on x [B, H, W, C], N = H·W, C' = max(1, C // 8):

        f, g, h = SN-conv1x1(x) -> C'            [B, N, C'] each
        β       = softmax(g fᵀ) over the last axis   [B, N, N]
        o       = SN-conv1x1(β h) -> C          [B, H, W, C]   (the paper's v)
        out     = γ · o + x                     γ a learned scalar, 0 at the start
    All four 1x1 convs have a bias, as in the reference.
    """

    def __init__(self, channels, init="truncated_normal", **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        inner = max(1, channels // 8)
        self.inner = inner
        self.f = SNConv2D(inner, 1, use_bias=True, kernel_initializer=make_initializer(init), name="f")
        self.g = SNConv2D(inner, 1, use_bias=True, kernel_initializer=make_initializer(init), name="g")
        self.h = SNConv2D(inner, 1, use_bias=True, kernel_initializer=make_initializer(init), name="h")
        self.v = SNConv2D(channels, 1, use_bias=True, kernel_initializer=make_initializer(init),
                          name="v")

    def build(self, input_shape):
        self.gamma = self.add_weight(name="gamma", shape=(1,), initializer="zeros")

    def call(self, x, training=False):                                  # [B, H, W, C]
        _, height, width, _ = x.shape
        n = height * width

        def flat(t):                                                     # [B, H, W, C'] -> [B, N, C']
            return ops.reshape(t, (-1, n, self.inner))

        f = flat(self.f(x, training=training))
        g = flat(self.g(x, training=training))
        h = flat(self.h(x, training=training))
        beta = ops.softmax(ops.matmul(g, ops.transpose(f, (0, 2, 1))), axis=-1)  # [B, N, N]
        o = ops.reshape(ops.matmul(beta, h), (-1, height, width, self.inner))    # [B, H, W, C']
        o = self.v(o, training=training)                                 # [B, H, W, C]
        return self.gamma * o + x

    def compute_output_shape(self, input_shape):
        return input_shape
