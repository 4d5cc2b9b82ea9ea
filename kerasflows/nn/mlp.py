"""The dense conditioner of coupling layers."""

from collections.abc import Sequence

import keras
from keras import ops

from kerasflows.nn._narrow_matmul import NarrowDense
from kerasflows.nn._output_order import checked_output_order, output_layer


@keras.saving.register_keras_serializable("kerasflows")
class MLP(keras.layers.Layer):
    """A multilayer perceptron whose last layer starts at zero.

    `y = W_K act(... act(W_1 [x, context] + b_1) ...) + b_K`, with `W_K = b_K = 0`
    at initialisation so that a coupling layer built on it starts as the identity.

    Args:
        output_units: width of the output.
        hidden_units: width of each hidden layer.
        activation: hidden activation.
        context_size: width of a flat context concatenated to the input, or None.
        output_order: output unit `i` is the output layer's unit
            `output_order[i]` (a permutation; None keeps the stored order).
            Coupling layers use it to get each parameter's outputs side by
            side; the output layer holds its units in this order and saves
            them in the stored one, so saved weights keep their meaning.

    Example:
        >>> MLP(4, hidden_units=(8,))(np.ones((2, 3), "float32")).shape
        (2, 4)
    """

    def __init__(
        self,
        output_units: int,
        hidden_units: Sequence[int] = (128, 128),
        activation="relu",
        context_size: int | None = None,
        output_order: Sequence[int] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.output_units = int(output_units)
        self.hidden_units = tuple(int(h) for h in hidden_units)
        self.activation = activation
        self.context_size = context_size
        self.output_order = checked_output_order(output_order, self.output_units)
        self.hidden_layers = [
            keras.layers.Dense(units, activation=activation, dtype=self.dtype_policy) for units in self.hidden_units
        ]
        self.output_layer = output_layer(
            NarrowDense,
            self.output_order,
            self.output_units,
            kernel_initializer="zeros",
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        width = input_shape[-1] + (self.context_size or 0)
        for layer in self.hidden_layers:
            layer.build((None, width))
            width = layer.units
        self.output_layer.build((None, width))

    def call(self, x, context=None):
        h = x if self.context_size is None else ops.concatenate([x, ops.cast(context, x.dtype)], axis=-1)
        for layer in self.hidden_layers:
            h = layer(h)
        return self.output_layer(h)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_units)

    def get_config(self):
        return {
            **super().get_config(),
            "output_units": self.output_units,
            "hidden_units": list(self.hidden_units),
            "activation": self.activation,
            "context_size": self.context_size,
            "output_order": self.output_order,
        }
