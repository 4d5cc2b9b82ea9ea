"""Networks that parametrise flow layers: MADE, MLP and convolutional conditioners, and ODE vector fields."""

from kerasflows.nn.conv import ConvNet
from kerasflows.nn.made import MADE, MaskedDense
from kerasflows.nn.mlp import MLP
from kerasflows.nn.ode_net import ODENet

__all__ = ["ConvNet", "MADE", "MLP", "MaskedDense", "ODENet"]
