"""Flow layers: Keras layers that own weights and build TFP bijectors."""

from kerasflows.layers.autoregressive import InverseAutoregressive, MaskedAutoregressive, MaskedSplineAutoregressive
from kerasflows.layers.base import FlowLayer
from kerasflows.layers.coupling import AdditiveCoupling, AffineCoupling, SplineCoupling
from kerasflows.layers.linear import Affine, LULinear
from kerasflows.layers.permutation import Permute, Reverse

__all__ = [
    "AdditiveCoupling",
    "Affine",
    "AffineCoupling",
    "FlowLayer",
    "InverseAutoregressive",
    "LULinear",
    "MaskedAutoregressive",
    "MaskedSplineAutoregressive",
    "Permute",
    "Reverse",
    "SplineCoupling",
]
