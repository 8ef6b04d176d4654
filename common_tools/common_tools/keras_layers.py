"""Keras 3 helpers the TensorFlow model folders share (no framework import at module load).

``Composite``: a mixin for a layer or model made only of sublayers (a residual block, a whole
generator). Keras 3 builds such a layer, when it has no ``build``, by first tracing its ``call``
symbolically (``compute_output_spec``) in a scratch graph, and does so again at every nesting level
below, before the real call runs: a network of nested blocks is traced once per level on top of
being called. With the mixin the layer counts as built at once and its first call builds every
sublayer as it reaches it, in the same order and under the same name scopes, so the variables,
their paths and (seeded) initial values are those Keras would have made::

    class ResidualBlock(Composite, keras.layers.Layer):
        def __init__(self, ch, **kw):
            super().__init__(**kw)
            self.conv1 = keras.layers.Conv2D(ch, 3, padding="same", name="conv1")
            ...

    G = Generator(...)
    G(zeros_x, zeros_c)         # one eager call creates every weight (e.g. before a restore)

Measured on this project's 2-core CPU (one process, seeded, the same weights either way): the
largest paper-scale build of the project's TF models, 29.1 s -> 6.9 s (the top README's test-suite row).

Only for layers whose first call is eager or traced by a tf.function once (every model's
``build_*`` calls its networks on zeros); a layer with weights of its own still defines ``build``.
"""

from __future__ import annotations


class Composite:
    """Put before the Keras base class: ``class Block(Composite, keras.layers.Layer)``."""

    def build(self, *shapes):
        """Nothing to create here: the sublayers build on the first call (see the module)."""
