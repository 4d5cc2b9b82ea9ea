"""A rational-quadratic spline on `[-bound, bound]`, the identity outside, safe to differentiate."""

import numpy as np
import tensorflow as tf
from keras import ops
from tensorflow_probability import bijectors as tfb

MIN_BIN_SIZE = 1e-3
MIN_SLOPE = 1e-3
# softplus(raw + _SLOPE_OFFSET) + MIN_SLOPE == 1 at raw == 0, so zero parameters give the identity.
_SLOPE_OFFSET = float(np.log(np.expm1(1.0 - MIN_SLOPE)))


def params_per_feature(num_bins: int) -> int:
    """Widths, heights and interior knot slopes: `3K - 1`.

    Raises:
        ValueError: if `num_bins < 2`.
    """
    if num_bins < 2:
        raise ValueError(f"Expected num_bins >= 2, Received: num_bins={num_bins}.")
    return 3 * num_bins - 1


class BoundedSpline(tfb.Bijector):
    """Element-wise `y = RQS(clip(x)) + (x - clip(x))`, `clip` to `[-bound, bound]`.

    Inside the bounds this is TFP's `RationalQuadraticSpline`; outside it is
    the identity, as TFP's is, but the spline only ever sees clipped inputs,
    so its gradients stay finite for any input. Zero parameters give the
    identity. Reference: Durkan et al., "Neural Spline Flows", NeurIPS 2019.

    Args:
        params: `[..., 3K - 1]` unconstrained parameters per element.
        bound: half-width of the spline's interval.
    """

    def __init__(self, params, bound: float):
        num_bins = (params.shape[-1] + 1) // 3
        widths, heights, slopes = tf.split(params, [num_bins, num_bins, num_bins - 1], axis=-1)

        def bins(raw):
            return (MIN_BIN_SIZE + (1 - MIN_BIN_SIZE * num_bins) * tf.nn.softmax(raw, axis=-1)) * 2 * bound

        self._spline = tfb.RationalQuadraticSpline(
            bins(widths), bins(heights), tf.nn.softplus(slopes + _SLOPE_OFFSET) + MIN_SLOPE, range_min=-bound
        )
        self._bound = bound
        super().__init__(forward_min_event_ndims=0, is_constant_jacobian=False, name="bounded_spline")

    def _clip(self, value):
        return ops.clip(value, -self._bound, self._bound)

    def _forward(self, x):
        inner = self._clip(x)
        return self._spline.forward(inner) + (x - inner)

    def _inverse(self, y):
        inner = self._clip(y)
        return self._spline.inverse(inner) + (y - inner)

    def _forward_log_det_jacobian(self, x):
        inner = self._clip(x)
        return tf.where(tf.equal(inner, x), self._spline.forward_log_det_jacobian(inner, 0), tf.zeros_like(x))

    def _inverse_log_det_jacobian(self, y):
        inner = self._clip(y)
        return tf.where(tf.equal(inner, y), self._spline.inverse_log_det_jacobian(inner, 0), tf.zeros_like(y))
