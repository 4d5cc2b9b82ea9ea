"""The base class of every flow layer."""

import abc
import math
from collections.abc import Sequence

import keras
import tensorflow as tf
from keras import ops
from tensorflow_probability import bijectors as tfb


class FlowLayer(keras.layers.Layer, abc.ABC):
    """A Keras layer that owns the weights of one invertible transform.

    Subclasses create their weights in `build` and implement
    `bijector(context=None)`, which returns a fresh `tfb.Bijector` built from
    those weights (TFP direction: `forward` maps base to data). `call` then
    applies it either way and returns the log-determinant of that direction:
    `(y, log|det dy/dx|)`.

    How to implement a flow layer:
        1. Take hyper-parameters in `__init__` (plus `context_shape` when the
           layer is conditional) and create sub-networks there.
        2. Create weights in `build(input_shape)`; `input_shape` is
           `(batch, *event_shape)` on the base side of the layer.
        3. Return a TFP bijector from `bijector(context)`; do not cache it.
        4. Put every hyper-parameter in `get_config`.
        5. Add a constructor to the contract-test registry (`tests/registry.py`).

    A layer whose base side has another shape than its data side (a squeeze)
    overrides `compute_output_shape` (base to data) and `inverse_event_shape`
    (data to base); one with a data-dependent initialisation overrides
    `needs_initialization` and `initialize`. One whose output for a row
    depends on the other rows of the batch (an adaptive ODE solver's step
    size) sets `rows_independent = False`, so that no call pads or splits its
    batch; one whose rows interact in training only (batch statistics) sets
    `rows_independent_in_training = False`, so that no training step splits it.

    Args:
        context_shape: shape of one context row for a conditional layer, or
            None.
    """

    rows_independent = True
    rows_independent_in_training = True

    def __init__(self, context_shape: Sequence[int] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.context_shape = None if context_shape is None else tuple(int(d) for d in context_shape)
        self.event_shape = None

    @property
    def context_size(self) -> int | None:
        """Width of the flattened context, or None for an unconditional layer."""
        return None if self.context_shape is None else math.prod(self.context_shape)

    def build(self, input_shape):
        self.event_shape = tuple(input_shape[1:])

    @abc.abstractmethod
    def bijector(self, context=None) -> tfb.Bijector:
        """Returns the transform, built from the current weights.

        Args:
            context: a `[batch, *context_shape]` tensor for a conditional layer.
        """

    def flat_context(self, context):
        """The context as `[batch, context_size]` in the layer's dtype, or None."""
        if self.context_shape is None:
            return None
        if context is None:
            raise ValueError(
                f"{self.name} is conditional: expected a context of shape "
                f"[batch, {', '.join(map(str, self.context_shape))}], Received: None."
            )
        context = ops.cast(context, self.compute_dtype)
        return ops.reshape(context, (-1, self.context_size))

    def call(self, x, context=None, inverse: bool = False):
        return self.apply(self.bijector(context), x, inverse)

    def apply(self, bijector: tfb.Bijector, x, inverse: bool = False):
        """`bijector` applied to `x` one way, with one log-det per row: `(y, log|det dy/dx|)`."""
        event_ndims = len(self.event_shape)
        if inverse:
            y = bijector.inverse(x)
            log_det = bijector.inverse_log_det_jacobian(x, event_ndims=event_ndims)
        else:
            y = bijector.forward(x)
            log_det = bijector.forward_log_det_jacobian(x, event_ndims=event_ndims)
        # Volume-preserving bijectors return a scalar: give every row its own.
        log_det = log_det + tf.zeros(tf.shape(x)[:1], x.dtype)
        return y, log_det

    def compute_output_shape(self, input_shape):
        return input_shape

    def inverse_event_shape(self, event_shape: tuple) -> tuple:
        """The event shape on the base side given the one on the data side."""
        return tuple(event_shape)

    @property
    def needs_initialization(self) -> bool:
        """Whether `initialize` still has to see a batch of data."""
        return False

    def initialize(self, x, context=None) -> None:
        """Data-dependent initialisation from `x`, a batch on the layer's data side."""

    def get_config(self):
        return {**super().get_config(), "context_shape": self.context_shape}


def build_chain(flows: Sequence[FlowLayer], event_shape: tuple) -> tuple:
    """Builds `flows` (listed base to data) for data of shape `event_shape`; returns the base-side shape."""
    shapes = [tuple(event_shape)]
    for flow in reversed(flows):
        shapes.append(tuple(flow.inverse_event_shape(shapes[-1])))
    for flow, shape in zip(reversed(flows), shapes[1:], strict=True):
        if not flow.built:
            flow.build((None, *shape))
    return shapes[-1]


def chain(flows: Sequence[FlowLayer], x, context=None, inverse: bool = False):
    """`flows` applied in order (base to data), or in reverse order when `inverse`: `(y, summed log-det)`."""
    log_det = tf.zeros(tf.shape(x)[:1], x.dtype)
    for flow in reversed(flows) if inverse else flows:
        x, flow_log_det = flow(x, context=context, inverse=inverse)
        log_det = log_det + flow_log_det
    return x, log_det


def initialize_chain(flows: Sequence[FlowLayer], x, context=None) -> None:
    """Initialises `flows` from a data batch `x`, data side first, each on what the layers after it output."""
    for flow in reversed(flows):
        flow.initialize(x, context)
        x, _ = flow(x, context=context, inverse=True)
