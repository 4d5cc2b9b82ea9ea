"""A conditional flow learns a conditional density: x | c ~ N(A c + b, diag(s^2))."""

import keras
import numpy as np
import pytest

import kerasflows as kf

A = np.array([[1.0, -0.5], [0.5, 1.0]])
B = np.array([0.5, -1.0])
S = np.array([0.3, 0.8])


def _data(num_points: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    context = rng.standard_normal((num_points, 2))
    x = context @ A.T + B + S * rng.standard_normal((num_points, 2))
    return x.astype("float32"), context.astype("float32")


def test_conditional_maf_recovers_the_conditional_mean_and_scale():
    keras.utils.set_random_seed(0)
    x, context = _data(4000, seed=0)
    model = kf.MAF([2], num_flows=2, hidden_units=(32,), context_shape=[2])
    model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-2, 400)), steps_per_execution=16)
    model.fit({"x": x, "context": context}, epochs=25, batch_size=250, verbose=0)  # 400 steps

    # Held-out contexts, two of them outside most of the training contexts (|c| = 2).
    held_out = np.array([[0.0, 0.0], [1.0, -1.0], [-2.0, 0.5], [0.5, 2.0]], "float32")
    samples = model.sample(4000, context=held_out, seed=1).numpy()  # [4000, 4, 2]
    assert samples.shape == (4000, 4, 2)
    # Tolerances: mean within 0.1 (a third of the smaller scale), scale within 15%. Sampling error is about 0.01
    # in the mean and 1% in the scale; the rest is the fit's (measured: 0.04 and 10% at worst, at c = [0.5, 2]).
    np.testing.assert_allclose(samples.mean(axis=0), held_out @ A.T + B, atol=0.1)
    np.testing.assert_allclose(samples.std(axis=0), np.broadcast_to(S, (4, 2)), rtol=0.15)

    # On held-out data the flow's NLL is within 0.05 nats of the true conditional density's (measured: 0.011).
    x_test, context_test = _data(2000, seed=1)
    true_nll = np.mean(np.sum(0.5 * ((x_test - context_test @ A.T - B) / S) ** 2 + np.log(np.sqrt(2 * np.pi) * S), 1))
    flow_nll = -np.mean(model.log_prob(x_test, context_test))
    assert flow_nll < true_nll + 0.05


def test_a_context_embedding_learns_per_class_densities_from_integer_labels():
    """Context = a class label in {0, ..., 4}; a `keras.layers.Embedding` maps it to the flows' context."""
    means = np.array([[-2.0, 0.0], [0.0, 2.0], [2.0, 0.0], [0.0, -2.0], [0.0, 0.0]])
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, size=(3000, 1))
    x = (means[labels[:, 0]] + 0.3 * rng.standard_normal((3000, 2))).astype("float32")
    keras.utils.set_random_seed(0)
    embedding = keras.Sequential([keras.layers.Embedding(5, 4), keras.layers.Flatten()])
    model = kf.RealNVP([2], num_flows=4, hidden_units=(32,), context_shape=[1], context_embedding=embedding)
    assert [flow.context_shape for flow in model.flows] == [(4,)] * 4
    model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-2, 300)), steps_per_execution=12)
    model.fit({"x": x, "context": labels.astype("float32")}, epochs=25, batch_size=250, verbose=0)  # 300 steps

    samples = model.sample(2000, context=np.arange(5, dtype="float32")[:, None], seed=1).numpy()  # [2000, 5, 2]
    np.testing.assert_allclose(samples.mean(axis=0), means, atol=0.1)
    np.testing.assert_allclose(samples.std(axis=0), np.full((5, 2), 0.3), rtol=0.2)
    # The true conditional density's NLL is 2 * log(sqrt(2 pi) 0.3) = 0.43 nats; the mixture without labels
    # is worse by log(5) = 1.6.
    true_nll = 2 * np.log(np.sqrt(2 * np.pi) * 0.3) + 1.0
    assert -np.mean(model.log_prob(x, labels.astype("float32"))) < true_nll + 0.1


def test_flow_layers_must_take_the_embedded_context():
    with pytest.raises(ValueError, match=r"context_shape \[4\] \(the model's context_embedding's output\)"):
        kf.FlowModel(
            [kf.layers.AffineCoupling((8,), context_shape=[3])],
            event_shape=[2],
            context_shape=[3],
            context_embedding=keras.layers.Dense(4),
        )
    with pytest.raises(ValueError, match="context_embedding needs a conditional flow"):
        kf.MAF([2], context_embedding=keras.layers.Dense(4))
