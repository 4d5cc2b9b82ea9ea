"""Soft clamping of log-scales."""

from keras import ops


def soft_clamp(log_scale, bound: float):
    """`bound * tanh(log_scale / bound)`: the identity near 0, never past `+-bound`."""
    return bound * ops.tanh(log_scale / bound)
