"""What a TPU needs from every preset: one XLA program per step, static shapes, nothing on the host.

A TPU runs a step only as a single XLA computation with static shapes. Here each
preset's training step, `log_prob` and `sample` (noise included) are lowered to
HLO with `jit_compile=True` on fixed-size inputs, and the HLO is checked for host
transfers and dynamic dimensions. `fit` runs with `steps_per_execution > 1` on a
`drop_remainder` dataset, the input a `TPUStrategy` needs.
"""

import re

import keras
import pytest
import tensorflow as tf
from flows import inputs
from registry import PRESETS

NAMES = sorted(PRESETS)
BATCH, NUM_SAMPLES = 8, 5
HOST_OPS = ("send", "recv", "infeed", "outfeed", "custom-call", "send-done", "recv-done")


def _features(x, context):
    return x if context is None else {"x": x, "context": context}


def _check_hlo(function, *args) -> None:
    hlo = function.experimental_get_compiler_ir(*args)(stage="hlo")
    ops = set(re.findall(r"= [^ ]+ ([a-z\-]+)\(", hlo))
    assert "dot" in ops or "convolution" in ops  # the networks are in there
    assert not ops & set(HOST_OPS)
    assert "<=" not in hlo  # no bounded dynamic dimensions


@pytest.mark.parametrize("name", NAMES)
def test_train_log_prob_and_sample_lower_to_one_static_xla_program(name):
    make, _, _ = PRESETS[name]
    model = make("float32")
    model.compile(keras.optimizers.Adam(1e-3))
    assert model.jit_compile is True
    model.optimizer.build(model.trainable_variables)
    x, context = inputs(name, batch=BATCH)
    _check_hlo(tf.function(model.train_step, jit_compile=True), (_features(x, context),))
    _check_hlo(tf.function(model._log_prob, jit_compile=True), x, context)
    sample_context = None if context is None else context[:2]

    def sample(seed):
        return model._samples_from_noise(model._base_noise(NUM_SAMPLES, seed, sample_context), sample_context)

    _check_hlo(tf.function(sample, jit_compile=True), tf.constant([1, 2]))


def test_fit_runs_several_steps_per_execution_on_a_static_batch_dataset():
    x, context = inputs("MAF-context", batch=5 * BATCH + 3)
    data = tf.data.Dataset.from_tensor_slices(_features(x, context)).batch(BATCH, drop_remainder=True).prefetch(2)
    assert data.element_spec["x"].shape == (BATCH, 2)
    model = PRESETS["MAF-context"][0]("float32")
    model.compile(keras.optimizers.Adam(1e-2), steps_per_execution=2)
    history = model.fit(data, epochs=3, verbose=0)
    assert model.optimizer.iterations.numpy() == 15  # 5 full batches an epoch, the 3 extra rows dropped
    assert history.history["loss"][-1] < history.history["loss"][0]
