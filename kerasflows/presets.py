"""Ready-made flows: FlowModel subclasses that only choose their layers."""

from collections.abc import Sequence

import keras

from kerasflows.layers.autoregressive import InverseAutoregressive, MaskedAutoregressive
from kerasflows.layers.coupling import AdditiveCoupling, AffineCoupling
from kerasflows.layers.linear import Affine
from kerasflows.model import FlowModel


class _Preset(FlowModel):
    """A FlowModel whose config is its constructor's hyper-parameters.

    Subclasses set `flow_layer` and `alternate` (the keyword that flips every
    other layer, with its two values) and may override `extra_flows`.
    """

    flow_layer = None
    alternate = None

    def __init__(
        self,
        event_shape: Sequence[int],
        num_flows: int,
        hidden_units: Sequence[int] = (128, 128),
        context_shape: Sequence[int] | None = None,
        activation: str = "relu",
        **kwargs,
    ):
        if len(event_shape) != 1:
            raise ValueError(
                f"{type(self).__name__} expects a flat event_shape [features], Received: {list(event_shape)}."
            )
        dtype = kwargs.get("dtype")
        keyword, values = self.alternate
        flows = [
            self.flow_layer(
                hidden_units,
                activation=activation,
                context_shape=context_shape,
                dtype=dtype,
                **{keyword: values[index % 2]},
            )
            for index in range(num_flows)
        ]
        super().__init__(
            self.extra_flows(dtype) + flows, event_shape=event_shape, context_shape=context_shape, **kwargs
        )
        self._hyperparameters = {
            "event_shape": list(event_shape),
            "num_flows": num_flows,
            "hidden_units": list(hidden_units),
            "context_shape": None if context_shape is None else list(context_shape),
            "activation": activation,
        }

    def extra_flows(self, dtype) -> list:
        """Layers placed before the repeated ones, on the base side."""
        return []

    def get_config(self):
        return {**keras.Model.get_config(self), **self._hyperparameters}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


_ORDERS = ("input_order", ("left-to-right", "right-to-left"))
_MASKS = ("reverse_mask", (False, True))


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

    flow_layer = MaskedAutoregressive
    alternate = _ORDERS

    def __init__(
        self, event_shape, num_flows=5, hidden_units=(128, 128), context_shape=None, activation="relu", **kwargs
    ):
        super().__init__(event_shape, num_flows, hidden_units, context_shape, activation, **kwargs)


@keras.saving.register_keras_serializable("kerasflows")
class IAF(MAF):
    """Inverse autoregressive flow: MAF reversed, sampling in one pass per step.

    Density of external data takes D passes per step. Reference: Kingma et
    al., NeurIPS 2016. Arguments as `MAF`.
    """

    flow_layer = InverseAutoregressive


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

    flow_layer = AffineCoupling
    alternate = _MASKS

    def __init__(
        self, event_shape, num_flows=6, hidden_units=(128, 128), context_shape=None, activation="relu", **kwargs
    ):
        super().__init__(event_shape, num_flows, hidden_units, context_shape, activation, **kwargs)


@keras.saving.register_keras_serializable("kerasflows")
class NICE(RealNVP):
    """NICE: additive (volume-preserving) couplings and a learnable diagonal scale.

    The scale sits next to the base, as in the paper. Reference: Dinh et
    al., ICLR 2015 workshop. Arguments as `RealNVP`.
    """

    flow_layer = AdditiveCoupling

    def extra_flows(self, dtype) -> list:
        return [Affine(dtype=dtype)]
