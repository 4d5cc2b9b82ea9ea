"""kf.mcmc: NeuTra HMC in a fitted flow's base space against plain HMC, and the samplers' errors."""

import numpy as np
import pytest
import tensorflow as tf
from targets import MEAN, VARIANCE, banana

import kerasflows as kf

# One worker builds the module's shared fixture once.
pytestmark = pytest.mark.xdist_group("banana")

BUDGET = {"num_results": 500, "num_burnin_steps": 200, "num_leapfrog_steps": 4, "seed": 0}


def _min_ess_per_gradient(result, num_chains=4):
    return float(np.min(result.effective_sample_size())) / (num_chains * result.num_gradient_evaluations)


def test_neutra_beats_plain_hmc_per_gradient_on_a_banana(fitted_banana):
    vi, _ = fitted_banana
    neutra = kf.mcmc.neutra(vi.flow, banana, num_chains=4, **BUDGET)
    plain = kf.mcmc.hmc(banana, tf.zeros([4, 2]), **BUDGET)
    assert neutra.samples.shape == plain.samples.shape == (500, 4, 2)
    assert neutra.num_gradient_evaluations == plain.num_gradient_evaluations == 500 * 4
    assert 0.6 < neutra.acceptance_rate < 0.9 and 0.6 < plain.acceptance_rate < 0.9
    # The flow makes the banana near-isotropic: longer steps, less correlated draws.
    assert neutra.step_size > 1.5 * plain.step_size
    assert _min_ess_per_gradient(neutra) > 1.3 * _min_ess_per_gradient(plain)
    x = neutra.samples.numpy().reshape(-1, 2)
    np.testing.assert_allclose(x.mean(axis=0), MEAN, atol=0.15)
    np.testing.assert_allclose(x.var(axis=0), VARIANCE, rtol=0.2)


def test_nuts_samples_a_correlated_gaussian():
    covariance = np.array([[1.0, 0.9], [0.9, 1.0]], "float32")
    precision = tf.constant(np.linalg.inv(covariance))

    def gaussian(x):
        return -0.5 * tf.reduce_sum(x * tf.linalg.matvec(precision, x), axis=-1)

    result = kf.mcmc.hmc(gaussian, tf.zeros([4, 2]), num_results=300, num_burnin_steps=100, kernel="nuts", seed=1)
    x = result.samples.numpy().reshape(-1, 2)
    np.testing.assert_allclose(x.mean(axis=0), [0.0, 0.0], atol=0.15)
    np.testing.assert_allclose(np.cov(x.T), covariance, atol=0.15)
    assert result.num_gradient_evaluations > 300
    assert result.acceptance_rate > 0.6


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="kernel to be one of"):
        kf.mcmc.hmc(banana, tf.zeros([2, 2]), kernel="mala")
    with pytest.raises(ValueError, match="num_results >= 1"):
        kf.mcmc.hmc(banana, tf.zeros([2, 2]), num_results=0)
    conditional = kf.RealNVP([2], num_flows=2, hidden_units=(8,), context_shape=[1])
    with pytest.raises(ValueError, match="unconditional"):
        kf.mcmc.neutra(conditional, banana)
