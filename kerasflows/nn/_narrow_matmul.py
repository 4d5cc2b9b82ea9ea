"""Matmuls with a narrow output: under XLA on CPU, their gradients as fused multiply-and-sums.

For `y = x @ W` with `W` of shape `[K, N]` and N = 2 or 3 (a 2-D coupling
layer's shift and log-scale), XLA:CPU runs the gradient dots `dx = g @ W^T`
and `dW = x^T @ g` slower than the same products written as an elementwise
multiply and a sum, which XLA fuses into one loop; the forward dot itself is
as fast as the sum or faster (`benchmarks/bench_narrow_dense.py`). At 1 and
4 units the sums gained at some batch sizes and lost at others, so those keep
the dots, as do graph mode, eager calls and other devices.
"""

import keras
import tensorflow as tf
from keras import ops
from tensorflow_probability.python.internal.implementation_selection import is_xla

from kerasflows import _devices

# Output widths whose gradients are summed, not dotted, under XLA on CPU.
SUMMED_GRADIENT_UNITS = range(2, 4)


@tf.custom_gradient
def matmul_with_summed_gradients(x, kernel):
    """`x @ W` with gradients `dx = sum_n g[..., None, n] W[:, n]`, `dW = sum_rows x[:, :, None] g[:, None, :]`."""

    def gradients(g):
        rows_x = tf.reshape(x, [-1, x.shape[-1]])
        rows_g = tf.reshape(g, [-1, g.shape[-1]])
        dx = tf.reduce_sum(g[..., None, :] * kernel, axis=-1)
        return dx, tf.reduce_sum(rows_x[:, :, None] * rows_g[:, None, :], axis=0)

    return ops.matmul(x, kernel), gradients


def matmul(x, kernel):
    """`x @ kernel`; under XLA on CPU with `SUMMED_GRADIENT_UNITS` output units, its gradients are fused sums."""
    if kernel.shape[-1] in SUMMED_GRADIENT_UNITS and is_xla() and _devices.runs_on_cpu():
        return matmul_with_summed_gradients(x, ops.convert_to_tensor(kernel))
    return ops.matmul(x, kernel)


class NarrowDense(keras.layers.Dense):
    """`Dense` whose `x @ W` goes through `matmul`: under XLA on CPU, narrow outputs get summed gradients.

    Same weights (LoRA's included: it reads `self.kernel`) and the same
    forward results; quantised layers keep `Dense`'s own call.
    """

    def call(self, inputs, training=None):
        if self.quantization_mode:
            return super().call(inputs, training=training)
        x = matmul(inputs, self.kernel)
        if self.bias is not None:
            x = x + self.bias
        return x if self.activation is None else self.activation(x)
