"""Ready-made flows: FlowModel subclasses that only choose their layers."""

from collections.abc import Sequence

import keras

from kerasflows.layers.autoregressive import MaskedAutoregressive
from kerasflows.layers.coupling import AffineCoupling
from kerasflows.model import FlowModel


class _Preset(FlowModel):
    """A FlowModel whose config is its constructor's hyper-parameters."""

    def __init__(self, flows, hyperparameters: dict, **kwargs):
        super().__init__(
            flows, event_shape=hyperparameters["event_shape"], context_shape=hyperparameters["context_shape"], **kwargs
        )
        self._hyperparameters = hyperparameters

    def get_config(self):
        return {**keras.Model.get_config(self), **self._hyperparameters}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


def _flat_event_size(event_shape: Sequence[int], preset: str) -> int:
    if len(event_shape) != 1:
        raise ValueError(f"{preset} expects a flat event_shape [features], Received: {list(event_shape)}.")
    return int(event_shape[0])


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
        self,
        event_shape: Sequence[int],
        num_flows: int = 5,
        hidden_units: Sequence[int] = (128, 128),
        context_shape: Sequence[int] | None = None,
        activation: str = "relu",
        **kwargs,
    ):
        _flat_event_size(event_shape, "MAF")
        dtype = kwargs.get("dtype")
        flows = [
            MaskedAutoregressive(
                hidden_units,
                input_order="left-to-right" if index % 2 == 0 else "right-to-left",
                activation=activation,
                context_shape=context_shape,
                dtype=dtype,
            )
            for index in range(num_flows)
        ]
        hyperparameters = {
            "event_shape": list(event_shape),
            "num_flows": num_flows,
            "hidden_units": list(hidden_units),
            "context_shape": None if context_shape is None else list(context_shape),
            "activation": activation,
        }
        super().__init__(flows, hyperparameters, **kwargs)


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
        self,
        event_shape: Sequence[int],
        num_flows: int = 6,
        hidden_units: Sequence[int] = (128, 128),
        context_shape: Sequence[int] | None = None,
        activation: str = "relu",
        **kwargs,
    ):
        _flat_event_size(event_shape, "RealNVP")
        dtype = kwargs.get("dtype")
        flows = [
            AffineCoupling(
                hidden_units,
                reverse_mask=index % 2 == 1,
                activation=activation,
                context_shape=context_shape,
                dtype=dtype,
            )
            for index in range(num_flows)
        ]
        hyperparameters = {
            "event_shape": list(event_shape),
            "num_flows": num_flows,
            "hidden_units": list(hidden_units),
            "context_shape": None if context_shape is None else list(context_shape),
            "activation": activation,
        }
        super().__init__(flows, hyperparameters, **kwargs)
