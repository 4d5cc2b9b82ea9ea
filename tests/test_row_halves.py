"""XLA training steps on CPU compute log-densities in two row halves: the same losses and updates as whole batches."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasflows as kf
from kerasflows import _devices
from kerasflows.row_halves import FIRST_HALVED_ROWS, in_halves, runs_in_halves


@pytest.fixture(autouse=True)
def on_cpu(monkeypatch):
    """Halves are for CPUs: pin the device check so these tests mean the same on any machine."""
    monkeypatch.setattr(_devices, "runs_on_cpu", lambda: True)


def _random(model):
    rng = np.random.default_rng(0)
    for weight in model.trainable_weights:
        weight.assign(0.3 * rng.standard_normal(weight.shape))
    return model


def _training_dots(model, x) -> int:
    """Dots in the XLA program of a training call of `model` on `x`."""
    function = tf.function(lambda x: model(x, training=True), jit_compile=True)
    return function.experimental_get_compiler_ir(x)(stage="hlo").count(" dot(")


def test_halves_need_xla_a_static_batch_and_the_threshold():
    assert tf.function(lambda: tf.constant(runs_in_halves(FIRST_HALVED_ROWS)), jit_compile=True)().numpy()
    assert not tf.function(lambda: tf.constant(runs_in_halves(FIRST_HALVED_ROWS - 1)), jit_compile=True)().numpy()
    assert not tf.function(lambda: tf.constant(runs_in_halves(None)), jit_compile=True)().numpy()
    assert not tf.function(lambda: tf.constant(runs_in_halves(FIRST_HALVED_ROWS)))().numpy()


def test_in_halves_splits_rows_and_context_and_keeps_their_order():
    x = tf.reshape(tf.range(10.0), [5, 2])
    calls = []

    def function(x, context):
        calls.append((x.shape[0], context.shape[0]))
        return tf.reduce_sum(x, axis=1) * context[:, 0]

    result = in_halves(function, x, 2.0 * tf.ones([5, 1]))
    np.testing.assert_array_equal(result, 2.0 * x.numpy().sum(axis=1))
    assert calls == [(2, 2), (3, 3)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_halved_training_step_updates_the_weights_as_a_whole_batch_step(dtype, monkeypatch):
    x = np.random.default_rng(1).normal(size=(FIRST_HALVED_ROWS + 2, 3)).astype(dtype)
    weights = {}
    for halves in (True, False):
        monkeypatch.setattr(kf.FlowModel, "_trains_in_halves", lambda self, rows, halves=halves: halves)
        keras.utils.set_random_seed(0)
        model = _random(kf.MAF([3], num_flows=2, hidden_units=(16,), dtype=dtype))
        model.compile(keras.optimizers.SGD(0.1), jit_compile=True)
        history = model.fit(x, batch_size=len(x), epochs=2, shuffle=False, verbose=0)
        weights[halves] = (history.history["loss"], [w.numpy() for w in model.trainable_weights])
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(weights[True][0], weights[False][0], rtol=tolerance)
    for halved, whole in zip(weights[True][1], weights[False][1], strict=True):
        np.testing.assert_allclose(halved, whole, rtol=tolerance, atol=tolerance)


def test_training_calls_on_cpu_run_two_chains_of_dots():
    model = kf.MAF([3], num_flows=2, hidden_units=(16,))
    x = tf.zeros([FIRST_HALVED_ROWS, 3])
    model(x)
    log_prob = tf.function(lambda x: model._log_prob(x), jit_compile=True)
    whole = log_prob.experimental_get_compiler_ir(x)(stage="hlo").count(" dot(")
    assert whole == 2 * 2  # two flows of a hidden and an output layer
    assert _training_dots(model, x) == 2 * whole
    assert _training_dots(model, x[:-1]) == whole


def test_batch_statistics_a_context_embedding_and_other_devices_keep_whole_batches(monkeypatch):
    x = tf.zeros([FIRST_HALVED_ROWS, 3])
    with_batch_norm = kf.FlowModel([kf.layers.MaskedAutoregressive(hidden_units=(16,)), kf.layers.BatchNorm()], [3])
    with_batch_norm(x)
    assert _training_dots(with_batch_norm, x) == 2
    embedded = kf.MAF([3], num_flows=1, hidden_units=(16,), context_shape=[2], context_embedding=keras.layers.Dense(4))
    assert not embedded._trains_in_halves(FIRST_HALVED_ROWS)
    maf = kf.MAF([3], num_flows=1, hidden_units=(16,))
    maf(x)
    assert _training_dots(maf, x) == 2 * 2
    monkeypatch.setattr(_devices, "runs_on_cpu", lambda: False)
    assert _training_dots(maf, x) == 2
