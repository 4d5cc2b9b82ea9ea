"""Element-wise transforms that coupling and autoregressive layers apply, from conditioner outputs."""

import tensorflow as tf
from tensorflow_probability import bijectors as tfb

from kerasflows.layers._spline import BoundedSpline


def soft_clamp(log_scale, bound: float):
    """`bound * tanh(log_scale / bound)`: the identity near 0, never past `+-bound`."""
    return bound * tf.tanh(log_scale / bound)


def affine(params, max_log_scale: float) -> tfb.Bijector:
    """`y = x * exp(s) + m` from `params[..., :] = (m, s)`, `s` soft-clamped."""
    return tfb.Chain([tfb.Shift(params[..., 0]), tfb.Scale(log_scale=soft_clamp(params[..., 1], max_log_scale))])


def additive(params) -> tfb.Bijector:
    """`y = x + m` from `params[..., 0] = m`."""
    return tfb.Shift(params[..., 0])


def spline(params, bound: float) -> tfb.Bijector:
    """A rational-quadratic spline on `[-bound, bound]` from `3K - 1` params per element."""
    return BoundedSpline(params, bound)
