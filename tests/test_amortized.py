"""Amortised inference: an encoder's context drives a conditional IAF posterior, trained with `fit`.

The model `z ~ N(0, I)`, `x | z ~ N(z, s^2 I)` has the exact posterior `N(x / (1 + s^2), s^2 / (1 + s^2) I)`
and evidence `N(x; 0, (1 + s^2) I)`: the fitted posterior and the ELBO must reach them.
"""

import math

import keras
import numpy as np
import tensorflow as tf

import kerasflows as kf

NOISE = 0.5
SHRINK = 1 / (1 + NOISE**2)


class AmortizedPosterior(keras.Model):
    """`q(z | x)`: a conditional IAF whose context is a linear encoding of `x`; trained on the ELBO."""

    def __init__(self):
        super().__init__()
        self.encoder = keras.layers.Dense(8)
        self.posterior = kf.IAF([2], num_flows=2, hidden_units=(16,), context_shape=[8])
        self.seeds = keras.random.SeedGenerator(0)
        self.elbo_tracker = keras.metrics.Mean(name="elbo")
        self.encoder.build((None, 2))
        self.built = True

    def elbo(self, x, num_samples, seed):
        z, log_q = self.posterior.sample_and_log_prob(num_samples, context=self.encoder(x), seed=seed)
        log_likelihood = tf.reduce_sum(-0.5 * ((x - z) / NOISE) ** 2 - math.log(NOISE * math.sqrt(2 * math.pi)), -1)
        log_prior = tf.reduce_sum(-0.5 * z**2 - 0.5 * math.log(2 * math.pi), -1)
        return log_likelihood + log_prior - log_q  # [num_samples, batch]

    @property
    def metrics(self):
        return [self.elbo_tracker]

    def train_step(self, x):
        with tf.GradientTape() as tape:
            elbo = tf.reduce_mean(self.elbo(x, 1, self.seeds.next()))
            loss = -elbo
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        self.elbo_tracker.update_state(elbo)
        return {"elbo": self.elbo_tracker.result()}


def test_conditional_iaf_learns_the_exact_posterior_and_evidence():
    rng = np.random.default_rng(0)
    x_train = (rng.standard_normal((4096, 2)) * math.sqrt(1 + NOISE**2)).astype("float32")
    keras.utils.set_random_seed(0)
    model = AmortizedPosterior()
    model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-2, 1200)), jit_compile=True)
    history = model.fit(x_train, batch_size=256, epochs=75, verbose=0)
    assert history.history["elbo"][-1] > history.history["elbo"][0] + 0.3

    x = np.array([[0.0, 0.0], [1.5, -1.0], [-2.0, 0.5]], "float32")
    z, _ = model.posterior.sample_and_log_prob(20_000, context=model.encoder(x), seed=1)
    np.testing.assert_allclose(z.numpy().mean(axis=0), SHRINK * x, atol=0.05)
    np.testing.assert_allclose(z.numpy().std(axis=0), np.full((3, 2), NOISE * math.sqrt(SHRINK)), rtol=0.05)
    evidence = (-0.5 * x**2 / (1 + NOISE**2) - 0.5 * np.log(2 * math.pi * (1 + NOISE**2))).sum(axis=1)
    np.testing.assert_allclose(model.elbo(x, 20_000, tf.constant([0, 2])).numpy().mean(axis=0), evidence, atol=0.01)
