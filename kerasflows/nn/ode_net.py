"""The time-dependent vector field of continuous-time flows."""

from collections.abc import Sequence

import keras
from keras import ops

from kerasflows.nn.mlp import MLP


@keras.saving.register_keras_serializable("kerasflows")
class ODENet(keras.layers.Layer):
    """A vector field `dx/dt = f(x, t[, context])`: an MLP on `[x, t, context]` whose last layer starts at zero.

    The output has the width of `x`. A fresh network is zero everywhere, so
    the flow it drives is the identity. Smooth activations (`tanh`,
    `softplus`) keep the dynamics smooth, which adaptive ODE solvers need.
    Reference: Chen et al., "Neural Ordinary Differential Equations",
    NeurIPS 2018.

    Args:
        hidden_units: width of each hidden layer.
        activation: hidden activation.
        context_size: width of a flat context concatenated to the input, or None.

    Example:
        >>> net = ODENet(hidden_units=(8,))
        >>> net(np.ones((2, 3), "float32"), 0.5).shape
        TensorShape([2, 3])
    """

    def __init__(
        self,
        hidden_units: Sequence[int] = (64, 64),
        activation="tanh",
        context_size: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_units = tuple(int(h) for h in hidden_units)
        self.activation = activation
        self.context_size = context_size
        self.mlp = None

    def build(self, input_shape):
        self.mlp = MLP(
            output_units=input_shape[-1],
            hidden_units=self.hidden_units,
            activation=self.activation,
            context_size=1 + (self.context_size or 0),
            dtype=self.dtype_policy,
        )
        self.mlp.build(input_shape)

    def call(self, x, time, context=None):
        time = ops.ones_like(x[:, :1]) * ops.cast(time, x.dtype)
        return self.mlp(x, time if context is None else ops.concatenate([time, ops.cast(context, x.dtype)], axis=-1))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_units": list(self.hidden_units),
            "activation": self.activation,
            "context_size": self.context_size,
        }
