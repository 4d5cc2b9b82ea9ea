"""Eager calls dispatched to concrete functions by shape: the results, traces and weights of a `tf.function` call."""

import numpy as np
import tensorflow as tf

import kerasflows as kf
from kerasflows.shape_keyed import ShapeKeyedFunction


def _scaled_sum(traces, weight):
    def scaled_sum(x, context):
        traces.append(tuple(x.shape))
        total = tf.reduce_sum(x * tf.cast(weight, x.dtype), axis=-1)
        return total if context is None else total + tf.cast(context[:, 0], x.dtype)

    return scaled_sum


def test_one_trace_per_shape_and_dtype_with_the_results_of_the_function():
    traces, weight = [], tf.Variable(2.0)
    function = tf.function(_scaled_sum(traces, weight), jit_compile=True)
    keyed = ShapeKeyedFunction(function)
    x3, x5 = tf.ones([3, 2]), tf.reshape(tf.range(10, dtype=tf.float32), [5, 2])
    for _ in range(3):
        np.testing.assert_array_equal(keyed(x3, None), [4.0, 4.0, 4.0])
        np.testing.assert_array_equal(keyed(x5, None), [2.0, 10.0, 18.0, 26.0, 34.0])
    np.testing.assert_array_equal(keyed(x3, tf.ones([3, 1])), [5.0, 5.0, 5.0])
    assert traces == [(3, 2), (5, 2), (3, 2)]
    np.testing.assert_array_equal(keyed(tf.ones([3, 2], tf.float64) * 0.5, None), [2.0, 2.0, 2.0])
    assert len(traces) == 4 and len(keyed._concrete) == 4


def test_a_cached_concrete_function_reads_the_weights_as_they_are_now():
    traces, weight = [], tf.Variable(2.0)
    keyed = ShapeKeyedFunction(tf.function(_scaled_sum(traces, weight), jit_compile=True))
    np.testing.assert_array_equal(keyed(tf.ones([2, 2]), None), [4.0, 4.0])
    weight.assign(-1.5)
    np.testing.assert_array_equal(keyed(tf.ones([2, 2]), None), [-3.0, -3.0])
    assert len(traces) == 1


def test_calls_in_a_graph_go_to_the_function():
    traces, weight = [], tf.Variable(2.0)
    keyed = ShapeKeyedFunction(tf.function(_scaled_sum(traces, weight)))
    outer = tf.function(lambda x: keyed(x, None), input_signature=[tf.TensorSpec([None, 2])])
    np.testing.assert_array_equal(outer(tf.ones([4, 2])), [4.0] * 4)
    assert traces == [(None, 2)] and not keyed._concrete


def test_model_calls_follow_new_weights():
    """`log_prob`, `inverse` and `sample` after the weights change equal the flow computed eagerly."""
    model = kf.MAF([3], num_flows=2, hidden_units=(8,))
    x = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    before = model.log_prob(x).numpy()
    np.testing.assert_allclose(before, model._log_prob(tf.constant(x)), atol=1e-6)
    rng = np.random.default_rng(1)
    for weight in model.trainable_weights:
        weight.assign(0.3 * rng.standard_normal(weight.shape))
    expected = model._log_prob(tf.constant(x))
    assert np.abs(expected.numpy() - before).max() > 1e-2
    np.testing.assert_allclose(model.log_prob(x), expected, atol=1e-5)
    np.testing.assert_allclose(model.log_prob(tf.constant(x)), expected, atol=1e-5)
    samples = model.sample(5, seed=3)
    np.testing.assert_allclose(model.inverse(samples)[0], model._transform(samples, None, inverse=True)[0], atol=1e-5)
