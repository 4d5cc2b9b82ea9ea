"""Large eager XLA calls on CPU run in row blocks: the same results as one whole-batch program."""

import numpy as np
import pytest
import tensorflow as tf

import kerasflows as kf
from kerasflows import _devices, row_blocks
from kerasflows.row_blocks import BLOCK_ROWS, FIRST_BLOCKED_ROWS, in_blocks, whole_blocks
from kerasflows.row_buckets import bucket

ROWS = FIRST_BLOCKED_ROWS + 3 * BLOCK_ROWS // 2  # 4.5 blocks


@pytest.fixture(autouse=True)
def on_cpu(monkeypatch):
    """Blocks are for CPUs: pin the device check so these tests mean the same on any machine."""
    monkeypatch.setattr(_devices, "runs_on_cpu", lambda: True)


def _random_maf(**kwargs):
    model = kf.MAF([3], num_flows=2, hidden_units=(16,), **kwargs)
    rng = np.random.default_rng(0)
    for weight in model.trainable_weights:
        weight.assign(0.3 * rng.standard_normal(weight.shape))
    return model


def test_blocks_start_at_the_threshold_and_buckets_there_are_whole_blocks():
    assert not row_blocks.runs_in_blocks(FIRST_BLOCKED_ROWS - 1)
    assert row_blocks.runs_in_blocks(FIRST_BLOCKED_ROWS)
    assert [whole_blocks(r) for r in (1, BLOCK_ROWS, BLOCK_ROWS + 1)] == [BLOCK_ROWS, BLOCK_ROWS, 2 * BLOCK_ROWS]
    # Bucketed sizes need no padding beyond their bucket's.
    for rows in range(FIRST_BLOCKED_ROWS, 2**22, 9973):
        assert bucket(rows) % BLOCK_ROWS == 0


def test_in_blocks_splits_the_first_args_and_passes_the_others_whole():
    x = tf.reshape(tf.range(2 * BLOCK_ROWS * 2, dtype=tf.float32), [2 * BLOCK_ROWS, 2])
    calls = []

    def function(x, none, scale):
        calls.append(x.shape)
        assert none is None
        return x * scale, tf.reduce_sum(x, axis=1)

    y, total = tf.function(in_blocks(function, 2))(x, None, tf.constant(3.0))
    np.testing.assert_array_equal(y, 3.0 * x.numpy())
    np.testing.assert_array_equal(total, x.numpy().sum(axis=1))
    assert all(shape == (BLOCK_ROWS, 2) for shape in calls)


def test_blocked_log_prob_forward_and_inverse_equal_one_whole_program():
    model = _random_maf()
    x = np.random.default_rng(1).normal(size=(ROWS, 3)).astype("float32")
    whole = {
        "log_prob": tf.function(model._log_prob, jit_compile=True),
        "inverse": tf.function(lambda x: model._transform(x, None, inverse=True), jit_compile=True),
        "forward": tf.function(lambda x: model._transform(x, None, inverse=False), jit_compile=True),
    }
    np.testing.assert_allclose(model.log_prob(x), whole["log_prob"](x), rtol=1e-6, atol=1e-6)
    for method in ("inverse", "forward"):
        (y, log_det), (y_whole, log_det_whole) = getattr(model, method)(x), whole[method](x)
        assert y.shape == (ROWS, 3) and log_det.shape == (ROWS,)
        np.testing.assert_allclose(y, y_whole, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(log_det, log_det_whole, rtol=1e-6, atol=1e-6)
    assert {("log_prob_blocks", True), ("inverse_blocks", True), ("forward_blocks", True)} <= set(model._compiled)
    assert ("log_prob", True) not in model._compiled


def test_blocked_tensor_calls_are_checked_and_name_a_bad_row_in_a_later_block():
    model = _random_maf()
    x = np.random.default_rng(2).normal(size=(ROWS, 3)).astype("float32")
    np.testing.assert_allclose(model.log_prob(tf.constant(x)), model.log_prob(x), rtol=1e-6, atol=1e-6)
    assert ("log_prob_checked_blocks", True) in model._compiled
    x[ROWS - 5, 2] = np.inf
    with pytest.raises(ValueError, match=f"first at row {ROWS - 5}"):
        model.log_prob(tf.constant(x))


def test_blocked_samples_are_the_same_draws(monkeypatch):
    blocked = _random_maf()
    samples = blocked.sample(ROWS, seed=4)
    x, log_q = blocked.sample_and_log_prob(ROWS, seed=4)
    assert ("sample_blocks", True) in blocked._compiled
    monkeypatch.setattr(row_blocks, "FIRST_BLOCKED_ROWS", 10 * ROWS)
    whole = _random_maf()  # the same weights
    np.testing.assert_allclose(samples, whole.sample(ROWS, seed=4), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(x, samples, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(log_q, whole.log_prob(samples), rtol=1e-4, atol=1e-4)
    assert ("sample", True) in whole._compiled


def test_conditional_calls_block_data_with_context_and_samples_under_one_context(monkeypatch):
    model = _random_maf(context_shape=[2])
    rng = np.random.default_rng(3)
    x = rng.normal(size=(ROWS, 3)).astype("float32")
    context = rng.normal(size=(ROWS, 2)).astype("float32")
    whole = tf.function(model._log_prob, jit_compile=True)
    np.testing.assert_allclose(model.log_prob(x, context), whole(x, context), rtol=1e-6, atol=1e-6)
    samples = model.sample(FIRST_BLOCKED_ROWS, context=context[:2], seed=5)
    assert samples.shape == (FIRST_BLOCKED_ROWS, 2, 3)
    assert {("log_prob_blocks", True), ("sample_blocks", True)} <= set(model._compiled)
    monkeypatch.setattr(row_blocks, "FIRST_BLOCKED_ROWS", 10 * ROWS)
    unblocked = _random_maf(context_shape=[2])
    np.testing.assert_allclose(
        samples, unblocked.sample(FIRST_BLOCKED_ROWS, context=context[:2], seed=5), rtol=1e-6, atol=1e-6
    )


def test_no_blocks_without_xla_with_rows_that_interact_or_off_cpu(monkeypatch):
    graph_mode = kf.MAF([2], num_flows=1, hidden_units=(8,))
    graph_mode.compile("adam", jit_compile=False)
    ffjord = kf.FFJORD([2], hidden_units=(8,))
    for model in (graph_mode, ffjord):
        assert model._row_layout("log_prob", ROWS) == (ROWS, False)
    assert kf.MAF([2], num_flows=1, hidden_units=(8,))._row_layout("log_prob", ROWS) == (whole_blocks(ROWS), True)
    monkeypatch.setattr(_devices, "runs_on_cpu", lambda: False)
    assert kf.MAF([2], num_flows=1, hidden_units=(8,))._row_layout("log_prob", ROWS) == (ROWS, False)
