"""Masked dense layers and MADE, the autoregressive network behind MAF and IAF.

Reference: Germain et al., "MADE: Masked Autoencoder for Distribution
Estimation", ICML 2015.
"""

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from kerasflows.nn._narrow_matmul import matmul
from kerasflows.nn._output_order import grouped_by_parameter, output_layer

INPUT_ORDERS = ("left-to-right", "right-to-left", "random")


@keras.saving.register_keras_serializable("kerasflows")
class MaskedDense(keras.layers.Layer):
    """A dense layer whose connections follow autoregressive degrees.

    `y = x @ (W * M) + b`, with `M[i, j] = d_out[j] >= d_in[i]`, or `>` when
    `strict` (the output layer of a MADE).

    Args:
        input_degrees: the degree of each input unit.
        output_degrees: the degree of each output unit; its length is the
            number of units.
        strict: connect only to strictly lower input degrees.
        activation: a Keras activation.
        kernel_initializer: initialiser of `W`.
        bias_initializer: initialiser of `b`.
    """

    def __init__(
        self,
        input_degrees: Sequence[int],
        output_degrees: Sequence[int],
        strict: bool = False,
        activation=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.input_degrees = [int(d) for d in input_degrees]
        self.output_degrees = [int(d) for d in output_degrees]
        self.strict = strict
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        d_in = np.asarray(self.input_degrees)[:, None]
        d_out = np.asarray(self.output_degrees)[None, :]
        self._mask = (d_out > d_in) if strict else (d_out >= d_in)

    def build(self, input_shape):
        if input_shape[-1] != len(self.input_degrees):
            raise ValueError(
                f"Expected inputs with {len(self.input_degrees)} features, Received: shape {tuple(input_shape)}."
            )
        shape = self._mask.shape
        self.kernel = self.add_weight(shape=shape, initializer=self.kernel_initializer, name="kernel")
        self.bias = self.add_weight(shape=shape[1:], initializer=self.bias_initializer, name="bias")

    def call(self, x):
        mask = ops.cast(self._mask, self.kernel.dtype)
        return self.activation(matmul(x, self.kernel * mask) + self.bias)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], len(self.output_degrees))

    def get_config(self):
        return {
            **super().get_config(),
            "input_degrees": self.input_degrees,
            "output_degrees": self.output_degrees,
            "strict": self.strict,
            "activation": keras.activations.serialize(self.activation),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


def input_degrees(event_size: int, input_order: str | Sequence[int], seed: int | None = None) -> np.ndarray:
    """Degrees 1..D of the inputs for a named order or an explicit permutation.

    Raises:
        ValueError: for an unknown order name or a list that is not a
            permutation of 1..D.
    """
    if isinstance(input_order, str):
        if input_order == "left-to-right":
            return np.arange(1, event_size + 1)
        if input_order == "right-to-left":
            return np.arange(event_size, 0, -1)
        if input_order == "random":
            return np.random.default_rng(seed).permutation(event_size) + 1
        raise ValueError(f"Expected input_order in {INPUT_ORDERS} or a list of degrees, Received: {input_order!r}.")
    degrees = np.asarray(input_order, dtype=int)
    if sorted(degrees.tolist()) != list(range(1, event_size + 1)):
        raise ValueError(f"Expected input_order to be a permutation of 1..{event_size}, Received: {list(input_order)}.")
    return degrees


@keras.saving.register_keras_serializable("kerasflows")
class MADE(keras.layers.Layer):
    """Masked autoencoder: output `i` depends only on inputs earlier in the order.

    `h_0 = x`, `h_k = act(MaskedDense(h_{k-1}) + [k == 1] Dense(context))`,
    `params = MaskedDense_strict(h_K)`, reshaped to `[..., event_size, num_params]`.
    The output layer starts at zero, so a fresh flow built on it is the identity.
    It saves input `d`'s parameter `p` as unit `d * num_params + p`.

    Args:
        event_size: number of inputs `D`.
        num_params: parameters produced per input (2 for shift and log-scale).
        hidden_units: width of each hidden layer; any number of layers.
        input_order: "left-to-right", "right-to-left", "random" or a
            permutation of 1..D giving each input's position in the order.
        activation: hidden activation.
        context_size: width of a flat context fed to the first hidden layer,
            or None for an unconditional network.
        seed: seed of the "random" order.
        grouped_output: hold the output layer's units parameter by parameter
            (`p * event_size + d`), so that each parameter's outputs are read
            side by side, not with a stride; saved files keep the layout above.

    Example:
        >>> made = MADE(event_size=3, num_params=2, hidden_units=(16,))
        >>> made(np.zeros((5, 3), "float32")).shape
        (5, 3, 2)
    """

    def __init__(
        self,
        event_size: int,
        num_params: int,
        hidden_units: Sequence[int] = (128, 128),
        input_order: str | Sequence[int] = "left-to-right",
        activation="relu",
        context_size: int | None = None,
        seed: int | None = None,
        grouped_output: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.event_size = int(event_size)
        self.num_params = int(num_params)
        self.hidden_units = tuple(int(h) for h in hidden_units)
        self.activation = activation
        self.context_size = context_size
        self.seed = seed
        self.grouped_output = bool(grouped_output)
        degrees = input_degrees(self.event_size, input_order, seed)
        # A random order is stored as its degrees so that a reloaded network keeps it.
        self.input_order = input_order if input_order in INPUT_ORDERS[:2] else degrees.tolist()
        if context_size is not None and not self.hidden_units:
            raise ValueError("Expected at least one hidden layer to feed the context to, Received: hidden_units=().")
        self.hidden_layers = []
        previous = degrees
        for units in self.hidden_units:
            hidden = np.arange(units) % max(1, self.event_size - 1) + 1
            self.hidden_layers.append(MaskedDense(previous, hidden, dtype=self.dtype_policy))
            previous = hidden
        output_degrees = np.repeat(degrees, self.num_params)
        order = grouped_by_parameter(self.event_size, self.num_params) if self.grouped_output else None
        self.output_layer = output_layer(
            MaskedDense,
            order,
            previous,
            output_degrees if order is None else output_degrees[order],
            strict=True,
            kernel_initializer="zeros",
            dtype=self.dtype_policy,
        )
        self.context_layer = None
        if context_size is not None and self.hidden_units:
            self.context_layer = keras.layers.Dense(self.hidden_units[0], use_bias=False, dtype=self.dtype_policy)
        self._activation = keras.activations.get(activation)

    def build(self, input_shape):
        shape = (None, self.event_size)
        for layer in self.hidden_layers:
            layer.build(shape)
            shape = (None, layer.compute_output_shape(shape)[-1])
        self.output_layer.build(shape)
        if self.context_layer is not None:
            self.context_layer.build((None, self.context_size))

    def call(self, x, context=None):
        h = x
        for index, layer in enumerate(self.hidden_layers):
            h = layer(h)
            if index == 0 and self.context_layer is not None:
                h = h + self.context_layer(context)
            h = self._activation(h)
        params = self.output_layer(h)
        if self.grouped_output:
            grouped = ops.reshape(params, (*ops.shape(x)[:-1], self.num_params, self.event_size))
            return ops.moveaxis(grouped, -2, -1)
        return ops.reshape(params, (*ops.shape(x)[:-1], self.event_size, self.num_params))

    def get_config(self):
        return {
            **super().get_config(),
            "event_size": self.event_size,
            "num_params": self.num_params,
            "hidden_units": list(self.hidden_units),
            "input_order": self.input_order,
            "activation": self.activation,
            "context_size": self.context_size,
            "seed": self.seed,
            "grouped_output": self.grouped_output,
        }
