"""Flow layers: Keras layers that own weights and build TFP bijectors."""

from kerasflows.layers.autoregressive import InverseAutoregressive, MaskedAutoregressive, MaskedSplineAutoregressive
from kerasflows.layers.base import FlowLayer
from kerasflows.layers.continuous import FFJORD
from kerasflows.layers.coupling import AdditiveCoupling, AffineCoupling, SplineCoupling
from kerasflows.layers.dequantization import Dequantize, Logit
from kerasflows.layers.linear import Affine, InvertibleConv1x1, LULinear
from kerasflows.layers.multiscale import FactorOut
from kerasflows.layers.normalization import ActNorm, BatchNorm
from kerasflows.layers.permutation import Permute, Reverse
from kerasflows.layers.residual import Planar, Radial
from kerasflows.layers.squeeze import Squeeze

__all__ = [
    "ActNorm",
    "AdditiveCoupling",
    "Affine",
    "AffineCoupling",
    "BatchNorm",
    "Dequantize",
    "FFJORD",
    "FactorOut",
    "FlowLayer",
    "InverseAutoregressive",
    "InvertibleConv1x1",
    "LULinear",
    "Logit",
    "MaskedAutoregressive",
    "MaskedSplineAutoregressive",
    "Permute",
    "Planar",
    "Radial",
    "Reverse",
    "SplineCoupling",
    "Squeeze",
]
