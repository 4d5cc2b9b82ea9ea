"""Unnormalised target densities with known normalisers, and a flow fitted to one by reverse KL."""

import math

import keras
import tensorflow as tf

import kerasflows as kf

# A banana: x1 ~ N(0, S^2), x2 | x1 ~ N(B x1^2, 1), unnormalised; Z = 2 pi S.
S, B = 1.0, 0.8
LOG_Z = math.log(2 * math.pi * S)
MEAN = (0.0, B * S**2)
VARIANCE = (S**2, 1 + 2 * B**2 * S**4)


@keras.saving.register_keras_serializable("kerasflows_tests")
def banana(x: tf.Tensor) -> tf.Tensor:
    return -0.5 * (x[:, 0] / S) ** 2 - 0.5 * (x[:, 1] - B * x[:, 0] ** 2) ** 2


def fit_banana() -> tuple[kf.VariationalFlow, dict]:
    """A RealNVP fitted to `banana` (1200 steps of 256 draws) and its training history."""
    keras.utils.set_random_seed(0)
    vi = kf.VariationalFlow(kf.RealNVP([2], num_flows=4, hidden_units=(32, 32)), banana, num_samples=256, seed=0)
    vi.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(5e-3, 1200)))
    history = vi.fit(epochs=12, steps_per_epoch=100, verbose=0)
    return vi, history.history
