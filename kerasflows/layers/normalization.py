"""Normalising flow layers: Glow's activation normalisation and RealNVP's batch normalisation."""

import keras
import tensorflow as tf
from tensorflow_probability import bijectors as tfb

from kerasflows.layers.base import FlowLayer
from kerasflows.layers.linear import Affine


def _channel_moments(x):
    """Mean and variance of each channel (the last axis) over every other axis."""
    return tf.nn.moments(x, axes=list(range(len(x.shape) - 1)))


@keras.saving.register_keras_serializable("kerasflows")
class ActNorm(Affine):
    """Per-channel scale and shift, `x = z * exp(s) + m`, set from the first batch of data.

    `initialize(x)` (which `FlowModel.fit` calls on its first batch) sets
    `m` and `exp(s)` to the per-channel mean and standard deviation of `x`,
    so that the layer's output on the base side has zero mean and unit
    variance per channel; both are then trained as ordinary weights. Before
    that the layer is the identity. log-det `H * W * sum(s)` for images
    `[H, W, C]`; channels are the last axis of any event.
    Reference: Kingma & Dhariwal, "Glow", NeurIPS 2018.

    Example:
        >>> layer = ActNorm()
        >>> layer.build((None, 8, 8, 3)); layer.initialize(images)
    """

    def parameter_shape(self, input_shape) -> tuple:
        return (input_shape[-1],)

    def build(self, input_shape):
        super().build(input_shape)
        self.initialized = self.add_weight(shape=(), initializer="zeros", trainable=False, name="initialized")

    @property
    def needs_initialization(self) -> bool:
        return not bool(self.initialized.numpy())

    def initialize(self, x, context=None) -> None:
        if not self.needs_initialization:
            return
        mean, variance = _channel_moments(tf.cast(x, self.variable_dtype))
        self.shift.assign(mean)
        self.log_scale.assign(0.5 * tf.math.log(variance + 1e-6))
        self.initialized.assign(1.0)


@keras.saving.register_keras_serializable("kerasflows")
class BatchNorm(FlowLayer):
    """Batch normalisation as a bijection: data to base `z = (x - mu) / sqrt(v + eps) * exp(g) + b`.

    In training the statistics `(mu, v)` are those of the batch on the data
    side, and the moving averages are updated; otherwise the moving averages
    are used, so density and sampling are one fixed affine map. log-det
    (data to base) `sum(g - log(v + eps) / 2)` per pixel. The moving average
    is that of `v + eps` and starts at 1, so a fresh layer is the identity.
    Channels are the last axis. Reference: Dinh et al., "Density estimation using Real NVP",
    ICLR 2017.

    Args:
        momentum: weight of the old value in the moving averages.
        epsilon: added to the variance.
    """

    # Each row's training output depends on the batch's statistics.
    rows_independent_in_training = False

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= momentum < 1.0 or not 0.0 < epsilon < 1.0:
            raise ValueError(f"Expected 0 <= momentum < 1 and 0 < epsilon < 1, Received: {momentum=}, {epsilon=}.")
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        super().build(input_shape)
        channels = (input_shape[-1],)
        self.log_gamma = self.add_weight(shape=channels, initializer="zeros", name="log_gamma")
        self.beta = self.add_weight(shape=channels, initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(shape=channels, initializer="zeros", trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(
            shape=channels, initializer="ones", trainable=False, name="moving_variance"
        )

    def _normalization(self, mean, variance) -> tfb.Bijector:
        # Base to data: x = (z - b) * exp(log(variance) / 2 - g) + mu, variance including eps.
        log_scale = 0.5 * tf.math.log(variance) - self.log_gamma
        return tfb.Chain([tfb.Shift(mean), tfb.Scale(log_scale=log_scale), tfb.Shift(-self.beta)])

    def bijector(self, context=None) -> tfb.Bijector:
        return self._normalization(self.moving_mean, self.moving_variance)

    def call(self, x, context=None, inverse: bool = False, training=None):
        if not (training and inverse):
            return self.apply(self.bijector(), x, inverse)
        mean, variance = _channel_moments(x)
        variance = variance + self.epsilon
        for moving, batch in ((self.moving_mean, mean), (self.moving_variance, variance)):
            moving.assign(self.momentum * moving + (1.0 - self.momentum) * batch)
        return self.apply(self._normalization(mean, variance), x, inverse)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}
