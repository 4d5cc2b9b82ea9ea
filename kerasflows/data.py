"""Input pipelines: NumPy arrays or data files to shuffled, batched, prefetched `tf.data.Dataset`s for `fit`."""

from pathlib import Path

import numpy as np
import tensorflow as tf

from kerasflows._validation import check_batch
from kerasflows.data_files import load_table


def _array(value, name: str) -> np.ndarray:
    if isinstance(value, (str, Path)):
        return load_table(value)
    array = np.asarray(value)
    if array.ndim < 1:
        raise ValueError(f"Expected `{name}` of shape [rows, ...], Received: a scalar.")
    return check_batch(array, name, array.shape[1:], array.dtype, allow_empty=False).numpy()


def make_dataset(
    x,
    context=None,
    batch_size: int = 256,
    shuffle: bool = True,
    seed: int | None = None,
    drop_remainder: bool = False,
    dequantize: bool = False,
    dtype: str = "float32",
) -> tf.data.Dataset:
    """Rows of `x` (and `context`) as a `tf.data.Dataset` of batches that `FlowModel.fit` takes.

    Elements are `x` batches, or `{"x": x, "context": context}` dicts for a
    conditional flow. The rows are reshuffled every epoch, batched and
    prefetched. With `dequantize=True`, integer data `x` becomes
    `x + u`, `u ~ U[-1/2, 1/2)` drawn afresh each epoch: the flow then fits
    a density whose NLL bounds the NLL of the discrete data from above
    (Theis et al., "A note on the evaluation of generative models", ICLR
    2016). Leave it off for a flow that starts with `kf.layers.Dequantize`,
    which adds that noise itself. Under a `tf.distribute` strategy,
    `batch_size` is the global batch; `drop_remainder=True` gives the static
    batch shape TPUs need.

    Args:
        x: `[rows, *event_shape]` array, or a `.npy`, `.npz` or `.csv` table
            (see `kerasflows.data_files.load_table`).
        context: `[rows, *context_shape]` array or table, one row per row of `x`.
        batch_size: rows per batch.
        shuffle: reshuffle the rows every epoch.
        seed: seed of the shuffling and the dequantization noise.
        drop_remainder: drop the last, smaller batch.
        dequantize: add uniform noise to integer-valued `x`.
        dtype: floating dtype of the elements.

    Returns:
        The dataset, with `x` of shape `[batch, *event_shape]`.

    Raises:
        ValueError: for empty or non-finite data, unequal row counts, a
            batch size below 1, or `dequantize=True` on non-integer data.

    Example:
        >>> data = kf.data.make_dataset("pixels.csv", batch_size=512, dequantize=True, seed=0)
        >>> model.fit(data, epochs=10)
    """
    x = _array(x, "x")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"Expected `batch_size` to be an int >= 1, Received: {batch_size!r}.")
    if dequantize and not np.array_equal(x, np.round(x)):
        raise ValueError("Expected integer-valued `x` for dequantize=True, Received: non-integer values.")
    elements = tf.constant(x, dtype)
    if context is not None:
        context = _array(context, "context")
        if len(context) != len(x):
            raise ValueError(f"Expected one context row per row of x ({len(x)}), Received: {len(context)} rows.")
        elements = {"x": elements, "context": tf.constant(context, dtype)}
    dataset = tf.data.Dataset.from_tensor_slices(elements)
    if shuffle:
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(int(batch_size), drop_remainder=drop_remainder)
    if dequantize:
        noise_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        dataset = tf.data.Dataset.zip(dataset, noise_seeds.batch(2)).map(_add_noise)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _add_noise(batch, noise_seed):
    """`x + u`, `u ~ U[-1/2, 1/2)` from the stateless seed `noise_seed`."""
    x = batch["x"] if isinstance(batch, dict) else batch
    noisy = x + tf.random.stateless_uniform(tf.shape(x), noise_seed, minval=-0.5, maxval=0.5, dtype=x.dtype)
    return {**batch, "x": noisy} if isinstance(batch, dict) else noisy
