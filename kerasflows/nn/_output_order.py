"""Output layers that hold their units in another order than the one they are saved in."""

import functools
from collections.abc import Sequence

import keras
import numpy as np


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


def grouped_by_parameter(num_features: int, num_params: int) -> np.ndarray:
    """The `output_order` that holds unit `p * F + f` where files store feature `f`'s parameter `p` as `f * P + p`."""
    return np.arange(num_features * num_params).reshape(num_features, num_params).T.ravel()


class _PermutedStore:
    """A layer's variable store seen with the last axis of every value taken in `order`."""

    def __init__(self, store, order):
        self.store, self.order = store, np.asarray(order)

    def keys(self):
        return self.store.keys()

    def __getitem__(self, key):
        return np.take(np.asarray(self.store[key]), self.order, axis=-1)

    def __setitem__(self, key, value):
        self.store[key] = np.take(keras.ops.convert_to_numpy(value), self.order, axis=-1)


class _OrderedOutput:
    """Mixin for a `Dense`, `Conv2D` or `MaskedDense` output layer: unit `i` is saved as unit `output_order[i]`.

    The variables hold the units in `output_order`, so a call reads each group
    of units side by side with no gather; `save_own_variables` and
    `load_own_variables` permute the kernel's and bias's output axis, so files
    keep the saved order (`.keras` files written before load unchanged).
    """

    def __init__(self, *args, output_order: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.output_order = output_order

    def save_own_variables(self, store):
        super().save_own_variables(_PermutedStore(store, np.argsort(self.output_order)))

    def load_own_variables(self, store):
        super().load_own_variables(_PermutedStore(store, self.output_order))


@functools.cache
def _ordered(layer_class: type) -> type:
    """`layer_class` with `_OrderedOutput` mixed in (`_OrderedDense`, `_OrderedConv2D`, ...)."""
    return type(f"_Ordered{layer_class.__name__}", (_OrderedOutput, layer_class), {})


def output_layer(layer_class: type, output_order: Sequence[int] | None, *args, **kwargs) -> keras.layers.Layer:
    """A `Dense`, `Conv2D` or `MaskedDense` output layer, holding its units in `output_order` if given."""
    if output_order is None:
        return layer_class(*args, **kwargs)
    return _ordered(layer_class)(*args, output_order=output_order, **kwargs)
