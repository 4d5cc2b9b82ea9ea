"""Flow layers between discrete pixels and the real line: dequantization and the logit transform."""

import keras
import tensorflow as tf
from tensorflow_probability import bijectors as tfb

from kerasflows import _random as random
from kerasflows.layers.base import FlowLayer


@keras.saving.register_keras_serializable("kerasflows")
class Dequantize(FlowLayer):
    """Integer pixels `x` in `[0, num_bins)` to `u = (x + 1/2) / num_bins` in `(0, 1)`, and back.

    In training, uniform noise `U[-1/2, 1/2)` is added to the data first, so
    the flow fits a density over the unit cells around the integers and its
    NLL bounds the discrete NLL from above (Theis et al., ICLR 2016); the
    log-det `-D log(num_bins)` is counted, so likelihoods are those of the
    pixels. Outside training `log_prob` evaluates the density at the cell
    centres: deterministic, and close to the discrete log-probability for a
    smooth density. Sampling returns reals in about `[-1/2, num_bins - 1/2)`;
    round them to get pixels.

    Args:
        num_bins: number of pixel values (256 for 8-bit images, 17 for digits).
        seed: seed of the training noise.
    """

    def __init__(self, num_bins: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if int(num_bins) < 2:
            raise ValueError(f"Expected num_bins >= 2, Received: num_bins={num_bins}.")
        self.num_bins = int(num_bins)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def bijector(self, context=None) -> tfb.Bijector:
        dtype = self.compute_dtype
        return tfb.Chain([tfb.Shift(tf.constant(-0.5, dtype)), tfb.Scale(tf.constant(float(self.num_bins), dtype))])

    def call(self, x, context=None, inverse: bool = False, training=None):
        if training and inverse:
            x = x + random.uniform(tf.shape(x), -0.5, 0.5, x.dtype, self.seed_generator)
        return self.apply(self.bijector(), x, inverse)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "seed": self.seed}


@keras.saving.register_keras_serializable("kerasflows")
class Logit(FlowLayer):
    """RealNVP's logit transform: data `u` in `(0, 1)` to base `y = logit(a + (1 - 2a) u)`.

    The squeeze by `alpha = a` keeps `y` finite at the edges of the unit
    interval; sampling applies `u = (sigmoid(y) - a) / (1 - 2a)`.
    Reference: Dinh et al., "Density estimation using Real NVP", ICLR 2017.

    Args:
        alpha: the margin `a`, in `[0, 0.5)`.
    """

    def __init__(self, alpha: float = 0.05, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= alpha < 0.5:
            raise ValueError(f"Expected 0 <= alpha < 0.5, Received: alpha={alpha}.")
        self.alpha = float(alpha)

    def bijector(self, context=None) -> tfb.Bijector:
        dtype = self.compute_dtype
        return tfb.Chain(
            [
                tfb.Scale(tf.constant(1.0 / (1.0 - 2.0 * self.alpha), dtype)),
                tfb.Shift(tf.constant(-self.alpha, dtype)),
                tfb.Sigmoid(),
            ]
        )

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}
