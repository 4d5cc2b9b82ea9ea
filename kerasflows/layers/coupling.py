"""Coupling layers: affine (RealNVP) and additive (NICE)."""

from collections.abc import Sequence

import keras
from tensorflow_probability import bijectors as tfb

from kerasflows.layers._clamp import soft_clamp
from kerasflows.layers.base import FlowLayer
from kerasflows.nn.mlp import MLP


@keras.saving.register_keras_serializable("kerasflows")
class AffineCoupling(FlowLayer):
    """RealNVP coupling: half of the features rescale and shift the other half.

    `x_a = z_a`, `x_b = z_b * exp(s(z_a)) + m(z_a)`, with `a` the first
    `D // 2` features (the last ones when `reverse_mask`). Forward and inverse
    both take one pass of the conditioner; `s` is soft-clamped to
    `[-max_log_scale, max_log_scale]`. Alternate `reverse_mask` between layers
    so that every feature gets transformed.

    Reference: Dinh et al., "Density estimation using Real NVP", ICLR 2017.

    Args:
        hidden_units: widths of the conditioner's hidden layers.
        reverse_mask: condition on the last features instead of the first.
        activation: hidden activation of the conditioner.
        max_log_scale: soft bound on the log-scale.
        context_shape: shape of one context row, or None.

    Example:
        >>> layer = AffineCoupling(hidden_units=(16,))
        >>> y, log_det = layer(np.zeros((4, 3), "float32"))
    """

    def __init__(
        self,
        hidden_units: Sequence[int] = (128, 128),
        reverse_mask: bool = False,
        activation="relu",
        max_log_scale: float = 5.0,
        context_shape: Sequence[int] | None = None,
        **kwargs,
    ):
        super().__init__(context_shape=context_shape, **kwargs)
        self.hidden_units = tuple(int(h) for h in hidden_units)
        self.reverse_mask = bool(reverse_mask)
        self.activation = activation
        self.max_log_scale = float(max_log_scale)
        self.conditioner = None

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] < 2:
            raise ValueError(f"Expected inputs of shape [batch, features >= 2], Received: shape {tuple(input_shape)}.")
        super().build(input_shape)
        num_masked = input_shape[-1] // 2
        self.conditioner = MLP(
            output_units=self.params_per_feature * (input_shape[-1] - num_masked),
            hidden_units=self.hidden_units,
            activation=self.activation,
            context_size=self.context_size,
            dtype=self.dtype_policy,
        )
        self.conditioner.build((None, num_masked))

    params_per_feature = 2

    def _shift_and_log_scale(self, params):
        shift, log_scale = keras.ops.split(params, 2, axis=-1)
        return shift, soft_clamp(log_scale, self.max_log_scale)

    def bijector(self, context=None) -> tfb.Bijector:
        context = self.flat_context(context)

        def shift_and_log_scale(z_a, output_units):
            return self._shift_and_log_scale(self.conditioner(z_a, context))

        num_masked = self.event_shape[-1] // 2
        return tfb.RealNVP(
            num_masked=-num_masked if self.reverse_mask else num_masked,
            shift_and_log_scale_fn=shift_and_log_scale,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_units": list(self.hidden_units),
            "reverse_mask": self.reverse_mask,
            "activation": self.activation,
            "max_log_scale": self.max_log_scale,
        }


@keras.saving.register_keras_serializable("kerasflows")
class AdditiveCoupling(AffineCoupling):
    """NICE coupling: `x_a = z_a`, `x_b = z_b + m(z_a)`; volume preserving (log-det 0).

    Reference: Dinh et al., "NICE: Non-linear Independent Components
    Estimation", ICLR 2015 workshop.

    Args:
        hidden_units: widths of the conditioner's hidden layers.
        reverse_mask: condition on the last features instead of the first.
        activation: hidden activation of the conditioner.
        context_shape: shape of one context row, or None.
    """

    params_per_feature = 1

    def __init__(self, hidden_units=(128, 128), reverse_mask=False, activation="relu", context_shape=None, **kwargs):
        super().__init__(hidden_units, reverse_mask, activation, context_shape=context_shape, **kwargs)

    def _shift_and_log_scale(self, params):
        return params, None

    def get_config(self):
        config = super().get_config()
        config.pop("max_log_scale")
        return config
