"""Element-wise transforms that coupling and autoregressive layers apply, from conditioner outputs."""

import tensorflow as tf
from tensorflow_probability import bijectors as tfb

from kerasflows.layers._spline import BoundedSpline, params_per_feature


def soft_clamp(log_scale, bound: float):
    """`bound * tanh(log_scale / bound)`: the identity near 0, never past `+-bound`."""
    return bound * tf.tanh(log_scale / bound)


def affine(params, max_log_scale: float) -> tfb.Bijector:
    """`y = x * exp(s) + m` from `params[..., :] = (m, s)`, `s` soft-clamped."""
    return tfb.Chain([tfb.Shift(params[..., 0]), tfb.Scale(log_scale=soft_clamp(params[..., 1], max_log_scale))])


def additive(params) -> tfb.Bijector:
    """`y = x + m` from `params[..., 0] = m`."""
    return tfb.Shift(params[..., 0])


class SplineTransform:
    """Mixin for layers whose element-wise transform is a rational-quadratic spline on `[-bound, bound]`."""

    def set_spline(self, num_bins: int, bound: float) -> None:
        """Stores the spline's hyper-parameters; `3K - 1` conditioner outputs per feature."""
        self.num_bins = int(num_bins)
        self.bound = float(bound)
        self.params_per_feature = params_per_feature(self.num_bins)

    def elementwise(self, params) -> tfb.Bijector:
        return BoundedSpline(params, self.bound)

    def spline_config(self) -> dict:
        """The spline's entries of `get_config`."""
        return {"num_bins": self.num_bins, "bound": self.bound}
