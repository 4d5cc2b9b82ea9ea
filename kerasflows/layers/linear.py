"""Linear flow layers: element-wise affine and a full LU-parametrised matrix."""

import keras
import numpy as np
from tensorflow_probability import bijectors as tfb

from kerasflows.layers.base import FlowLayer


@keras.saving.register_keras_serializable("kerasflows")
class Affine(FlowLayer):
    """Element-wise learnable scale and shift: `x = z * exp(s) + m`.

    `s` and `m` have the event's shape and start at zero (the identity);
    log-det `sum(s)`. Works on events of any rank.

    Example:
        >>> y, log_det = Affine()(np.ones((4, 3), "float32"))
    """

    def build(self, input_shape):
        super().build(input_shape)
        self.log_scale = self.add_weight(shape=self.event_shape, initializer="zeros", name="log_scale")
        self.shift = self.add_weight(shape=self.event_shape, initializer="zeros", name="shift")

    def bijector(self, context=None) -> tfb.Bijector:
        return tfb.Chain([tfb.Shift(self.shift), tfb.Scale(log_scale=self.log_scale)])


@keras.saving.register_keras_serializable("kerasflows")
class LULinear(FlowLayer):
    """A full invertible linear map `x = P L U z`, log-det `sum(log|diag U|)`.

    `L` is unit lower-triangular, `U` upper-triangular, both stored in one
    `[D, D]` weight that starts at the identity; `P` is a fixed permutation
    (the identity unless given), so a fresh layer is the identity. Density
    and sampling cost O(D^2) per point plus an O(D^3) triangular solve setup.

    Args:
        permutation: the fixed permutation `P` as a list, or None.

    Example:
        >>> y, log_det = LULinear()(np.ones((4, 3), "float32"))
    """

    def __init__(self, permutation=None, **kwargs):
        super().__init__(**kwargs)
        self.permutation = None if permutation is None else [int(i) for i in permutation]

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"Expected inputs of shape [batch, features], Received: shape {tuple(input_shape)}.")
        super().build(input_shape)
        size = input_shape[-1]
        if self.permutation is not None and sorted(self.permutation) != list(range(size)):
            raise ValueError(f"Expected a permutation of range({size}), Received: {self.permutation}.")
        self.lower_upper = self.add_weight(shape=(size, size), initializer="identity", name="lower_upper")
        self._permutation = np.arange(size) if self.permutation is None else np.asarray(self.permutation)

    def bijector(self, context=None) -> tfb.Bijector:
        return tfb.ScaleMatvecLU(self.lower_upper, self._permutation)

    def get_config(self):
        return {**super().get_config(), "permutation": self.permutation}
