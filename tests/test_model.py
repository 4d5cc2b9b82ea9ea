"""FlowModel behaviour: training by maximum likelihood, densities, sampling, and its errors."""

import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasflows as kf
from kerasflows.layers.coupling import _Coupling


@pytest.fixture(scope="session")
def moons():
    data = kf.datasets.two_moons(3000, noise=0.05, seed=0)
    return data[:2400], data[2400:]


# The tests of the trained MAF run on one worker, which trains it once (22 s); session-scoped, so tests of other
# modules run between them there do not tear it down.
MOONS_MAF_WORKER = pytest.mark.xdist_group("moons_maf")


@pytest.fixture(scope="session")
def moons_maf(moons):
    train, validation = moons
    keras.utils.set_random_seed(0)
    model = kf.MAF([2], num_flows=4, hidden_units=(64, 64))
    model.compile(keras.optimizers.Adam(3e-3))
    # MAF's NLL on two-moons is spiky from epoch to epoch: keep the best epoch, as `kerasflows fit` does.
    best = keras.callbacks.EarlyStopping(patience=25, restore_best_weights=True)
    history = model.fit(train, validation_data=validation, epochs=25, batch_size=128, verbose=0, callbacks=[best])
    return model, history.history


def _standard_normal_nll(x):
    return float(np.mean(0.5 * (x**2).sum(axis=1) + np.log(2 * np.pi)))


@MOONS_MAF_WORKER
def test_fit_on_moons_beats_a_standard_normal_and_a_gaussian(moons, moons_maf):
    train, validation = moons
    model, history = moons_maf
    mean, covariance = train.mean(axis=0), np.cov(train.T)
    gaussian_nll = -float(np.mean(tf.constant(0.0) + _gaussian_log_prob(validation, mean, covariance)))
    validation_nll = -float(np.mean(model.log_prob(validation)))
    assert history["val_loss"][-1] < history["val_loss"][0]
    assert validation_nll < _standard_normal_nll(validation) - 1.0
    assert validation_nll < gaussian_nll - 0.5
    assert np.isclose(min(history["val_loss"]), validation_nll, atol=1e-4)


def _gaussian_log_prob(x, mean, covariance):
    diff = x - mean
    solved = np.linalg.solve(covariance, diff.T).T
    return -0.5 * (diff * solved).sum(axis=1) - 0.5 * np.log(np.linalg.det(2 * np.pi * covariance))


@MOONS_MAF_WORKER
def test_two_dimensional_density_integrates_to_one(moons_maf):
    model, _ = moons_maf
    grid = np.linspace(-4.5, 5.5, 400)
    cell = (grid[1] - grid[0]) ** 2
    points = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2).astype("float32")
    total = float(np.exp(model.log_prob(points)).sum() * cell)
    assert abs(total - 1.0) < 0.02


@MOONS_MAF_WORKER
def test_evaluate_reports_the_mean_nll_not_zero(moons, moons_maf):
    model, _ = moons_maf
    _, validation = moons
    loss = model.evaluate(validation, batch_size=len(validation), verbose=0)
    assert loss != 0.0
    np.testing.assert_allclose(loss, -np.mean(model.log_prob(validation)), rtol=1e-5)


def test_samples_match_a_fitted_gaussian_target():
    rng = np.random.default_rng(1)
    mean = np.array([1.0, -2.0], "float32")
    covariance = np.array([[1.0, 0.8], [0.8, 1.5]], "float32")
    data = rng.multivariate_normal(mean, covariance, size=4000).astype("float32")
    keras.utils.set_random_seed(1)
    model = kf.RealNVP([2], num_flows=4, hidden_units=(32, 32))
    model.compile(keras.optimizers.Adam(3e-3))
    model.fit(data, epochs=20, batch_size=200, verbose=0)
    samples = model.sample(20000, seed=5).numpy()
    np.testing.assert_allclose(samples.mean(axis=0), mean, atol=0.1)
    np.testing.assert_allclose(np.cov(samples.T), covariance, atol=0.15)
    true_nll = -np.mean(_gaussian_log_prob(samples, mean, covariance))
    assert abs(-np.mean(model.log_prob(samples)) - true_nll) < 0.05


def test_several_steps_per_call_train_as_one_step_per_call(moons):
    x, validation = moons[0][:600], moons[1][:200]  # 5 batches of 128 an epoch, the last one of 88 rows
    results = []
    for steps_per_execution in (None, 1):
        keras.utils.set_random_seed(3)
        model = kf.RealNVP([2], num_flows=2, hidden_units=(16,))
        arguments = {} if steps_per_execution is None else {"steps_per_execution": steps_per_execution}
        model.compile(keras.optimizers.Adam(1e-2), jit_compile=False, **arguments)
        history = model.fit(x, validation_data=validation, epochs=3, batch_size=128, shuffle=False, verbose=0)
        results.append((model.steps_per_execution, int(model.optimizer.iterations), history.history, model))
    (default, steps, history, model), (_, reference_steps, reference_history, reference) = results
    assert default == kf.model.DEFAULT_STEPS_PER_EXECUTION > 1
    assert steps == reference_steps == 15  # each call stops at the end of its epoch
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(history[key], reference_history[key], rtol=1e-5)
    for weight, expected in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(weight, expected, rtol=1e-4, atol=1e-6)


def test_the_progress_bar_counts_within_the_epoch(moons, capsys):
    x = moons[0][: 13 * 32]  # 13 batches an epoch: one call of the default 16 steps per call
    model = kf.MAF([2], num_flows=1, hidden_units=(8,))
    model.compile(keras.optimizers.Adam(1e-3), jit_compile=False)
    model.fit(x, epochs=2, batch_size=32, verbose=1)
    model.evaluate(x, batch_size=32, verbose=1)
    printed = capsys.readouterr().out
    counts = {int(done) for done in re.findall(r"(\d+)/13\b", printed)}
    assert counts == {13}  # Keras' own bar reads 16/13 before the epoch ends
    assert printed.count("Epoch ") == 2


def test_conditional_fit_accepts_dicts_and_datasets():
    rng = np.random.default_rng(2)
    context = rng.standard_normal((512, 1)).astype("float32")
    x = (np.concatenate([context, -context], axis=1) + 0.1 * rng.standard_normal((512, 2))).astype("float32")
    model = kf.MAF([2], num_flows=2, hidden_units=(16,), context_shape=[1])
    model.compile(keras.optimizers.Adam(1e-2))
    before = model.evaluate({"x": x, "context": context}, verbose=0)
    model.fit({"x": x, "context": context}, epochs=3, batch_size=64, verbose=0)
    dataset = tf.data.Dataset.from_tensor_slices({"x": x, "context": context}).batch(64)
    model.fit(dataset, epochs=3, verbose=0)
    assert model.evaluate(dataset, verbose=0) < before - 0.5
    assert model.sample(3, context=context[:5], seed=0).shape == (3, 5, 2)


def test_custom_flow_with_permutations_trains(moons):
    train, _ = moons
    flows = [
        kf.layers.AffineCoupling((32,)),
        kf.layers.Reverse(),
        kf.layers.AffineCoupling((32,)),
        kf.layers.Permute([1, 0]),
    ]
    model = kf.FlowModel(flows, event_shape=[2])
    model.compile(keras.optimizers.Adam(3e-3))
    history = model.fit(train, epochs=3, batch_size=256, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]


@pytest.fixture
def small_maf():
    return kf.MAF([2], num_flows=1, hidden_units=(8,))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.log_prob(np.zeros((3, 3))), r"Expected `x` of shape \[batch, 2\], Received: shape \(3, 3\)"),
        (lambda m: m.log_prob(np.zeros(2)), r"Expected `x` of shape \[batch, 2\], Received: shape \(2,\)"),
        (lambda m: m.log_prob(np.array([[0.0, np.nan]])), "Expected finite values in `x`"),
        (lambda m: m.forward(np.array([[np.inf, 0.0]])), r"finite values in `z`, Received: NaN or inf in 1 row"),
        (lambda m: m.inverse(np.array([[1.0, 2.0], [0.0, np.nan]])), r"in 1 row\(s\), first at row 1"),
        # Tensors are checked inside the compiled call, arrays before it: both name the row.
        (lambda m: m.log_prob(tf.constant([[0.0, 1.0], [np.inf, 0.0]])), r"finite values in `x`.* first at row 1"),
        (lambda m: m.forward(tf.constant([[np.nan, 0.0]])), r"finite values in `z`, Received: NaN or inf in 1 row"),
        (lambda m: m.log_prob(np.array([["a", "b"]])), "Expected `x` to hold numbers"),
        (lambda m: m.log_prob(np.zeros((2, 2)), context=np.zeros((2, 1))), "unconditional"),
        (lambda m: m.sample(-1), "Expected `num_samples` to be an int >= 0"),
        (lambda m: m.sample(2, seed=[1, 2, 3]), "Expected `seed` to be None, an int or an int32 tensor of shape"),
        (lambda m: m.compile(loss="mse"), "expected loss=None"),
        (lambda m: m.fit(np.zeros((4, 2)), np.zeros(4)), "expected y=None"),
        (lambda m: m.fit(np.zeros((4, 2)), sample_weight=np.ones(4)), "expected sample_weight=None"),
        (lambda m: m.evaluate(np.zeros((4, 3))), r"Expected `x` of shape \[batch, 2\]"),
        (lambda m: m.fit(np.zeros((0, 2))), "Expected at least one row of `x`"),
        (lambda m: m.fit(np.array([[1.0, np.inf]] * 4)), "Expected finite values in `x`"),
        (lambda m: m.fit({"x": np.zeros((4, 2)), "y": np.zeros(4)}), "Expected a dict with keys 'x'"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(small_maf, call, message):
    small_maf.compile()
    with pytest.raises(ValueError, match=message):
        call(small_maf)


def test_conditional_flow_needs_a_matching_context():
    model = kf.MAF([2], num_flows=1, hidden_units=(8,), context_shape=[3])
    with pytest.raises(ValueError, match=r"conditional: expected a context of shape \[batch, 3\]"):
        model.log_prob(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"Expected one context row per data row \(2\), Received: 5 rows"):
        model.log_prob(np.zeros((2, 2)), context=np.zeros((5, 3)))


def test_empty_batches_give_empty_results(small_maf):
    assert small_maf.log_prob(np.zeros((0, 2))).shape == (0,)
    assert small_maf.sample(0, seed=1).shape == (0, 2)


def test_another_keras_backend_is_refused():
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", "import kerasflows"], capture_output=True, text=True, env=env)
    assert result.returncode != 0
    assert "ImportError: kerasflows runs on Keras' TensorFlow backend only" in result.stderr
    assert "Received: KERAS_BACKEND='jax'" in result.stderr


PRESET_FITS = {
    "MAF": lambda: kf.MAF([2], num_flows=4, hidden_units=(64, 64)),
    "IAF": lambda: kf.IAF([2], num_flows=4, hidden_units=(64, 64)),
    "RealNVP": lambda: kf.RealNVP([2], num_flows=6, hidden_units=(64, 64)),
    "NICE": lambda: kf.NICE([2], num_flows=6, hidden_units=(64, 64)),
    # Two spline layers: each of the 2-D NSF's XLA compiles (train, test, log_prob) grows with the layer count.
    "NSF": lambda: kf.NSF([2], num_flows=2, hidden_units=(64, 64)),
    "NSF-autoregressive": lambda: kf.NSF([2], num_flows=2, hidden_units=(64, 64), autoregressive=True),
    # Hutchinson's trace (the default): the NLL checked is an average of unbiased estimates.
    "FFJORD": lambda: kf.FFJORD([2], hidden_units=(64, 64), rtol=1e-4, atol=1e-4),
}


@pytest.mark.parametrize("name", sorted(PRESET_FITS))
def test_every_preset_beats_a_fitted_gaussian_on_moons(name, moons):
    train, validation = moons
    gaussian_nll = -float(np.mean(_gaussian_log_prob(validation, train.mean(axis=0), np.cov(train.T))))
    keras.utils.set_random_seed(0)
    model = PRESET_FITS[name]()
    # Graph mode: 180 steps train in less time than XLA takes to compile them (106 s against 155 s for the
    # seven presets); test_fit_on_moons_beats_a_standard_normal_and_a_gaussian trains under XLA.
    model.compile(keras.optimizers.Adam(3e-3), jit_compile=False)
    best = keras.callbacks.EarlyStopping(patience=15, restore_best_weights=True)
    model.fit(train, validation_data=validation, epochs=15, batch_size=200, verbose=0, callbacks=[best])
    assert -float(np.mean(model.log_prob(validation))) < gaussian_nll - 0.2


def test_a_flow_layer_without_its_transform_is_refused_at_construction():
    class NoBijector(kf.layers.FlowLayer):
        pass

    class NoElementwise(_Coupling):
        pass

    with pytest.raises(TypeError, match="abstract method 'bijector'|abstract method bijector"):
        NoBijector()
    with pytest.raises(TypeError, match="abstract method 'elementwise'|abstract method elementwise"):
        NoElementwise()
