"""The convolutional conditioner of image coupling layers."""

from collections.abc import Sequence

import keras
from keras import ops

from kerasflows.nn._output_order import checked_output_order, output_layer


@keras.saving.register_keras_serializable("kerasflows")
class ConvNet(keras.layers.Layer):
    """Glow's coupling network: a 3x3 convolution, 1x1 convolutions, then a 3x3 one that starts at zero.

    `y = conv3x3_out(act(conv1x1(... act(conv3x3([x, context]))))`, "same"
    padding throughout, the output convolution's kernel and bias zero at
    initialisation so that a coupling layer built on it starts as the
    identity. A flat context is broadcast over the pixels and concatenated to
    the input channels. Reference: Kingma & Dhariwal, "Glow", NeurIPS 2018.

    Args:
        output_channels: channels of the output.
        hidden_channels: channels of each hidden convolution, the first 3x3
            and the others 1x1.
        activation: hidden activation.
        context_size: width of a flat context, or None.
        output_order: output unit `i` is the output layer's unit
            `output_order[i]` (a permutation; None keeps the stored order).
            Coupling layers use it to get each parameter's outputs side by
            side; the output layer holds its units in this order and saves
            them in the stored one, so saved weights keep their meaning.

    Example:
        >>> ConvNet(4, hidden_channels=(8, 8))(np.ones((2, 6, 6, 1), "float32")).shape
        (2, 6, 6, 4)
    """

    def __init__(
        self,
        output_channels: int,
        hidden_channels: Sequence[int] = (128, 128),
        activation="relu",
        context_size: int | None = None,
        output_order: Sequence[int] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.output_channels = int(output_channels)
        self.hidden_channels = tuple(int(c) for c in hidden_channels)
        self.activation = activation
        self.context_size = context_size
        self.output_order = checked_output_order(output_order, self.output_channels)
        self.hidden_layers = [
            keras.layers.Conv2D(
                channels, 3 if index == 0 else 1, padding="same", activation=activation, dtype=self.dtype_policy
            )
            for index, channels in enumerate(self.hidden_channels)
        ]
        self.output_layer = output_layer(
            keras.layers.Conv2D,
            self.output_order,
            self.output_channels,
            3,
            padding="same",
            kernel_initializer="zeros",
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        shape = (*input_shape[:-1], input_shape[-1] + (self.context_size or 0))
        for layer in self.hidden_layers:
            layer.build(shape)
            shape = (*shape[:-1], layer.filters)
        self.output_layer.build(shape)

    def call(self, x, context=None):
        h = x
        if self.context_size is not None:
            context = ops.cast(context, x.dtype)[:, None, None, :]
            h = ops.concatenate([x, ops.broadcast_to(context, (*ops.shape(x)[:-1], self.context_size))], axis=-1)
        # TF's oneDNN Conv2D (on by default on CPUs with AVX-512 VNNI) returns an empty batch with the input's
        # channels, not the filters'; an empty batch skips the network. A static batch picks the branch at
        # trace time, so only a dynamic one pays for the conditional.
        empty = (*ops.shape(x)[:-1], self.output_channels)
        return ops.cond(ops.shape(h)[0] > 0, lambda: self._network(h), lambda: ops.zeros(empty, x.dtype))

    def _network(self, h):
        for layer in self.hidden_layers:
            h = layer(h)
        return self.output_layer(h)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_channels)

    def get_config(self):
        return {
            **super().get_config(),
            "output_channels": self.output_channels,
            "hidden_channels": list(self.hidden_channels),
            "activation": self.activation,
            "context_size": self.context_size,
            "output_order": self.output_order,
        }
