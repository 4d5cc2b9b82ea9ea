"""kerasflows: normalizing flows as Keras 3 layers and models on TensorFlow Probability."""

from kerasflows._backend import require_tensorflow_backend

require_tensorflow_backend()

from kerasflows import callbacks, data, datasets, distributions, layers, mcmc, nn  # noqa: E402
from kerasflows.glow import Glow  # noqa: E402
from kerasflows.model import FlowModel  # noqa: E402
from kerasflows.presets import FFJORD, IAF, MAF, NICE, NSF, RealNVP  # noqa: E402
from kerasflows.variational import VariationalFlow  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "FFJORD",
    "Glow",
    "IAF",
    "MAF",
    "NICE",
    "NSF",
    "FlowModel",
    "RealNVP",
    "VariationalFlow",
    "__version__",
    "callbacks",
    "data",
    "datasets",
    "distributions",
    "layers",
    "mcmc",
    "nn",
]
