"""FFJORD with Hutchinson's trace estimator: an unbiased, seeded, exportable random log-density.

The deterministic `trace="exact"` variant is in the contract suite (tests/registry.py).
"""

import _tf_only
import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import op_def_registry

import kerasflows as kf

REPEATS = 400


@pytest.fixture(scope="module")
def pair():
    """`(hutchinson, exact)`: the same random weights, the two traces."""
    keras.utils.set_random_seed(0)
    hutchinson = kf.FFJORD([2], hidden_units=(8,))
    rng = np.random.default_rng(0)
    for weight in hutchinson.trainable_weights:
        weight.assign(0.5 * rng.standard_normal(weight.shape))
    exact = kf.FFJORD([2], hidden_units=(8,), trace="exact")
    exact.set_weights(hutchinson.get_weights())
    return hutchinson, exact


def _points():
    return np.random.default_rng(1).standard_normal((3, 2)).astype("float32")


def _check_unbiased(estimates, exact):
    """`estimates`: `[REPEATS, points]` draws; their mean is within 4 standard errors of `exact`."""
    spread = estimates.std(axis=0)
    assert (spread > 1e-3).all()
    np.testing.assert_array_less(np.abs(estimates.mean(axis=0) - exact), 4 * spread / np.sqrt(len(estimates)))


def test_hutchinson_log_prob_is_an_unbiased_estimate_of_the_exact_one(pair):
    hutchinson, exact = pair
    points = _points()
    # Each row draws its own probe vector: repeated rows are independent estimates.
    estimates = hutchinson.log_prob(np.tile(points, (REPEATS, 1))).numpy().reshape(REPEATS, len(points))
    _check_unbiased(estimates, exact.log_prob(points).numpy())


def test_hutchinson_draws_come_from_the_layers_seed_generator(pair):
    hutchinson, _ = pair
    points = np.tile(_points(), (10, 1))  # 60 random signs: two draws never coincide
    state = hutchinson.flows[0].seed_generator.state
    before = state.numpy()
    first = hutchinson.log_prob(points).numpy()
    assert not np.array_equal(state.numpy(), before)
    assert not np.array_equal(hutchinson.log_prob(points), first)
    state.assign(before)
    np.testing.assert_array_equal(hutchinson.log_prob(points), first)


def test_hutchinson_export_runs_on_core_ops_and_stays_unbiased(pair, tmp_path):
    hutchinson, exact = pair
    hutchinson.export(str(tmp_path), verbose=False)
    assert all(op_def_registry.get(op) is not None for op in _tf_only._op_types(str(tmp_path)))
    loaded = tf.saved_model.load(str(tmp_path))
    points = _points()
    estimates = loaded.signatures["log_prob"](x=np.tile(points, (REPEATS, 1)))["log_prob"].numpy()
    _check_unbiased(estimates.reshape(REPEATS, len(points)), exact.log_prob(points).numpy())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trace": "stochastic"}, "Expected trace to be one of"),
        ({"rtol": 0.0}, "Expected positive solver tolerances"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        kf.layers.FFJORD(**kwargs)


def test_events_must_be_flat():
    with pytest.raises(ValueError, match=r"Expected inputs of shape \[batch, features\]"):
        kf.FlowModel([kf.layers.FFJORD()], [2, 2])


@pytest.mark.parametrize("as_tensor", [False, True], ids=["array", "tensor"])
def test_a_nan_input_is_refused_not_solved(as_tensor):
    # The adaptive ODE solver would never finish on NaN. An array is checked before the call; a tensor inside
    # it, where the check zeroes the NaN before the flow runs, then names it.
    model = kf.FFJORD([2], hidden_units=(8,))
    x = np.array([[0.0, 1.0], [np.nan, 0.0]], "float32")
    with pytest.raises(ValueError, match=r"finite values in `x`, Received: NaN or inf in 1 row\(s\), first at row 1"):
        model.log_prob(tf.constant(x) if as_tensor else x)
