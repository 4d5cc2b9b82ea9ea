"""Glow: a multi-scale flow for images of integer pixels."""

import itertools
from collections.abc import Sequence

import keras
import tensorflow as tf

from kerasflows.layers import (
    ActNorm,
    AffineCoupling,
    Dequantize,
    FactorOut,
    InvertibleConv1x1,
    Logit,
    Squeeze,
)
from kerasflows.model import FlowModel, embedded_context_shape
from kerasflows.presets import Assembled


@keras.saving.register_keras_serializable("kerasflows")
class Glow(Assembled):
    """Glow on `[H, W, C]` images whose pixels are integers in `[0, num_bins)`.

    Data to base: `Dequantize` (uniform noise in training; the NLL counts
    the rescaling, so it is that of the pixels) and `Logit`, then
    `num_levels` levels of `Squeeze`, `steps_per_level` steps of
    `ActNorm -> InvertibleConv1x1 -> AffineCoupling` (channel split,
    convolutional conditioner), and, between levels, a coupling for the
    learned prior `p(x_b | x_a)` and a `FactorOut` that sends half of the
    channels to the base. `fit` initialises the ActNorm layers from its
    first batch and reports `bits_per_dim`; `sample` returns pixels (rounded
    and clipped to the data range); `forward`/`inverse` map between real
    pixel values and the latent `[H / 2, W / 2, 4 C]` for interpolation.
    Reference: Kingma & Dhariwal, "Glow: Generative Flow with Invertible
    1x1 Convolutions", NeurIPS 2018.

    Args:
        image_shape: `[height, width, channels]`, height and width divisible
            by `2 ** num_levels`.
        num_levels: levels of the multi-scale architecture.
        steps_per_level: flow steps in each level.
        hidden_channels: channels of each hidden convolution of the couplings.
        num_bins: number of pixel values (256 for 8-bit images, 17 for digits).
        learned_prior: a coupling for `p(x_b | x_a)` where channels are
            factored out, instead of a standard normal.
        alpha: margin of the logit transform.
        context_shape: shape of one context row for a conditional Glow.
            A `context_embedding` keyword (see `FlowModel`) may map it first.
        seed: seed of the 1x1 convolutions' initial rotations.

    Example:
        >>> model = kf.Glow([8, 8, 1], num_levels=2, steps_per_level=4, num_bins=17)
        >>> model.compile(keras.optimizers.Adam(1e-3))
        >>> model.fit(kf.datasets.digits("train"), epochs=20)
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        num_levels: int = 3,
        steps_per_level: int = 8,
        hidden_channels: int = 128,
        num_bins: int = 256,
        learned_prior: bool = True,
        alpha: float = 0.05,
        context_shape: Sequence[int] | None = None,
        seed: int | None = 0,
        **kwargs,
    ):
        height, width = (int(d) for d in image_shape[:2]) if len(image_shape) == 3 else (0, 0)
        if len(image_shape) != 3 or int(num_levels) < 1 or height % 2**num_levels or width % 2**num_levels:
            raise ValueError(
                f"Expected image_shape [height, width, channels] with height and width divisible by "
                f"2 ** num_levels, Received: image_shape={list(image_shape)}, num_levels={num_levels}."
            )
        if int(steps_per_level) < 1:
            raise ValueError(f"Expected steps_per_level >= 1, Received: {steps_per_level}.")
        dtype = kwargs.get("dtype")
        coupling_context_shape = embedded_context_shape(kwargs.get("context_embedding"), context_shape)
        rotation_seeds = itertools.count(0 if seed is None else int(seed))

        def coupling(reverse_mask=False):
            return AffineCoupling(
                (hidden_channels, hidden_channels), reverse_mask, context_shape=coupling_context_shape, dtype=dtype
            )

        def level(index: int) -> list:
            """The level's layers, base side first."""
            data_to_base = [Squeeze(dtype=dtype)]
            for _ in range(steps_per_level):
                rotation = InvertibleConv1x1(seed=None if seed is None else next(rotation_seeds), dtype=dtype)
                data_to_base += [ActNorm(dtype=dtype), rotation, coupling()]
            if index + 1 < num_levels:
                data_to_base += [coupling()] if learned_prior else []
                data_to_base.append(FactorOut(level(index + 1), dtype=dtype))
            return data_to_base[::-1]

        flows = [*level(0), Logit(alpha, dtype=dtype), Dequantize(num_bins, dtype=dtype)]
        super().__init__(flows, image_shape, context_shape=context_shape, bits_per_dim=True, **kwargs)
        self.num_bins = int(num_bins)
        self._hyperparameters = {
            "image_shape": [int(d) for d in image_shape],
            "num_levels": int(num_levels),
            "steps_per_level": int(steps_per_level),
            "hidden_channels": int(hidden_channels),
            "num_bins": int(num_bins),
            "learned_prior": bool(learned_prior),
            "alpha": float(alpha),
            "context_shape": None if context_shape is None else [int(d) for d in context_shape],
            "seed": seed,
        }

    def _samples_from_noise(self, z, context=None, transform=None):
        pixels = tf.round(FlowModel._samples_from_noise(self, z, context, transform))
        return tf.clip_by_value(pixels, 0.0, float(self.num_bins - 1))
