"""A network's output units in another order than its output layer stores them."""

from collections.abc import Sequence

import keras
from keras import ops


def checked_output_order(output_order: Sequence[int] | None, output_units: int) -> list[int] | None:
    """`output_order` as a list of ints.

    Raises:
        ValueError: if it is not a permutation of `range(output_units)`.
    """
    if output_order is None:
        return None
    order = [int(i) for i in output_order]
    if sorted(order) != list(range(output_units)):
        raise ValueError(
            f"Expected `output_order` to be a permutation of range({output_units}), Received: {list(output_order)}."
        )
    return order


def ordered_output(layer: keras.layers.Layer, h, output_order: list[int] | None):
    """`layer(h)[..., output_order]` for a `Dense` or stride-1 `Conv2D` layer, gathering its weights, not its output.

    The gather acts on the kernel's and bias's output axis, so the result comes
    out of the matmul (or convolution) already in order: its consumers read
    each group of units contiguously rather than with a stride.
    """
    if output_order is None:
        return layer(h)
    kernel = ops.take(layer.kernel, output_order, axis=-1)
    bias = ops.take(layer.bias, output_order, axis=-1)
    if isinstance(layer, keras.layers.Conv2D):
        return ops.conv(h, kernel, padding=layer.padding) + bias
    return ops.matmul(h, kernel) + bias
