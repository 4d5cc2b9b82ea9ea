"""Base distributions of flows, as Keras layers that produce `tfd` distributions."""

from collections.abc import Sequence

import keras
import tensorflow as tf
from tensorflow_probability import distributions as tfd


@keras.saving.register_keras_serializable("kerasflows")
class StandardNormal(keras.layers.Layer):
    """`p(z) = prod_i N(z_i; 0, 1)` over an event of shape `event_shape`.

    Args:
        event_shape: shape of one event.
    """

    def __init__(self, event_shape: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.event_shape = tuple(int(d) for d in event_shape)
        self.built = True

    def distribution(self, context=None) -> tfd.Distribution:
        """The distribution as a `tfd.Distribution` with event shape `event_shape`."""
        zeros = tf.zeros(self.event_shape, self.compute_dtype)
        return tfd.Independent(tfd.Normal(zeros, 1.0), reinterpreted_batch_ndims=len(self.event_shape))

    def get_config(self):
        return {**super().get_config(), "event_shape": list(self.event_shape)}
