"""Multi-scale flows: half of the channels leave for the base distribution, the rest go deeper."""

from collections.abc import Sequence

import keras
import tensorflow as tf
from tensorflow_probability import bijectors as tfb

from kerasflows.layers.base import FlowLayer, build_chain, chain, initialize_chain


class _OnFirstChannels(tfb.Bijector):
    """`inner` on the first `k` channels, which it sees reshaped to `inner_shape` on its base side; the rest as is."""

    def __init__(self, inner: tfb.Bijector, kept_shape: tuple, inner_shape: tuple):
        self._inner = inner
        self._kept_shape = kept_shape
        self._inner_shape = inner_shape
        super().__init__(forward_min_event_ndims=len(kept_shape), is_constant_jacobian=False, name="factor_out")

    def _split(self, value, shape):
        kept, factored = value[..., : self._kept_shape[-1]], value[..., self._kept_shape[-1] :]
        batch_shape = tf.shape(value)[: -len(self._kept_shape)]
        return tf.reshape(kept, tf.concat([batch_shape, shape], axis=0)), factored

    def _join(self, kept, factored):
        batch_shape = tf.shape(factored)[: -len(self._kept_shape)]
        return tf.concat([tf.reshape(kept, tf.concat([batch_shape, self._kept_shape], axis=0)), factored], axis=-1)

    def _forward(self, z):
        kept, factored = self._split(z, self._inner_shape)
        return self._join(self._inner.forward(kept), factored)

    def _inverse(self, x):
        kept, factored = self._split(x, self._kept_shape)
        return self._join(self._inner.inverse(kept), factored)

    def _forward_log_det_jacobian(self, z):
        kept, _ = self._split(z, self._inner_shape)
        return self._inner.forward_log_det_jacobian(kept, event_ndims=len(self._inner_shape))

    def _inverse_log_det_jacobian(self, x):
        kept, _ = self._split(x, self._kept_shape)
        return self._inner.inverse_log_det_jacobian(kept, event_ndims=len(self._kept_shape))


@keras.saving.register_keras_serializable("kerasflows")
class FactorOut(FlowLayer):
    """A multi-scale level: `flows` transform the first `C // 2` channels; the others go straight to the base.

    Data to base: `z = [g^-1(x_a), x_b]`, `g` the chain of `flows` (listed
    base to data, like `FlowModel`'s) and `x_a`, `x_b` the first `C // 2`
    and the last channels; `g^-1(x_a)` is reshaped back to `x_a`'s shape, so
    `flows` may squeeze. log-det that of `g`. Deeper levels are cheaper:
    nest a `FactorOut` in `flows` for the next one. Glow's learned prior
    `p(x_b | x_a)` is an `AffineCoupling` right on this layer's data side.
    Reference: Dinh et al., "Density estimation using Real NVP", ICLR 2017.

    Args:
        flows: the flow layers of the kept channels.

    Example:
        >>> level = FactorOut([kf.layers.AffineCoupling((32,)), kf.layers.Squeeze()])
        >>> kf.FlowModel([level, kf.layers.Squeeze()], event_shape=[8, 8, 1])
    """

    def __init__(self, flows: Sequence[FlowLayer], **kwargs):
        super().__init__(**kwargs)
        if not flows or not all(isinstance(flow, FlowLayer) for flow in flows):
            raise ValueError(f"Expected a non-empty list of kf.layers.FlowLayer, Received: {flows!r}.")
        self.flows = list(flows)

    def build(self, input_shape):
        if input_shape[-1] < 2:
            raise ValueError(f"Expected at least 2 channels to split, Received: shape {tuple(input_shape)}.")
        super().build(input_shape)
        self._kept_shape = (*self.event_shape[:-1], self.event_shape[-1] // 2)
        self._inner_shape = build_chain(self.flows, self._kept_shape)

    def _split(self, x, shape):
        kept, factored = x[..., : self._kept_shape[-1]], x[..., self._kept_shape[-1] :]
        return tf.reshape(kept, (-1, *shape)), factored

    def call(self, x, context=None, inverse: bool = False):
        kept, factored = self._split(x, self._kept_shape if inverse else self._inner_shape)
        kept, log_det = chain(self.flows, kept, context, inverse)
        return tf.concat([tf.reshape(kept, (-1, *self._kept_shape)), factored], axis=-1), log_det

    def bijector(self, context=None) -> tfb.Bijector:
        inner = tfb.Chain([flow.bijector(context) for flow in reversed(self.flows)])
        return _OnFirstChannels(inner, self._kept_shape, self._inner_shape)

    @property
    def needs_initialization(self) -> bool:
        return any(flow.needs_initialization for flow in self.flows)

    def initialize(self, x, context=None) -> None:
        initialize_chain(self.flows, self._split(x, self._kept_shape)[0], context)

    def get_config(self):
        return {**super().get_config(), "flows": [keras.saving.serialize_keras_object(flow) for flow in self.flows]}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["flows"] = [keras.saving.deserialize_keras_object(flow) for flow in config["flows"]]
        return cls(**config)
