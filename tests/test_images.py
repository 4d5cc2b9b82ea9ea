"""Image flows: the layers' own formulas, data-dependent initialisation, and Glow fitted to digits."""

import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasflows as kf
from kerasflows import layers

IMAGES = np.random.default_rng(0).normal(3.0, 2.0, size=(64, 4, 4, 2)) * [1.0, 0.5]


def test_actnorm_initialises_to_zero_mean_unit_variance_per_channel():
    model = kf.FlowModel([layers.ActNorm()], event_shape=(4, 4, 2))
    assert model.needs_initialization
    model.initialize(IMAGES)
    z, log_det = model.inverse(IMAGES)
    np.testing.assert_allclose(np.mean(z, axis=(0, 1, 2)), [0.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(np.std(z, axis=(0, 1, 2)), [1.0, 1.0], atol=1e-4)
    np.testing.assert_allclose(log_det, -16 * np.log(np.std(IMAGES, axis=(0, 1, 2))).sum(), rtol=1e-5)
    assert not model.needs_initialization
    model.initialize(IMAGES + 10.0)  # initialised layers keep their weights
    np.testing.assert_allclose(model.inverse(IMAGES)[0], z)


def test_fit_initialises_actnorm_from_its_first_batch():
    model = kf.FlowModel([layers.ActNorm()], event_shape=(4, 4, 2))
    model.compile(keras.optimizers.SGD(0.0))
    model.fit(IMAGES, batch_size=16, epochs=1, verbose=0)
    np.testing.assert_allclose(model.flows[0].shift, np.mean(IMAGES[:16], axis=(0, 1, 2)), rtol=1e-5)


def test_invertible_conv1x1_log_det_is_pixels_times_slogdet():
    model = kf.FlowModel([layers.InvertibleConv1x1(seed=3, dtype="float64")], event_shape=(4, 4, 3), dtype="float64")
    layer = model.flows[0]
    layer.lower_upper.assign(layer.lower_upper + np.random.default_rng(1).normal(0, 0.3, (3, 3)))
    z = np.random.default_rng(2).standard_normal((5, 4, 4, 3))
    x, log_det = model.forward(z)
    matrix = tfp_matrix(layer)
    np.testing.assert_allclose(x, np.einsum("ij,bhwj->bhwi", matrix, z), atol=1e-12)
    np.testing.assert_allclose(log_det, 16 * np.linalg.slogdet(matrix)[1] * np.ones(5), atol=1e-12)


def tfp_matrix(layer) -> np.ndarray:
    """The dense `P L U` of an LU-parametrised layer."""
    return tf.linalg.lu_reconstruct(layer.lower_upper, layer._permutation).numpy()


def test_squeeze_is_space_to_depth():
    model = kf.FlowModel([layers.Squeeze()], event_shape=(4, 4, 2))
    assert model.latent_shape == (2, 2, 8)
    x = np.arange(2 * 32, dtype="float32").reshape(2, 4, 4, 2)
    z, log_det = model.inverse(x)
    np.testing.assert_array_equal(z, tf.nn.space_to_depth(x, 2))
    np.testing.assert_array_equal(log_det, [0.0, 0.0])
    np.testing.assert_array_equal(model.forward(z)[0], x)


def test_squeeze_refuses_odd_images():
    with pytest.raises(ValueError, match=r"divisible by 2, Received: event_shape \[5, 4, 1\]"):
        kf.FlowModel([layers.Squeeze()], event_shape=(5, 4, 1))


def test_dequantize_and_logit_formulas():
    x = np.array([[[[0.0], [16.0]]]])
    dequantize = kf.FlowModel([layers.Dequantize(17)], event_shape=(1, 2, 1))
    u, log_det = dequantize.inverse(x)
    np.testing.assert_allclose(u, (x + 0.5) / 17, rtol=1e-6)
    np.testing.assert_allclose(log_det, [-2 * np.log(17.0)], rtol=1e-6)
    logit = kf.FlowModel([layers.Logit(alpha=0.05, dtype="float64")], event_shape=(1, 2, 1), dtype="float64")
    y, log_det = logit.inverse(u.numpy().astype("float64"))
    p = 0.05 + 0.9 * u.numpy().astype("float64")
    np.testing.assert_allclose(y, np.log(p / (1 - p)), rtol=1e-12)
    np.testing.assert_allclose(log_det, [np.sum(np.log(0.9 / (p * (1 - p))))], rtol=1e-12)


def test_dequantize_adds_uniform_noise_only_in_training():
    layer = layers.Dequantize(4, seed=0)
    layer.build((None, 1000))
    x = np.full((1, 1000), 2.0, "float32")
    noisy, _ = layer(x, inverse=True, training=True)
    cells = noisy.numpy() * 4 - 0.5
    assert np.all((cells >= 1.5) & (cells < 2.5))
    assert np.std(cells) == pytest.approx(1 / math.sqrt(12), rel=0.1)
    np.testing.assert_allclose(layer(x, inverse=True)[0], 2.5 / 4)


def test_batchnorm_uses_batch_statistics_in_training_and_moving_ones_after():
    layer = layers.BatchNorm(momentum=0.5)
    layer.build((None, 4, 4, 2))
    z, log_det = layer(IMAGES.astype("float32"), inverse=True, training=True)
    np.testing.assert_allclose(np.mean(z, axis=(0, 1, 2)), [0.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(np.std(z, axis=(0, 1, 2)), [1.0, 1.0], atol=1e-3)
    variance = np.var(IMAGES, axis=(0, 1, 2)) + 1e-3
    np.testing.assert_allclose(log_det, -8 * np.log(variance).sum() * np.ones(64), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_mean, 0.5 * np.mean(IMAGES, axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance, 0.5 + 0.5 * variance, rtol=1e-5)
    z_inference, _ = layer(IMAGES.astype("float32"), inverse=True)
    moving = np.asarray(layer.moving_variance)
    np.testing.assert_allclose(z_inference, (IMAGES - layer.moving_mean) / np.sqrt(moving), rtol=1e-5, atol=1e-6)


def test_glow_learns_digits_below_the_per_pixel_baseline():
    train, test = kf.datasets.digits("train"), kf.datasets.digits("test")
    keras.utils.set_random_seed(0)
    model = kf.Glow([8, 8, 1], num_levels=2, steps_per_level=4, hidden_channels=32, num_bins=17)
    assert model.latent_shape == (4, 4, 4)
    # Graph mode: what is tested here is learning, and XLA-compiling Glow's train, test and log_prob functions
    # on a CPU takes longer than training it (60 s against 35 s in all); test_contract checks that XLA gives
    # the same numbers and test_tpu_readiness that every step compiles.
    model.compile(keras.optimizers.Adam(2e-3), jit_compile=False)
    history = model.fit(train, batch_size=50, epochs=12, verbose=0, validation_data=test)
    # The metric is the NLL in bits per pixel: nats / (64 ln 2).
    np.testing.assert_allclose(
        history.history["val_bits_per_dim"], np.array(history.history["val_loss"]) / (64 * np.log(2)), rtol=1e-5
    )
    # Test bits/dim with uniform dequantization noise: an upper bound on the discrete NLL.
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, test.shape).astype("float32")
    bits_per_dim = -np.mean(model.log_prob(test + noise)) / (64 * np.log(2))
    # An independent categorical distribution per pixel, fitted to the training set, scores 2.40.
    print(f"test bits/dim {bits_per_dim:.3f}, at cell centres {history.history['val_bits_per_dim'][-1]:.3f}")
    assert bits_per_dim < 2.40
    samples = model.sample(16, seed=0, temperature=0.7)
    assert samples.shape == (16, 8, 8, 1)
    np.testing.assert_array_equal(samples, np.clip(np.round(samples), 0, 16))


def test_conditional_glow_feeds_the_embedded_context_to_every_level(tmp_path):
    """Every coupling, those inside `FactorOut` included, takes the embedded context (a conditional layer raises
    when called without one), and the density depends on it."""
    keras.utils.set_random_seed(0)
    model = kf.Glow(
        [4, 4, 1],
        num_levels=2,
        steps_per_level=1,
        hidden_channels=4,
        num_bins=4,
        context_shape=[3],
        context_embedding=keras.layers.Dense(2),
    )
    couplings = [layer for layer in model._flatten_layers() if isinstance(layer, layers.AffineCoupling)]
    assert [coupling.context_shape for coupling in couplings] == [(2,)] * 3  # a step per level, a learned prior
    pixels = np.random.default_rng(0).integers(0, 4, size=(6, 4, 4, 1)).astype("float32")
    model.initialize(pixels, np.zeros((6, 3), "float32"))
    for weight in model.trainable_weights:
        weight.assign(weight + np.random.default_rng(1).normal(0.0, 0.1, weight.shape))
    context = np.random.default_rng(2).standard_normal((6, 3)).astype("float32")
    log_prob = model.log_prob(pixels, context)
    assert np.mean(np.abs(model.log_prob(pixels, context + 1.0) - log_prob)) > 0.01
    np.testing.assert_allclose(model.distribution(context).log_prob(pixels), log_prob, rtol=1e-5, atol=1e-4)
    samples = model.sample(5, context=context[:2], seed=3)
    assert samples.shape == (5, 2, 4, 4, 1)
    model.export(str(tmp_path), verbose=False)
    exported = tf.saved_model.load(str(tmp_path)).signatures["log_prob"](x=pixels, context=context)["log_prob"]
    np.testing.assert_allclose(exported, log_prob, rtol=1e-5, atol=1e-4)


EMPTY_BATCH_SCRIPT = """
import keras, numpy as np
import kerasflows as kf
model = kf.FlowModel([kf.layers.AffineCoupling((8,))], event_shape=(4, 4, 2))
model.compile(keras.optimizers.Adam(), jit_compile=False)
print(tuple(model.log_prob(np.zeros((0, 4, 4, 2))).shape), tuple(model.sample(0, seed=0).shape))
"""


def test_image_couplings_take_an_empty_batch_under_onednn():
    """TF's oneDNN `Conv2D` (on by default on AVX-512 VNNI CPUs) gives an empty batch the input's channel count."""
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-c", EMPTY_BATCH_SCRIPT], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "(0,) (0, 4, 4, 2)"


def test_checkerboard_couplings_keep_alternate_pixels_and_transform_the_others():
    layer = layers.AffineCoupling((8,), mask="checkerboard", reverse_mask=True)
    model = kf.FlowModel([layer], event_shape=(4, 4, 2))
    for weight in model.trainable_weights:
        weight.assign(weight + np.random.default_rng(0).normal(0.0, 0.3, weight.shape))
    np.testing.assert_array_equal(layer.checkerboard()[..., 0], np.indices((4, 4)).sum(axis=0) % 2)
    z = model.inverse(IMAGES)[0].numpy()
    odd = np.indices((4, 4)).sum(axis=0) % 2 == 1
    np.testing.assert_array_equal(z[:, odd], IMAGES[:, odd].astype("float32"))
    assert np.all(np.abs(z[:, ~odd] - IMAGES[:, ~odd]) > 1e-4)
    # One channel: nothing to split, but a checkerboard works.
    grey = kf.FlowModel([layers.AffineCoupling((8,), mask="checkerboard")], event_shape=(4, 4, 1))
    np.testing.assert_allclose(grey.forward(grey.inverse(IMAGES[..., :1])[0])[0], IMAGES[..., :1], atol=1e-5)
    with pytest.raises(ValueError, match=r"channels >= 2\] \(mask='split'\), Received: shape \(None, 4, 4, 1\)"):
        kf.FlowModel([layers.AffineCoupling((8,))], event_shape=(4, 4, 1))
    with pytest.raises(ValueError, match=r"Expected mask to be one of \('split', 'checkerboard'\), Received: mask='x'"):
        layers.AffineCoupling(mask="x")
