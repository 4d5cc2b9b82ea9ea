"""Input checks whose errors say what was expected and what came."""

from collections.abc import Sequence

import numpy as np
import tensorflow as tf


def _shape_text(batch: str, event_shape: Sequence[int]) -> str:
    return "[" + ", ".join([batch, *map(str, event_shape)]) + "]"


def is_tensor(value) -> bool:
    """`tf.is_tensor`, answered at once for NumPy arrays and None (its protocol check costs about 10 us a call)."""
    return value is not None and not isinstance(value, np.ndarray) and tf.is_tensor(value)


def check_finite(value, name: str) -> None:
    """Raises on NaN or infinite entries of the `[batch, ...]` array or eager tensor `value`, naming the first row.

    Raises:
        ValueError: if `value` holds NaN or inf.
    """
    value = np.asarray(value)
    finite = np.isfinite(value)
    if not finite.all():
        rows = np.flatnonzero(~finite.reshape(value.shape[0], -1).all(axis=1))
        raise ValueError(
            f"Expected finite values in `{name}`, Received: NaN or inf in {rows.size} row(s), first at row {rows[0]}."
        )


def check_batch(
    value, name: str, event_shape: Sequence[int], dtype, allow_empty: bool = True, finite: bool = True
) -> tf.Tensor:
    """Converts `value` to a `[batch, *event_shape]` tensor of `dtype`.

    Eager values are also checked for NaN and infinity unless `finite` is
    False (the caller checks them itself); symbolic ones only for their
    static shape.

    Raises:
        ValueError: on a wrong rank or event shape, a non-numeric dtype, an
            empty batch when `allow_empty` is False, or NaN/inf entries.
    """
    tensor_input = is_tensor(value)
    if tensor_input:
        value_dtype, shape = value.dtype, tuple(value.shape)
        numeric = value_dtype.is_floating or value_dtype.is_integer or value_dtype == tf.bool
    else:
        value = np.asarray(value)
        value_dtype, shape = value.dtype, value.shape
        # Booleans, integers, floats and complex numbers: what np.number and np.bool_ hold.
        numeric = value_dtype.kind in "biufc"
    if not numeric:
        raise ValueError(
            f"Expected `{name}` to hold numbers, Received: dtype {getattr(value_dtype, 'name', value_dtype)}."
        )
    if len(shape) != len(event_shape) + 1 or any(
        s is not None and s != e for s, e in zip(shape[1:], event_shape, strict=True)
    ):
        raise ValueError(f"Expected `{name}` of shape {_shape_text('batch', event_shape)}, Received: shape {shape}.")
    if tensor_input:
        tensor = tf.cast(value, dtype)
    else:
        # Cast in NumPy: the finiteness check below then reads this array, not a copy of the tensor.
        value = value.astype(tf.as_dtype(dtype).as_numpy_dtype, copy=False)
        tensor = tf.convert_to_tensor(value)
    if tf.executing_eagerly():
        if not allow_empty and shape[0] == 0:
            raise ValueError(f"Expected at least one row of `{name}`, Received: an empty batch of shape {shape}.")
        if finite:
            check_finite(tensor if tensor_input else value, name)
    return tensor


def check_full_precision(layers) -> None:
    """Refuses mixed and half precision: log-densities and log-dets need float32 or float64 throughout.

    Raises:
        ValueError: for a layer whose dtype policy computes in float16 or
            bfloat16, or keeps weights in another dtype than it computes in.
    """
    for layer in layers:
        policy = layer.dtype_policy
        if policy.compute_dtype not in ("float32", "float64") or policy.variable_dtype != policy.compute_dtype:
            raise ValueError(
                "kerasflows computes in float32 or float64 only: sums of log-determinants lose nats to rounding "
                "in float16 and bfloat16, and the flow layers do not mix dtypes. Expected a 'float32' or "
                f"'float64' dtype policy, Received: {policy.name!r} for {layer.name!r}. Pass dtype='float32' to "
                "the flow, or call keras.mixed_precision.set_global_policy('float32') before building it."
            )


def check_same_dtype(layers, dtype: str) -> None:
    """Refuses layers that compute in another dtype than the model: log-dets of every layer are summed.

    Raises:
        ValueError: naming each layer whose compute dtype is not `dtype`.
    """
    mismatched = {layer.name: layer.compute_dtype for layer in layers if layer.compute_dtype != dtype}
    if mismatched:
        raise ValueError(
            f"Expected every flow layer and the base distribution to compute in the model's dtype {dtype!r}, "
            f"Received: {mismatched}. Pass dtype={dtype!r} to each of them (presets do this for you)."
        )
