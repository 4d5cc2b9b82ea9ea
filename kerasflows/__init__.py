"""kerasflows: normalizing flows as Keras 3 layers and models on TensorFlow Probability."""

from kerasflows._backend import require_tensorflow_backend

require_tensorflow_backend()

from kerasflows import data, datasets, distributions, layers, nn  # noqa: E402
from kerasflows.model import FlowModel  # noqa: E402
from kerasflows.presets import IAF, MAF, NICE, NSF, RealNVP  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "IAF",
    "MAF",
    "NICE",
    "NSF",
    "FlowModel",
    "RealNVP",
    "__version__",
    "data",
    "datasets",
    "distributions",
    "layers",
    "nn",
]
