"""Flow layers: Keras layers that own weights and build TFP bijectors."""

from kerasflows.layers.autoregressive import MaskedAutoregressive
from kerasflows.layers.base import FlowLayer
from kerasflows.layers.coupling import AffineCoupling
from kerasflows.layers.permutation import Permute, Reverse

__all__ = ["AffineCoupling", "FlowLayer", "MaskedAutoregressive", "Permute", "Reverse"]
