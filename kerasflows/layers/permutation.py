"""Fixed permutations of the features."""

from collections.abc import Sequence

import keras
from tensorflow_probability import bijectors as tfb

from kerasflows.layers.base import FlowLayer


@keras.saving.register_keras_serializable("kerasflows")
class Permute(FlowLayer):
    """`x = z[permutation]`: a volume-preserving reordering (log-det 0).

    Args:
        permutation: a permutation of `range(D)`.

    Example:
        >>> y, log_det = Permute([2, 0, 1])(np.eye(3, dtype="float32"))
    """

    def __init__(self, permutation: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.permutation = [int(i) for i in permutation]
        if sorted(self.permutation) != list(range(len(self.permutation))):
            raise ValueError(f"Expected a permutation of range({len(self.permutation)}), Received: {self.permutation}.")

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] != len(self.permutation):
            raise ValueError(
                f"Expected inputs of shape [batch, {len(self.permutation)}], Received: shape {tuple(input_shape)}."
            )
        super().build(input_shape)

    def bijector(self, context=None) -> tfb.Bijector:
        return tfb.Permute(self.permutation)

    def get_config(self):
        config = super().get_config()
        config.pop("context_shape")
        return {**config, "permutation": self.permutation}


@keras.saving.register_keras_serializable("kerasflows")
class Reverse(FlowLayer):
    """`x = z[::-1]`: reverses the order of the features (log-det 0)."""

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"Expected inputs of shape [batch, features], Received: shape {tuple(input_shape)}.")
        super().build(input_shape)

    def bijector(self, context=None) -> tfb.Bijector:
        return tfb.Permute(list(reversed(range(self.event_shape[-1]))))

    def get_config(self):
        config = super().get_config()
        config.pop("context_shape")
        return config
