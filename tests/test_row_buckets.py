"""Eager XLA calls pad new batch sizes to row-count buckets: bounded compiles, the same results."""

import numpy as np
import pytest
import tensorflow as tf

import kerasflows as kf
from kerasflows.row_buckets import EXACT_SIZES, RowBuckets, bucket


@pytest.mark.parametrize(
    ("rows", "expected"),
    [(0, 16), (1, 16), (16, 16), (17, 20), (20, 20), (21, 24), (29, 32), (33, 40), (8193, 10240), (10000, 10240)],
)
def test_bucket_is_the_next_of_four_sizes_per_doubling(rows, expected):
    assert bucket(rows) == expected


def test_buckets_waste_under_a_quarter_and_number_four_per_doubling():
    rows = np.arange(17, 4097)
    buckets = np.array([bucket(int(r)) for r in rows])
    assert (buckets >= rows).all() and (buckets < 1.25 * rows).all()
    assert len(set(buckets)) == 4 * 8  # 16 < rows <= 4096: eight doublings


def test_first_sizes_run_exact_then_buckets_and_known_sizes_are_reused():
    buckets = RowBuckets()
    assert [buckets.rows_for(r) for r in (101, 102, 103)] == [101, 102, 103]
    assert [buckets.rows_for(r) for r in (104, 102, 150, 33)] == [112, 102, 160, 40]
    assert buckets.compiled == {101, 102, 103, 112, 160, 40}


@pytest.fixture(scope="module")
def random_maf():
    """A MAF with random weights: not the identity."""
    model = kf.MAF([3], num_flows=2, hidden_units=(16,))
    rng = np.random.default_rng(0)
    for weight in model.trainable_weights:
        weight.assign(0.3 * rng.standard_normal(weight.shape))
    return model


def _fresh_copy(model):
    copy = kf.MAF([3], num_flows=2, hidden_units=(16,))
    copy.set_weights(model.get_weights())
    return copy


def test_padded_log_prob_forward_and_inverse_equal_exact_ones(random_maf):
    x = np.random.default_rng(1).normal(size=(60, 3)).astype("float32")
    model = _fresh_copy(random_maf)
    for rows in (5, 6, 7):  # use up the exact sizes
        model.log_prob(x[:rows])
        model.inverse(x[:rows])
        model.forward(x[:rows])
    for rows in (9, 37):
        exact = _fresh_copy(random_maf)  # a fresh model runs its first sizes exact
        np.testing.assert_allclose(model.log_prob(x[:rows]), exact.log_prob(x[:rows]), rtol=1e-5, atol=1e-5)
        for method in ("inverse", "forward"):
            (y, log_det), (y_exact, log_det_exact) = getattr(model, method)(x[:rows]), getattr(exact, method)(x[:rows])
            assert y.shape == (rows, 3) and log_det.shape == (rows,)
            np.testing.assert_allclose(y, y_exact, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(log_det, log_det_exact, rtol=1e-5, atol=1e-5)
    compiled = model._row_buckets["log_prob"].compiled
    assert compiled == {5, 6, 7, 16, 40}


def test_padded_samples_are_the_same_draws(random_maf):
    model = _fresh_copy(random_maf)
    for rows in (5, 6, 7):
        model.sample(rows, seed=3)
    exact = _fresh_copy(random_maf)
    for rows in (9, 50):
        samples = model.sample(rows, seed=3)
        assert samples.shape == (rows, 3)
        np.testing.assert_allclose(samples, exact.sample(rows, seed=3), rtol=1e-5, atol=1e-5)
        x, log_q = model.sample_and_log_prob(rows, seed=3)
        np.testing.assert_allclose(x, samples, rtol=1e-5, atol=1e-5)
        assert log_q.shape == (rows,)
    assert model._row_buckets["sample"].compiled == {5, 6, 7, 16, 56}


def test_conditional_calls_pad_data_and_context_alike():
    model = kf.MAF([2], num_flows=1, hidden_units=(8,), context_shape=[3])
    rng = np.random.default_rng(2)
    for weight in model.trainable_weights:
        weight.assign(0.3 * rng.standard_normal(weight.shape))
    x, context = rng.normal(size=(30, 2)), rng.normal(size=(30, 3))
    exact = [model.log_prob(x[:rows], context[:rows]).numpy() for rows in (4, 5, 6, 30)]
    assert model._row_buckets["log_prob"].compiled == {4, 5, 6, 32}
    reference = tf.function(model._log_prob)(tf.constant(x, tf.float32), tf.constant(context, tf.float32))
    np.testing.assert_allclose(exact[-1], reference, rtol=1e-5, atol=1e-5)
    for num_samples in (1, 2, 3, 9):
        samples = model.sample(num_samples, context=context[:4], seed=0)
        assert samples.shape == (num_samples, 4, 2)
    assert model._row_buckets["sample_4"].compiled == {1, 2, 3, 16}


def test_a_nan_in_a_padded_call_is_still_named(random_maf):
    model = _fresh_copy(random_maf)
    for rows in (5, 6, 7):
        model.log_prob(tf.zeros([rows, 3]))
    x = np.zeros((9, 3), "float32")
    x[8, 1] = np.nan
    with pytest.raises(ValueError, match="row 8"):
        model.log_prob(tf.constant(x))


def test_no_padding_without_xla_or_with_rows_that_interact():
    graph_mode = kf.MAF([2], num_flows=1, hidden_units=(8,))
    graph_mode.compile("adam", jit_compile=False)
    ffjord = kf.FFJORD([2], hidden_units=(8,))
    for model in (graph_mode, ffjord):
        for rows in range(1, EXACT_SIZES + 3):
            assert model._row_layout("log_prob", rows) == (rows, False)
    assert not kf.layers.FFJORD.rows_independent
    assert kf.layers.MaskedAutoregressive.rows_independent
