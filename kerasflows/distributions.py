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

    def sample(self, num_samples, seed, context=None) -> tf.Tensor:
        """`[num_samples, *event_shape]` draws, stateless in the int32 `[2]` `seed`.

        Philox is named explicitly, so the same seed gives the same noise
        eagerly, in graphs, under XLA and in an exported SavedModel (TFP's own
        samplers let the device choose the algorithm, and XLA chooses another).
        """
        shape = tf.concat([tf.reshape(num_samples, [1]), self.event_shape], axis=0)
        return tf.random.stateless_normal(shape, seed, dtype=self.compute_dtype, alg="philox")

    def get_config(self):
        return {**super().get_config(), "event_shape": list(self.event_shape)}
