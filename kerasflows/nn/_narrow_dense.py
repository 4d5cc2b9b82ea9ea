"""Dense layers of a few units: under XLA on CPU, a fused multiply-and-sum instead of a dot.

XLA:CPU runs the dot `[rows, K] x [K, N]` of a narrow output (N = 2 or 3:
the shift and log-scale of one feature in a 2-D coupling layer) slower than
graph mode's oneDNN, and slower than the same product written as an
elementwise multiply and a sum over `K`, which XLA fuses into one loop
(`benchmarks/bench_narrow_dense.py`). Graph mode keeps the dot: there the
multiply would materialise a `[rows, K, N]` tensor. A single unit gains at
the training batch and loses at others, so it stays a dot.
"""

import keras
import tensorflow as tf
from keras import ops
from tensorflow.python.framework import ops as tf_ops
from tensorflow.python.ops import control_flow_util

from kerasflows import row_blocks

# Output widths summed, not dotted, under XLA on CPU.
SUMMED_UNITS = range(2, 4)


def traced_for_xla() -> bool:
    """Whether the current trace is compiled by XLA (a `tf.function` with `jit_compile=True`, or inside one)."""
    return not tf.executing_eagerly() and control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph())


class NarrowDense(keras.layers.Dense):
    """`Dense` whose `x @ W` is `sum_k x[..., k, None] * W[k]` under XLA on CPU, for `SUMMED_UNITS` units.

    Same weights (LoRA's included: it reads `self.kernel`), same results up
    to float rounding; quantised layers, other devices, graph mode and eager
    calls run `Dense`'s own call.
    """

    def call(self, inputs, training=None):
        narrow = self.units in SUMMED_UNITS and not self.quantization_mode
        if not (narrow and traced_for_xla() and row_blocks.runs_on_cpu()):
            return super().call(inputs, training=training)
        x = ops.sum(ops.expand_dims(inputs, -1) * self.kernel, axis=-2)
        if self.bias is not None:
            x = x + self.bias
        return x if self.activation is None else self.activation(x)
