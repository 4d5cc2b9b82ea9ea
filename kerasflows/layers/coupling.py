"""Coupling layers: half of the features parametrise an element-wise transform of the other half."""

from collections.abc import Sequence

import keras
from keras import ops
from tensorflow_probability import bijectors as tfb

from kerasflows.layers import _elementwise
from kerasflows.layers.base import FlowLayer
from kerasflows.nn.conv import ConvNet
from kerasflows.nn.mlp import MLP


class _Coupling(FlowLayer):
    """`x_a = z_a`, `x_b = g(z_b; c(z_a))`, with `a` the first `D // 2` features (the last when `reverse_mask`).

    Flat events `[D]` split features and take an MLP conditioner `c`; image
    events `[H, W, C]` split channels and take a `ConvNet` whose hidden
    channels are `hidden_units`. Forward and inverse both take one pass of `c`.
    Subclasses set `params_per_feature` and `elementwise(params)`, the
    transform `g` given `[..., D - D // 2, params_per_feature]` parameters.
    Alternate `reverse_mask` between layers so that every feature changes.
    """

    params_per_feature = None

    def __init__(
        self,
        hidden_units: Sequence[int] = (128, 128),
        reverse_mask: bool = False,
        activation="relu",
        context_shape: Sequence[int] | None = None,
        **kwargs,
    ):
        super().__init__(context_shape=context_shape, **kwargs)
        self.hidden_units = tuple(int(h) for h in hidden_units)
        self.reverse_mask = bool(reverse_mask)
        self.activation = activation
        self.conditioner = None

    def build(self, input_shape):
        if len(input_shape) not in (2, 4) or input_shape[-1] < 2:
            raise ValueError(
                "Expected inputs of shape [batch, features >= 2] or [batch, height, width, channels >= 2], "
                f"Received: shape {tuple(input_shape)}."
            )
        super().build(input_shape)
        num_masked = input_shape[-1] // 2
        network = MLP if len(input_shape) == 2 else ConvNet
        self.conditioner = network(
            self.params_per_feature * (input_shape[-1] - num_masked),
            self.hidden_units,
            activation=self.activation,
            context_size=self.context_size,
            dtype=self.dtype_policy,
        )
        self.conditioner.build((*input_shape[:-1], num_masked))

    def elementwise(self, params) -> tfb.Bijector:
        """The transform of the conditioned half, given its parameters."""
        raise NotImplementedError(f"{type(self).__name__} must implement `elementwise(params)`.")

    def call(self, x, context=None, inverse: bool = False):
        # What `bijector(context)` computes, with one conditioner pass for the
        # transform and its log-det (TFP's RealNVP runs the conditioner twice).
        size, num_masked = self.event_shape[-1], self.event_shape[-1] // 2
        if self.reverse_mask:
            x_b, x_a = x[..., : size - num_masked], x[..., size - num_masked :]
        else:
            x_a, x_b = x[..., :num_masked], x[..., num_masked:]
        params = self.conditioner(x_a, self.flat_context(context))
        y_b, log_det = self.apply(self.elementwise(self._per_feature(params)), x_b, inverse)
        return ops.concatenate([y_b, x_a] if self.reverse_mask else [x_a, y_b], axis=-1), log_det

    def _per_feature(self, params):
        """`[..., F * P]` conditioner outputs as `[..., F, P]`: `P` parameters for each of `F` features."""
        num_transformed = self.event_shape[-1] - self.event_shape[-1] // 2
        return ops.reshape(params, (-1, *self.event_shape[:-1], num_transformed, self.params_per_feature))

    def bijector(self, context=None) -> tfb.Bijector:
        context = self.flat_context(context)

        def transform(z_a, num_transformed):
            return self.elementwise(self._per_feature(self.conditioner(z_a, context)))

        num_masked = self.event_shape[-1] // 2
        return tfb.RealNVP(num_masked=-num_masked if self.reverse_mask else num_masked, bijector_fn=transform)

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_units": list(self.hidden_units),
            "reverse_mask": self.reverse_mask,
            "activation": self.activation,
        }


@keras.saving.register_keras_serializable("kerasflows")
class AffineCoupling(_Coupling):
    """RealNVP coupling: `x_a = z_a`, `x_b = z_b * exp(s(z_a)) + m(z_a)`.

    `s` is soft-clamped to `[-max_log_scale, max_log_scale]`.
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

    params_per_feature = 2

    def __init__(self, hidden_units=(128, 128), reverse_mask=False, activation="relu", max_log_scale=5.0, **kwargs):
        super().__init__(hidden_units, reverse_mask, activation, **kwargs)
        self.max_log_scale = float(max_log_scale)

    def elementwise(self, params) -> tfb.Bijector:
        return _elementwise.affine(params, self.max_log_scale)

    def get_config(self):
        return {**super().get_config(), "max_log_scale": self.max_log_scale}


@keras.saving.register_keras_serializable("kerasflows")
class AdditiveCoupling(_Coupling):
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

    def elementwise(self, params) -> tfb.Bijector:
        return _elementwise.additive(params)


@keras.saving.register_keras_serializable("kerasflows")
class SplineCoupling(_elementwise.SplineTransform, _Coupling):
    """Neural spline coupling: `x_b = RQS(z_b; c(z_a))`, rational-quadratic on `[-bound, bound]`.

    `num_bins` monotone rational-quadratic pieces per feature; the identity
    outside `[-bound, bound]`, so standardise data to that range first.
    Reference: Durkan et al., "Neural Spline Flows", NeurIPS 2019.

    Args:
        hidden_units: widths of the conditioner's hidden layers.
        reverse_mask: condition on the last features instead of the first.
        activation: hidden activation of the conditioner.
        num_bins: spline pieces `K`.
        bound: half-width of the spline's interval.
        context_shape: shape of one context row, or None.
    """

    def __init__(self, hidden_units=(128, 128), reverse_mask=False, activation="relu", num_bins=8, bound=3.0, **kwargs):
        super().__init__(hidden_units, reverse_mask, activation, **kwargs)
        self.set_spline(num_bins, bound)

    def get_config(self):
        return {**super().get_config(), **self.spline_config()}
