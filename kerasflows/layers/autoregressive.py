"""Autoregressive flow layers: masked (MAF), inverse (IAF) and spline (MAF with splines)."""

from collections.abc import Sequence

import keras
from tensorflow_probability import bijectors as tfb

from kerasflows.layers import _elementwise
from kerasflows.layers.base import FlowLayer
from kerasflows.nn.made import MADE


@keras.saving.register_keras_serializable("kerasflows")
class MaskedAutoregressive(FlowLayer):
    """One MAF step: an affine autoregressive transform conditioned by a MADE.

    `x_i = z_i * exp(s_i(x_<i)) + m_i(x_<i)` in the forward (sampling)
    direction. Density evaluation (`inverse`) takes one pass of the MADE;
    sampling (`forward`) takes D sequential passes, so prefer IAF or coupling
    layers when sampling speed matters. `s` is soft-clamped to
    `[-max_log_scale, max_log_scale]`.

    Reference: Papamakarios et al., "Masked Autoregressive Flow for Density
    Estimation", NeurIPS 2017.

    Args:
        hidden_units: widths of the MADE's hidden layers.
        input_order: autoregressive order ("left-to-right", "right-to-left",
            "random" or a permutation of 1..D).
        activation: hidden activation of the MADE.
        max_log_scale: soft bound on the log-scale.
        context_shape: shape of one context row, or None.

    Example:
        >>> layer = MaskedAutoregressive(hidden_units=(16,))
        >>> y, log_det = layer(np.zeros((4, 3), "float32"))
    """

    params_per_feature = 2
    # From this many features on, the MADE holds its outputs parameter by parameter: a MAF's compiled
    # log_prob on 10,000 rows ran 1.02x-1.06x at D = 24 to 128 with it, 0.98x at D = 8 and 16
    # (benchmarks/bench_made_layout.py on a 2-core Zen 4). None keeps the interleaved layout.
    grouped_output_from = 32

    def __init__(
        self,
        hidden_units: Sequence[int] = (128, 128),
        input_order: str | Sequence[int] = "left-to-right",
        activation="relu",
        max_log_scale: float = 5.0,
        context_shape: Sequence[int] | None = None,
        **kwargs,
    ):
        super().__init__(context_shape=context_shape, **kwargs)
        self.hidden_units = tuple(int(h) for h in hidden_units)
        self.input_order = input_order
        self.activation = activation
        self.max_log_scale = float(max_log_scale)
        self.made = None

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"Expected inputs of shape [batch, features], Received: shape {tuple(input_shape)}.")
        super().build(input_shape)
        self.made = MADE(
            event_size=input_shape[-1],
            num_params=self.params_per_feature,
            hidden_units=self.hidden_units,
            input_order=self.input_order,
            activation=self.activation,
            context_size=self.context_size,
            grouped_output=self.grouped_output_from is not None and input_shape[-1] >= self.grouped_output_from,
            dtype=self.dtype_policy,
        )
        self.made.build(input_shape)
        self.input_order = self.made.input_order

    def elementwise(self, params) -> tfb.Bijector:
        """The element-wise transform, given `[..., D, params_per_feature]` MADE outputs."""
        return _elementwise.affine(params, self.max_log_scale)

    def _masked_flow(self, flat_context) -> tfb.Bijector:
        return tfb.MaskedAutoregressiveFlow(bijector_fn=lambda y: self.elementwise(self.made(y, flat_context)))

    def bijector(self, context=None) -> tfb.Bijector:
        return self._masked_flow(self.flat_context(context))

    def call(self, x, context=None, inverse: bool = False):
        context = self.flat_context(context)
        if inverse:
            # Density: one MADE pass gives the element-wise transform, its inverse and its
            # log-det (TFP's MaskedAutoregressiveFlow runs the MADE twice).
            return self.apply(self.elementwise(self.made(x, context)), x, inverse=True)
        return self.apply(self._masked_flow(context), x)

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_units": list(self.hidden_units),
            "input_order": self.input_order,
            "activation": self.activation,
            "max_log_scale": self.max_log_scale,
        }


@keras.saving.register_keras_serializable("kerasflows")
class InverseAutoregressive(MaskedAutoregressive):
    """One IAF step: MAF run backwards, so sampling is fast and density is slow.

    `x_i = (z_i - m_i(z_<i)) * exp(-s_i(z_<i))` in the forward (sampling)
    direction: one MADE pass. `inverse` (density of external data) still
    works but takes D sequential passes, as MAF's sampling does. Use it where
    the flow is sampled far more than evaluated on data: variational
    posteriors, reverse-KL training.

    Reference: Kingma et al., "Improved Variational Inference with Inverse
    Autoregressive Flow", NeurIPS 2016.

    Args: as `MaskedAutoregressive`.
    """

    def bijector(self, context=None) -> tfb.Bijector:
        return tfb.Invert(super().bijector(context))

    def call(self, x, context=None, inverse: bool = False):
        # IAF's forward is MAF's inverse (one MADE pass), its inverse MAF's forward.
        return super().call(x, context, inverse=not inverse)


@keras.saving.register_keras_serializable("kerasflows")
class MaskedSplineAutoregressive(_elementwise.SplineTransform, MaskedAutoregressive):
    """Autoregressive neural spline step: `x_i = RQS(z_i; MADE(x_<i))` on `[-bound, bound]`.

    The identity outside `[-bound, bound]`; density in one MADE pass,
    sampling in D. Reference: Durkan et al., "Neural Spline Flows", NeurIPS
    2019.

    Args:
        hidden_units: widths of the MADE's hidden layers.
        input_order: autoregressive order.
        activation: hidden activation of the MADE.
        num_bins: spline pieces `K`.
        bound: half-width of the spline's interval.
        context_shape: shape of one context row, or None.
    """

    # The spline reads each feature's parameters together.
    grouped_output_from = None

    def __init__(
        self, hidden_units=(128, 128), input_order="left-to-right", activation="relu", num_bins=8, bound=3.0, **kwargs
    ):
        super().__init__(hidden_units, input_order, activation, **kwargs)
        self.set_spline(num_bins, bound)

    def get_config(self):
        config = super().get_config()
        config.pop("max_log_scale")
        return {**config, **self.spline_config()}
