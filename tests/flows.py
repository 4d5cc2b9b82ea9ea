"""Builds registry entries into models with random weights, and random inputs for them."""

import keras
import numpy as np
import tensorflow as tf
from registry import FLOW_LAYERS, PRESETS

import kerasflows as kf

ENTRIES = {**FLOW_LAYERS, **PRESETS}
BATCH = 7


def build(name: str, dtype: str = "float32", randomize: bool = True, seed: int = 0) -> kf.FlowModel:
    """The entry as a FlowModel (a lone layer is wrapped in one), with random weights unless asked not to."""
    make, event_shape, context_shape = ENTRIES[name]
    flow = make(dtype)
    if isinstance(flow, kf.FlowModel):
        model = flow
    else:
        model = kf.FlowModel([flow], event_shape, context_shape=context_shape, dtype=dtype)
    if randomize:
        rng = np.random.default_rng(seed)
        for weight in model.trainable_weights:
            weight.assign(0.3 * rng.standard_normal(weight.shape))
    return model


def inputs(name: str, dtype: str = "float32", batch: int = BATCH, seed: int = 1):
    """`(x, context)` for the entry; context is None for unconditional ones."""
    _, event_shape, context_shape = ENTRIES[name]
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.standard_normal((batch, *event_shape)), dtype)
    context = None if context_shape is None else tf.constant(rng.standard_normal((batch, *context_shape)), dtype)
    return x, context


def eager(model: kf.FlowModel) -> kf.FlowModel:
    """Makes every public method of `model` run eagerly (no tf.function, no XLA)."""
    model.compile(keras.optimizers.Adam(1e-3), run_eagerly=True, jit_compile=False)
    return model
