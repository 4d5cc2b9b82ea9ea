"""Networks that parametrise flow layers: MADE and MLP conditioners."""

from kerasflows.nn.made import MADE, MaskedDense
from kerasflows.nn.mlp import MLP

__all__ = ["MADE", "MLP", "MaskedDense"]
