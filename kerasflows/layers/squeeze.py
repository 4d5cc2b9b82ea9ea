"""Squeeze: trades spatial resolution for channels, the reshaping step of multi-scale image flows."""

import keras
from tensorflow_probability import bijectors as tfb

from kerasflows.layers.base import FlowLayer


@keras.saving.register_keras_serializable("kerasflows")
class Squeeze(FlowLayer):
    """Space to depth towards the base: data `[H, W, C]` <-> base `[H/f, W/f, f*f*C]`; log-det 0.

    Each `f x f` block of pixels becomes one pixel with `f*f*C` channels,
    so the layers on the base side see larger receptive fields; sampling
    does the reverse (depth to space). A pure permutation of the values.
    Reference: Dinh et al., "Density estimation using Real NVP", ICLR 2017.

    Args:
        factor: side of the blocks, `f`.

    Example:
        >>> model = kf.FlowModel([kf.layers.AffineCoupling(), kf.layers.Squeeze()], event_shape=[8, 8, 1])
        >>> model.latent_shape
        (4, 4, 4)
    """

    def __init__(self, factor: int = 2, **kwargs):
        super().__init__(**kwargs)
        if int(factor) < 2:
            raise ValueError(f"Expected factor >= 2, Received: factor={factor}.")
        self.factor = int(factor)

    def inverse_event_shape(self, event_shape: tuple) -> tuple:
        if len(event_shape) != 3 or event_shape[0] % self.factor or event_shape[1] % self.factor:
            raise ValueError(
                f"Expected images [height, width, channels] with height and width divisible by {self.factor}, "
                f"Received: event_shape {list(event_shape)}."
            )
        height, width, channels = event_shape
        return (height // self.factor, width // self.factor, channels * self.factor**2)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, height * self.factor, width * self.factor, channels // self.factor**2)

    def bijector(self, context=None) -> tfb.Bijector:
        height, width, channels = self.event_shape
        f = self.factor
        blocks = (height, width, f, f, channels // f**2)
        return tfb.Chain(
            [
                tfb.Reshape(
                    (height * f, width * f, channels // f**2), event_shape_in=(height, f, width, f, blocks[-1])
                ),
                tfb.Transpose(perm=[0, 2, 1, 3, 4]),
                tfb.Reshape(blocks, event_shape_in=self.event_shape),
            ]
        )

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
