"""Base distributions of flows, as Keras layers that produce `tfd` distributions.

Each one has `distribution(context=None)`, a `tfd.Distribution` over events
of shape `event_shape`, and `sample(num_samples, seed, context=None)`, draws
that are stateless in an int32 `[2]` seed. The draws name Philox explicitly,
so the same seed gives the same noise eagerly, in graphs, under XLA and in an
exported SavedModel (TFP's own samplers let the device choose the algorithm,
and XLA chooses another). Learnable ones create their weights on
construction, so a `FlowModel` tracks, trains, saves and exports them.
"""

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from tensorflow_probability import distributions as tfd


def _standard_normal(num_samples, seed, event_shape: tuple, dtype) -> tf.Tensor:
    """`[num_samples, *event_shape]` standard normal draws from Philox."""
    shape = tf.concat([tf.reshape(num_samples, [1]), tf.constant(event_shape, tf.int32)], axis=0)
    return tf.random.stateless_normal(shape, seed, dtype=dtype, alg="philox")


class _BaseDistribution(keras.layers.Layer):
    """A distribution over events of shape `event_shape` as a Keras layer; weights, if any, made in `__init__`."""

    def __init__(self, event_shape: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.event_shape = tuple(int(d) for d in event_shape)

    def get_config(self):
        return {**super().get_config(), "event_shape": list(self.event_shape)}


@keras.saving.register_keras_serializable("kerasflows")
class StandardNormal(_BaseDistribution):
    """`p(z) = prod_i N(z_i; 0, 1)` over an event of shape `event_shape`.

    Args:
        event_shape: shape of one event.
    """

    def __init__(self, event_shape: Sequence[int], **kwargs):
        super().__init__(event_shape, **kwargs)
        self.built = True

    def distribution(self, context=None) -> tfd.Distribution:
        """The distribution as a `tfd.Distribution` with event shape `event_shape`."""
        zeros = tf.zeros(self.event_shape, self.compute_dtype)
        return tfd.Independent(tfd.Normal(zeros, 1.0), reinterpreted_batch_ndims=len(self.event_shape))

    def sample(self, num_samples, seed, context=None) -> tf.Tensor:
        """`[num_samples, *event_shape]` draws, stateless in the int32 `[2]` `seed` (Philox)."""
        return _standard_normal(num_samples, seed, self.event_shape, self.compute_dtype)


@keras.saving.register_keras_serializable("kerasflows")
class DiagonalNormal(_BaseDistribution):
    """`p(z) = prod_i N(z_i; m_i, exp(s_i))` with learnable `m` and `s`, both starting at 0 (standard normal).

    Args:
        event_shape: shape of one event.

    Example:
        >>> model = kf.MAF([2], base=kf.distributions.DiagonalNormal([2]))
    """

    def __init__(self, event_shape: Sequence[int], **kwargs):
        super().__init__(event_shape, **kwargs)
        self.loc = self.add_weight(shape=self.event_shape, initializer="zeros", name="loc")
        self.log_scale = self.add_weight(shape=self.event_shape, initializer="zeros", name="log_scale")
        self.built = True

    def distribution(self, context=None) -> tfd.Distribution:
        """The distribution as a `tfd.Distribution` with event shape `event_shape`."""
        normal = tfd.Normal(tf.convert_to_tensor(self.loc), tf.exp(self.log_scale))
        return tfd.Independent(normal, reinterpreted_batch_ndims=len(self.event_shape))

    def sample(self, num_samples, seed, context=None) -> tf.Tensor:
        """`[num_samples, *event_shape]` draws `m + exp(s) * eps`, stateless in the int32 `[2]` `seed` (Philox)."""
        return self.loc + tf.exp(self.log_scale) * _standard_normal(
            num_samples, seed, self.event_shape, self.compute_dtype
        )


@keras.saving.register_keras_serializable("kerasflows")
class GaussianMixture(_BaseDistribution):
    """`p(z) = sum_k softmax(a)_k prod_i N(z_i; m_ki, exp(s_ki))`, K diagonal Gaussians, all learnable.

    The logits `a` start at 0 (equal weights) and the log-scales `s` at 0;
    the means `m` start at fixed pseudo-random points (the same for every
    instance of a shape, no seed needed) with standard deviation `init_scale`,
    so the components start apart and training can tell them apart. Sampling
    draws the component by the Gumbel-max trick, `argmax_k(a_k + G_k)` with
    `G_k = -log(-log U_k)`, then the Gaussian, all from Philox streams split
    off the one seed.

    Args:
        event_shape: shape of one event.
        num_components: number of components `K`.
        init_scale: standard deviation of the initial means.

    Raises:
        ValueError: if `num_components < 1`.

    Example:
        >>> model = kf.MAF([2], base=kf.distributions.GaussianMixture([2], num_components=4))
    """

    def __init__(self, event_shape: Sequence[int], num_components: int, init_scale: float = 1.0, **kwargs):
        super().__init__(event_shape, **kwargs)
        if int(num_components) < 1:
            raise ValueError(f"Expected num_components >= 1, Received: num_components={num_components}.")
        self.num_components = int(num_components)
        self.init_scale = float(init_scale)
        shape = (self.num_components, *self.event_shape)
        # Fixed points: reproducible without a seed, and independent of Keras' global random state.
        locs = init_scale * np.random.default_rng(self.num_components).standard_normal(shape)
        self.logits = self.add_weight(shape=(self.num_components,), initializer="zeros", name="logits")
        self.locs = self.add_weight(shape=shape, initializer=keras.initializers.Constant(locs), name="locs")
        self.log_scales = self.add_weight(shape=shape, initializer="zeros", name="log_scales")
        self.built = True

    def distribution(self, context=None) -> tfd.Distribution:
        """The mixture as a `tfd.MixtureSameFamily` with event shape `event_shape`."""
        components = tfd.Independent(
            tfd.Normal(tf.convert_to_tensor(self.locs), tf.exp(self.log_scales)),
            reinterpreted_batch_ndims=len(self.event_shape),
        )
        return tfd.MixtureSameFamily(tfd.Categorical(logits=tf.convert_to_tensor(self.logits)), components)

    def sample(self, num_samples, seed, context=None) -> tf.Tensor:
        """`[num_samples, *event_shape]` draws, stateless in the int32 `[2]` `seed` (Philox)."""
        component_seed, noise_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2, alg="philox"))
        dtype = self.compute_dtype
        shape = tf.stack([tf.reshape(num_samples, []), self.num_components])
        uniform = tf.random.stateless_uniform(
            shape, component_seed, minval=np.finfo(dtype).tiny, maxval=1.0, dtype=dtype, alg="philox"
        )
        component = tf.argmax(self.logits - tf.math.log(-tf.math.log(uniform)), axis=-1)
        noise = _standard_normal(num_samples, noise_seed, self.event_shape, dtype)
        return tf.gather(self.locs, component) + tf.gather(tf.exp(self.log_scales), component) * noise

    def get_config(self):
        return {**super().get_config(), "num_components": self.num_components, "init_scale": self.init_scale}
