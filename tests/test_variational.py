"""VariationalFlow: reverse-KL fits to unnormalised densities, log Z and ESS estimates, and the target's errors."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from targets import LOG_Z, MEAN, VARIANCE, banana

import kerasflows as kf

# One worker builds the module's shared fixture once.
pytestmark = pytest.mark.xdist_group("banana")


def test_banana_log_normalizer_and_moments(fitted_banana):
    vi, _ = fitted_banana
    assert abs(vi.log_normalizer(10_000, seed=1) - LOG_Z) < 0.05
    x = vi.flow.sample(20_000, seed=2).numpy()
    np.testing.assert_allclose(x.mean(axis=0), MEAN, atol=0.06)
    np.testing.assert_allclose(x.var(axis=0), VARIANCE, rtol=0.1)


def test_banana_effective_sample_size_is_high(fitted_banana):
    vi, _ = fitted_banana
    assert vi.effective_sample_size(10_000, seed=3) > 9_000


def test_fit_logs_the_elbo_a_lower_bound_of_log_z(fitted_banana):
    vi, history = fitted_banana
    np.testing.assert_allclose(history["loss"], -np.array(history["elbo"]), rtol=1e-6)
    assert history["elbo"][0] < history["elbo"][-1] < LOG_Z
    assert history["elbo"][-1] > LOG_Z - 0.05
    log_w = vi.log_weights(10_000, seed=4).numpy()
    assert np.isclose(log_w.mean(), history["elbo"][-1], atol=0.02)


def test_save_and_load_with_a_registered_target(fitted_banana, tmp_path):
    vi, _ = fitted_banana
    vi.save(tmp_path / "vi.keras")
    loaded = keras.saving.load_model(tmp_path / "vi.keras")
    assert loaded.target_log_prob_fn is banana and loaded.num_samples == 256
    np.testing.assert_allclose(loaded.log_weights(100, seed=5), vi.log_weights(100, seed=5), rtol=1e-5, atol=1e-5)


def test_reverse_kl_recovers_a_correlated_gaussian():
    mean = np.array([1.0, -2.0, 0.5])
    covariance = np.array([[1.0, 0.6, -0.3], [0.6, 2.0, 0.4], [-0.3, 0.4, 0.5]])
    target = tf.constant(np.linalg.inv(covariance), tf.float32)

    def gaussian(x):
        diff = x - mean.astype("float32")
        return -0.5 * tf.reduce_sum(diff * tf.linalg.matvec(target, diff), axis=-1)

    keras.utils.set_random_seed(1)
    # 512 samples per step: a 4% variance error costs only ~4e-4 nats of KL, so the gradient noise must be low.
    vi = kf.VariationalFlow(kf.IAF([3], num_flows=2, hidden_units=(16,)), gaussian, num_samples=512, seed=1)
    vi.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-2, 1500)))
    vi.fit(epochs=10, steps_per_epoch=150, verbose=0)
    x = vi.flow.sample(20_000, seed=6).numpy()
    np.testing.assert_allclose(x.mean(axis=0), mean, atol=0.05)
    np.testing.assert_allclose(np.cov(x.T), covariance, atol=0.08)
    log_z = 0.5 * math.log(np.linalg.det(2 * math.pi * covariance))
    assert abs(vi.log_normalizer(20_000, seed=7) - log_z) < 0.02


def test_sample_and_log_prob_under_xla_matches_eager():
    model = kf.IAF([3], num_flows=2, hidden_units=(8,))
    for weight in model.trainable_weights:
        weight.assign(0.3 * np.random.default_rng(0).standard_normal(weight.shape))
    x, log_q = model.sample_and_log_prob(6, seed=3)  # XLA-compiled
    eager_x, eager_log_q = model._samples_and_log_prob_from_noise(model._base_noise(6, tf.constant([0, 3])))
    np.testing.assert_allclose(x, eager_x, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(log_q, eager_log_q, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(log_q, model.log_prob(x), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(
    "target, message",
    [
        (lambda x: -0.5 * tf.reduce_sum(x**2, axis=-1, keepdims=True), r"one value per sample, shape \[256\]"),
        (lambda x: tf.math.log(x[:, 0]), "finite values, Received: .* NaN or inf"),
        (lambda x: -0.5 * np.sum(np.asarray(x) ** 2, axis=-1), "differentiable"),
        (lambda x: tf.stop_gradient(-0.5 * tf.reduce_sum(x**2, axis=-1)), "differentiable"),
        (lambda x: -tf.sqrt(tf.abs(x[:, 0]) * 0.0), "finite gradient"),
    ],
)
def test_bad_targets_are_refused_before_training(target, message):
    vi = kf.VariationalFlow(kf.RealNVP([2], num_flows=2, hidden_units=(8,)), target)
    vi.compile(keras.optimizers.Adam(1e-3))
    with pytest.raises(ValueError, match=message):
        vi.fit(epochs=1, steps_per_epoch=1, verbose=0)


def test_bad_arguments_are_refused():
    flow = kf.RealNVP([2], num_flows=2, hidden_units=(8,))
    with pytest.raises(ValueError, match="unconditional"):
        kf.VariationalFlow(kf.RealNVP([2], num_flows=2, hidden_units=(8,), context_shape=[1]), banana)
    with pytest.raises(ValueError, match="callable"):
        kf.VariationalFlow(flow, "banana")
    with pytest.raises(ValueError, match="num_samples"):
        kf.VariationalFlow(flow, banana, num_samples=0)
    vi = kf.VariationalFlow(flow, banana)
    with pytest.raises(ValueError, match="negative ELBO"):
        vi.compile("adam", loss="mse")
    vi.compile("adam")
    with pytest.raises(ValueError, match="expected no data, Received: x"):
        vi.fit(x=np.zeros((4, 2)))
    with pytest.raises(ValueError, match="steps_per_epoch"):
        vi.fit(steps_per_epoch=0)


def test_a_nan_during_training_stops_fit_and_keeps_finite_weights():
    def leaves_its_support(x):  # finite near the start, NaN once samples pass x0 = 5 on their way to 10
        return -0.5 * tf.reduce_sum((x - 10.0) ** 2, axis=-1) + tf.where(x[:, 0] < 5.0, 0.0, np.nan)

    vi = kf.VariationalFlow(kf.RealNVP([2], num_flows=2, hidden_units=(8,)), leaves_its_support, seed=0)
    vi.compile(keras.optimizers.Adam(0.05))
    with pytest.warns(RuntimeWarning, match="Training stopped"):
        history = vi.fit(epochs=50, steps_per_epoch=20, verbose=0)
    assert len(history.history["elbo"]) < 50
    assert all(np.isfinite(weight).all() for weight in vi.flow.get_weights())
    assert np.isfinite(vi.flow.sample(100, seed=0)).all()
