"""Builds registry entries into models with random weights, and random inputs for them."""

import keras
import numpy as np
import tensorflow as tf
from registry import DATA_RANGES, FLOW_LAYERS, PRESETS, WEIGHT_NOISE

import kerasflows as kf

ENTRIES = {**FLOW_LAYERS, **PRESETS}
BATCH = 7


def build(name: str, dtype: str = "float32", randomize: bool = True, seed: int = 0) -> kf.FlowModel:
    """The entry as a FlowModel (a lone layer is wrapped in one), its weights perturbed at random unless asked not to.

    Perturbing the initial weights rather than replacing them keeps matrices such as LU factors well conditioned.
    Keras' initialisers are seeded too, so an entry gets the same weights in every test and run: tiny
    conditioners drawn at random now and then start with every ReLU dead on the test batch.
    """
    make, event_shape, context_shape = ENTRIES[name]
    keras.utils.set_random_seed(seed)
    flow = make(dtype)
    if isinstance(flow, kf.FlowModel):
        model = flow
    else:
        model = kf.FlowModel([flow], event_shape, context_shape=context_shape, dtype=dtype)
    if randomize:
        rng = np.random.default_rng(seed)
        for weight in model.trainable_weights:
            weight.assign(weight + WEIGHT_NOISE.get(name, 0.3) * rng.standard_normal(weight.shape))
    return model


def inputs(name: str, dtype: str = "float32", batch: int = BATCH, seed: int = 1):
    """`(x, context)` for the entry, `x` on its data side; context is None for unconditional ones."""
    _, event_shape, context_shape = ENTRIES[name]
    rng = np.random.default_rng(seed)
    if name in DATA_RANGES:
        x = rng.uniform(*DATA_RANGES[name], size=(batch, *event_shape))
    else:
        x = rng.standard_normal((batch, *event_shape))
    context = None if context_shape is None else tf.constant(rng.standard_normal((batch, *context_shape)), dtype)
    return tf.constant(x, dtype), context


def latents(model: kf.FlowModel, name: str, dtype: str = "float32", batch: int = BATCH, seed: int = 1):
    """`(z, context)`: standard normal `z` on the base side of the entry's model, and `inputs`' context."""
    z = np.random.default_rng(seed + 1000).standard_normal((batch, *model.latent_shape))
    return tf.constant(z, dtype), inputs(name, dtype, batch, seed)[1]


def base_log_prob(base, z) -> np.ndarray:
    """`log p_base(z)` per row, by hand in float64 NumPy, for every kind of base distribution."""
    z = np.asarray(z, "float64").reshape(len(z), -1)
    if isinstance(base, kf.distributions.GaussianMixture):
        logits = base.logits.numpy().astype("float64")
        locs, log_scales = (np.asarray(w, "float64").reshape(len(logits), -1) for w in (base.locs, base.log_scales))
    elif isinstance(base, kf.distributions.DiagonalNormal):
        logits = np.zeros(1)
        locs, log_scales = (np.asarray(w, "float64").reshape(1, -1) for w in (base.loc, base.log_scale))
    else:
        logits, locs, log_scales = np.zeros(1), np.zeros((1, z.shape[1])), np.zeros((1, z.shape[1]))
    log_weights = logits - np.log(np.exp(logits - logits.max()).sum()) - logits.max()
    standardized = (z[:, None, :] - locs) / np.exp(log_scales)
    per_component = log_weights + (-0.5 * standardized**2 - log_scales - 0.5 * np.log(2 * np.pi)).sum(axis=-1)
    top = per_component.max(axis=1)
    return top + np.log(np.exp(per_component - top[:, None]).sum(axis=1))


def eager(model: kf.FlowModel) -> kf.FlowModel:
    """Makes every public method of `model` run eagerly (no tf.function, no XLA)."""
    model.compile(keras.optimizers.Adam(1e-3), run_eagerly=True, jit_compile=False)
    return model
