"""Where TF places computations: choices that depend on the device (row blocks, row halves, narrow matmuls) ask here."""

import functools

import tensorflow as tf


@functools.cache
def runs_on_cpu() -> bool:
    """Whether TF places computations on the CPU: no GPU or TPU is visible."""
    return not (tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))
