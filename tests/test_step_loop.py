"""`fit` and `evaluate` with several steps per call run them in one XLA program, with Keras' results."""

import contextlib
import functools

import keras
import numpy as np
import pytest
import tensorflow as tf
from targets import banana

import kerasflows as kf
from kerasflows.step_loop import fuses_steps


def _rows(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    context = rng.standard_normal((n, 1)).astype("float32")
    x = (np.concatenate([context, -context], axis=1) + 0.3 * rng.standard_normal((n, 2))).astype("float32")
    return {"x": x, "context": context}


def _uneven_batches(rows: dict[str, np.ndarray]) -> tf.data.Dataset:
    """Batches of 24 and 17 rows in turn: a new shape every other batch."""
    cuts = np.cumsum([0] + [24, 17] * 7)
    batches = [{key: value[a:b] for key, value in rows.items()} for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    return functools.reduce(tf.data.Dataset.concatenate, map(tf.data.Dataset.from_tensors, batches))


DATA = {
    # 9 batches of 64 an epoch, the last one of 40 rows; validation with a short last batch too.
    "arrays": lambda: (_rows(552)["x"], {"batch_size": 64, "validation_data": _rows(150, seed=1)["x"]}),
    "conditional dicts": lambda: (_rows(552), {"batch_size": 64, "validation_data": _rows(150, seed=1)}),
    "dataset of uneven batches": lambda: (_uneven_batches(_rows(41 * 7)), {}),
}


def _fit(data_kind: str, steps_per_execution: int):
    data, arguments = DATA[data_kind]()
    conditional = data_kind != "arrays"
    keras.utils.set_random_seed(5)
    model = kf.MAF([2], num_flows=2, hidden_units=(16,), context_shape=[1] if conditional else None)
    model.compile(keras.optimizers.Adam(1e-2), steps_per_execution=steps_per_execution)
    history = model.fit(data, epochs=3, shuffle=False, verbose=0, **arguments)
    return model, history.history


@pytest.mark.parametrize("data_kind", sorted(DATA))
def test_fused_steps_train_exactly_as_keras_loop_of_single_steps(data_kind):
    fused, fused_history = _fit(data_kind, steps_per_execution=16)
    single, single_history = _fit(data_kind, steps_per_execution=1)
    assert fuses_steps(fused, training=True) and fuses_steps(fused, training=False)
    assert not fuses_steps(single, training=True)
    assert int(fused.optimizer.iterations) == int(single.optimizer.iterations) > 3
    assert fused_history.keys() == single_history.keys()
    for key, values in single_history.items():
        np.testing.assert_allclose(fused_history[key], values, rtol=1e-5, err_msg=key)
    for weight, expected in zip(fused.get_weights(), single.get_weights(), strict=True):
        np.testing.assert_allclose(weight, expected, rtol=1e-4, atol=1e-6)


def test_fused_evaluate_equals_the_mean_nll():
    x = _rows(300)["x"]
    model = kf.MAF([2], num_flows=2, hidden_units=(16,))
    model.compile(keras.optimizers.Adam(1e-2))
    model.fit(x, epochs=1, batch_size=64, verbose=0)
    assert fuses_steps(model, training=False)
    expected = -np.mean(model.log_prob(x))  # 5 batches, the last of 44 rows: a row-weighted mean
    np.testing.assert_allclose(model.evaluate(x, batch_size=64, verbose=0), expected, rtol=1e-5)


def test_variational_flow_fuses_its_steps_with_the_same_draws():
    results = []
    for steps_per_execution in (16, 1):
        keras.utils.set_random_seed(0)
        vi = kf.VariationalFlow(kf.RealNVP([2], num_flows=2, hidden_units=(8,)), banana, num_samples=32, seed=3)
        vi.compile(keras.optimizers.Adam(1e-2), steps_per_execution=steps_per_execution)
        history = vi.fit(epochs=2, steps_per_epoch=32, verbose=0)
        results.append((vi, history.history))
    (fused, fused_history), (single, single_history) = results
    assert fuses_steps(fused, training=True)
    assert int(fused.optimizer.iterations) == int(single.optimizer.iterations) == 64
    for key in ("loss", "elbo"):
        np.testing.assert_allclose(fused_history[key], single_history[key], rtol=1e-5)
    for weight, expected in zip(fused.get_weights(), single.get_weights(), strict=True):
        np.testing.assert_allclose(weight, expected, rtol=1e-4, atol=1e-6)


@keras.saving.register_keras_serializable("kerasflows_tests")
class FlowWithOwnStep(kf.FlowModel):
    def train_step(self, data):
        logs = super().train_step(data)
        return {**logs, "steps_seen": tf.cast(self.optimizer.iterations, "float32")}


@pytest.mark.parametrize(
    "compile_arguments, make_model",
    [
        ({"jit_compile": False}, None),
        ({"steps_per_execution": 1}, None),
        ({"run_eagerly": True}, None),
        ({}, FlowWithOwnStep),
    ],
    ids=["no XLA", "one step per call", "run eagerly", "own train_step"],
)
def test_keras_loop_runs_where_steps_are_not_fused(compile_arguments, make_model):
    flows = [kf.layers.AffineCoupling(hidden_units=(8,)), kf.layers.Reverse()]
    model = (make_model or kf.FlowModel)(flows, event_shape=[2])
    model.compile(keras.optimizers.Adam(1e-2), **compile_arguments)
    history = model.fit(_rows(200)["x"], epochs=2, batch_size=50, verbose=0)
    assert not fuses_steps(model, training=True)
    assert np.all(np.isfinite(history.history["loss"]))
    if make_model is FlowWithOwnStep:
        assert history.history["steps_seen"] == [4.0, 8.0]  # the custom step's own logs reach Keras


def test_fused_steps_run_under_a_one_device_strategy():
    x = _rows(300)["x"]
    weights = []
    for strategy in (tf.distribute.OneDeviceStrategy("/cpu:0"), None):
        keras.utils.set_random_seed(5)
        with strategy.scope() if strategy else contextlib.nullcontext():
            model = kf.MAF([2], num_flows=1, hidden_units=(8,))
            model.compile(keras.optimizers.Adam(1e-2), steps_per_execution=16 if strategy else 1)
        model.fit(x, epochs=2, batch_size=64, shuffle=False, verbose=0)
        assert fuses_steps(model, training=True) == bool(strategy)
        weights.append(model.get_weights())
    for weight, expected in zip(*weights, strict=True):
        np.testing.assert_allclose(weight, expected, rtol=1e-4, atol=1e-6)
