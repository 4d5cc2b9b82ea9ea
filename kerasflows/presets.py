"""Ready-made flows: FlowModel subclasses that only choose their layers."""

from collections.abc import Sequence

import keras

from kerasflows.distributions import StandardNormal
from kerasflows.layers import continuous
from kerasflows.layers.autoregressive import InverseAutoregressive, MaskedAutoregressive, MaskedSplineAutoregressive
from kerasflows.layers.coupling import AdditiveCoupling, AffineCoupling, SplineCoupling
from kerasflows.layers.linear import Affine
from kerasflows.model import FlowModel, embedded_context_shape

_ORDERS = ("input_order", ("left-to-right", "right-to-left"))
_MASKS = ("reverse_mask", (False, True))


class Assembled(FlowModel):
    """A FlowModel whose config is the hyper-parameters its constructor assembles the layers from.

    Subclasses build their layers, call `FlowModel.__init__`, then store the
    constructor's arguments in `self._hyperparameters`. A base distribution
    other than the default standard normal (`base=...`) and a
    `context_embedding` join the config.
    """

    def get_config(self):
        config = {**keras.Model.get_config(self), **self._hyperparameters}
        if not isinstance(self.base, StandardNormal):
            config["base"] = keras.saving.serialize_keras_object(self.base)
        if self.context_embedding is not None:
            config["context_embedding"] = keras.saving.serialize_keras_object(self.context_embedding)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("base", "context_embedding"):
            if key in config:
                config[key] = keras.saving.deserialize_keras_object(config[key], custom_objects)
        return cls(**config)


class _Preset(Assembled):
    """`num_flows` copies of one layer, every other one flipped by `alternate` (None: all alike).

    The config is the core hyper-parameters shared by every preset plus
    `layer_kwargs` and `extra_config`. Other keyword arguments (`base`,
    `context_embedding`, `dtype`, `name`) go to `FlowModel`; the layers
    take the context as `context_embedding` outputs it.
    """

    def __init__(
        self,
        layer: type,
        alternate: tuple[str, tuple] | None,
        event_shape: Sequence[int],
        num_flows: int,
        hidden_units: Sequence[int],
        context_shape: Sequence[int] | None,
        activation: str,
        layer_kwargs: dict | None = None,
        extra_config: dict | None = None,
        base_side_flows: Sequence = (),
        **kwargs,
    ):
        if len(event_shape) != 1:
            raise ValueError(
                f"{type(self).__name__} expects a flat event_shape [features], Received: {list(event_shape)}."
            )
        if int(num_flows) < 1:
            raise ValueError(f"Expected num_flows >= 1, Received: num_flows={num_flows}.")
        layer_kwargs = layer_kwargs or {}
        flow_context_shape = embedded_context_shape(kwargs.get("context_embedding"), context_shape)
        flows = [
            layer(
                hidden_units,
                activation=activation,
                context_shape=flow_context_shape,
                dtype=kwargs.get("dtype"),
                **({} if alternate is None else {alternate[0]: alternate[1][index % 2]}),
                **layer_kwargs,
            )
            for index in range(num_flows)
        ]
        super().__init__([*base_side_flows, *flows], event_shape=event_shape, context_shape=context_shape, **kwargs)
        self._hyperparameters = {
            "event_shape": list(event_shape),
            "num_flows": int(num_flows),
            "hidden_units": list(hidden_units),
            "context_shape": None if context_shape is None else list(context_shape),
            "activation": activation,
            **layer_kwargs,
            **(extra_config or {}),
        }


@keras.saving.register_keras_serializable("kerasflows")
class MAF(_Preset):
    """Masked autoregressive flow: `num_flows` MAF steps with alternating orders.

    Fast, exact density (one network pass per step); sampling takes D passes
    per step. Reference: Papamakarios et al., NeurIPS 2017.

    Args:
        event_shape: `[features]`.
        num_flows: number of `MaskedAutoregressive` steps.
        hidden_units: MADE hidden widths.
        context_shape: shape of one context row, or None.
        activation: hidden activation.

    Example:
        >>> model = kf.MAF([2], num_flows=5, hidden_units=(64, 64))
    """

    def __init__(
        self, event_shape, num_flows=5, hidden_units=(128, 128), context_shape=None, activation="relu", **kwargs
    ):
        super().__init__(
            MaskedAutoregressive, _ORDERS, event_shape, num_flows, hidden_units, context_shape, activation, **kwargs
        )


@keras.saving.register_keras_serializable("kerasflows")
class IAF(_Preset):
    """Inverse autoregressive flow: MAF reversed, sampling in one pass per step.

    Density of external data takes D passes per step. Reference: Kingma et
    al., NeurIPS 2016. Arguments as `MAF`.
    """

    def __init__(
        self, event_shape, num_flows=5, hidden_units=(128, 128), context_shape=None, activation="relu", **kwargs
    ):
        super().__init__(
            InverseAutoregressive, _ORDERS, event_shape, num_flows, hidden_units, context_shape, activation, **kwargs
        )


@keras.saving.register_keras_serializable("kerasflows")
class RealNVP(_Preset):
    """RealNVP: `num_flows` affine couplings, alternating which half conditions.

    Density and sampling both take one network pass per layer.
    Reference: Dinh et al., ICLR 2017.

    Args:
        event_shape: `[features]`, at least 2.
        num_flows: number of `AffineCoupling` layers.
        hidden_units: conditioner hidden widths.
        context_shape: shape of one context row, or None.
        activation: hidden activation.

    Example:
        >>> model = kf.RealNVP([16], num_flows=6)
    """

    def __init__(
        self, event_shape, num_flows=6, hidden_units=(128, 128), context_shape=None, activation="relu", **kwargs
    ):
        super().__init__(
            AffineCoupling, _MASKS, event_shape, num_flows, hidden_units, context_shape, activation, **kwargs
        )


@keras.saving.register_keras_serializable("kerasflows")
class NICE(_Preset):
    """NICE: additive (volume-preserving) couplings and a learnable diagonal scale.

    The scale sits next to the base, as in the paper. Reference: Dinh et
    al., ICLR 2015 workshop. Arguments as `RealNVP`.
    """

    def __init__(
        self, event_shape, num_flows=6, hidden_units=(128, 128), context_shape=None, activation="relu", **kwargs
    ):
        scale = Affine(dtype=kwargs.get("dtype"))
        super().__init__(
            AdditiveCoupling,
            _MASKS,
            event_shape,
            num_flows,
            hidden_units,
            context_shape,
            activation,
            base_side_flows=[scale],
            **kwargs,
        )


@keras.saving.register_keras_serializable("kerasflows")
class NSF(_Preset):
    """Neural spline flow: rational-quadratic spline couplings, or autoregressive splines.

    `autoregressive=False` (coupling, one pass both ways) or True (MAF-style:
    fast density, D passes to sample). Splines act on `[-bound, bound]` and
    are the identity outside: standardise the data. Reference: Durkan et al.,
    "Neural Spline Flows", NeurIPS 2019.

    Args:
        event_shape: `[features]`, at least 2 for couplings.
        num_flows: number of spline layers.
        hidden_units: conditioner hidden widths.
        context_shape: shape of one context row, or None.
        activation: hidden activation.
        num_bins: spline pieces per feature.
        bound: half-width of the splines' interval.
        autoregressive: MADE-conditioned splines instead of couplings.
    """

    def __init__(
        self,
        event_shape,
        num_flows=5,
        hidden_units=(128, 128),
        context_shape=None,
        activation="relu",
        num_bins=8,
        bound=3.0,
        autoregressive=False,
        **kwargs,
    ):
        layer, alternate = (MaskedSplineAutoregressive, _ORDERS) if autoregressive else (SplineCoupling, _MASKS)
        super().__init__(
            layer,
            alternate,
            event_shape,
            num_flows,
            hidden_units,
            context_shape,
            activation,
            layer_kwargs={"num_bins": int(num_bins), "bound": float(bound)},
            extra_config={"autoregressive": bool(autoregressive)},
            **kwargs,
        )


@keras.saving.register_keras_serializable("kerasflows")
class FFJORD(_Preset):
    """FFJORD: `num_flows` continuous-time flows, each an ODE `dz/dt = f(z, t)` solved from `t = 0` to 1.

    Free-form dynamics, no masks or orderings, the same cost both ways: one
    adaptive ODE solve per layer, far slower than coupling or autoregressive
    flows. `trace="hutchinson"` makes training cost one vector-Jacobian
    product per solver stage but `log_prob` a random, unbiased estimate;
    `trace="exact"` (D products) is deterministic: use it to evaluate and
    export. See `kf.layers.FFJORD`. Reference: Grathwohl et al., ICLR 2019.

    Args:
        event_shape: `[features]`.
        num_flows: number of `FFJORD` layers.
        hidden_units: vector-field hidden widths.
        context_shape: shape of one context row, or None.
        activation: hidden activation; keep it smooth.
        trace: "hutchinson" or "exact".
        rtol: relative tolerance of the ODE solver.
        atol: absolute tolerance of the ODE solver.

    Example:
        >>> model = kf.FFJORD([2], hidden_units=(64, 64))
        >>> exact = kf.FFJORD([2], hidden_units=(64, 64), trace="exact")
        >>> exact.set_weights(model.get_weights())
    """

    def __init__(
        self,
        event_shape,
        num_flows=1,
        hidden_units=(64, 64),
        context_shape=None,
        activation="tanh",
        trace="hutchinson",
        rtol=1e-5,
        atol=1e-5,
        **kwargs,
    ):
        super().__init__(
            continuous.FFJORD,
            None,
            event_shape,
            num_flows,
            hidden_units,
            context_shape,
            activation,
            layer_kwargs={"trace": trace, "rtol": float(rtol), "atol": float(atol)},
            **kwargs,
        )
