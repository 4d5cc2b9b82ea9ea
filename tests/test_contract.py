"""The contract every flow layer and preset in tests/registry.py must meet."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from flows import ENTRIES, base_log_prob, build, eager, inputs, latents
from registry import FIXED_MAPS, PERMUTATIONS, QUANTIZED, ROTATIONS, TOLERANCES

import kerasflows as kf
from kerasflows import _devices, row_blocks

NAMES = sorted(ENTRIES)
DTYPES = ["float64", "float32"]
TOL = {"float64": 1e-9, "float32": 2e-4}


def tol(name: str, dtype: str) -> float:
    """The entry's tolerance: exact math meets `TOL`, numerical solvers declare theirs in TOLERANCES."""
    return max(TOL[dtype], TOLERANCES.get(name, 0.0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_inverse_undoes_forward(name, dtype):
    model = eager(build(name, dtype))
    z, context = latents(model, name, dtype)
    x, forward_log_det = model.forward(z, context)
    z_again, inverse_log_det = model.inverse(x, context)
    assert x.dtype == dtype
    np.testing.assert_allclose(z_again, z, atol=tol(name, dtype), rtol=tol(name, dtype))
    np.testing.assert_allclose(inverse_log_det, -forward_log_det, atol=tol(name, dtype), rtol=tol(name, dtype))


@pytest.mark.parametrize("name", NAMES)
def test_log_det_equals_autodiff_jacobian(name):
    model = eager(build(name, "float64"))
    for inverse in (False, True):
        x, context = inputs(name, "float64") if inverse else latents(model, name, "float64")
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y, log_det = model._transform(x, context, inverse=inverse)
        # Row by row: at these few features, D eager backward passes beat pfor's vectorising (half the time),
        # and pfor cannot vectorise the adjoint gradients of FFJORD's ODE solves.
        jacobian = tape.batch_jacobian(y, x, experimental_use_pfor=False)
        jacobian = tf.reshape(jacobian, (len(x), y[0].shape.num_elements(), -1))
        sign, log_abs_det = np.linalg.slogdet(jacobian.numpy())
        assert (sign != 0).all()
        np.testing.assert_allclose(log_det, log_abs_det, atol=tol(name, "float64"), rtol=tol(name, "float64"))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_log_prob_is_the_change_of_variables_sum(name, dtype):
    model = eager(build(name, dtype))
    x, context = inputs(name, dtype)
    z, log_det = model.inverse(x, context)
    by_hand = base_log_prob(model.base, z) + log_det.numpy()
    np.testing.assert_allclose(model.log_prob(x, context), by_hand, atol=tol(name, dtype), rtol=tol(name, dtype))
    np.testing.assert_allclose(
        model.distribution(context).log_prob(x), by_hand, atol=tol(name, dtype), rtol=tol(name, dtype)
    )


@pytest.mark.parametrize("name", NAMES)
def test_xla_and_graph_match_eager(name):
    model = build(name)
    x, context = inputs(name)
    with_eager = model(x if context is None else {"x": x, "context": context})
    in_graph = tf.function(model._log_prob)(x, context)
    with_xla = model.log_prob(x, context)  # compiled with XLA by default
    np.testing.assert_allclose(in_graph, with_eager, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(with_xla, with_eager, atol=1e-5, rtol=1e-5)
    seed = tf.constant([3, 4])
    sample_context = None if context is None else context[:2]
    eager_samples = model._samples_from_noise(model._base_noise(5, seed, sample_context), sample_context)
    np.testing.assert_allclose(model.sample(5, sample_context, seed=[3, 4]), eager_samples, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_row_blocks_match_one_program(name, monkeypatch):
    """Large eager calls run in row blocks (`kerasflows.row_blocks`), shrunk here to 4 rows: eager results."""
    monkeypatch.setattr(row_blocks, "BLOCK_ROWS", 4)
    monkeypatch.setattr(row_blocks, "FIRST_BLOCKED_ROWS", 8)
    monkeypatch.setattr(_devices, "runs_on_cpu", lambda: True)
    model = build(name)
    x, context = inputs(name, batch=10)  # 3 blocks, the last one padded
    np.testing.assert_allclose(model.log_prob(x, context), model._log_prob(x, context), atol=1e-5, rtol=1e-5)
    blocked = {key for key, _ in model._compiled if key.endswith("_blocks")}
    assert blocked == ({"log_prob_checked_blocks"} if all(flow.rows_independent for flow in model.flows) else set())


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_weight(name):
    model = build(name)
    x, context = inputs(name)
    with tf.GradientTape() as tape:
        loss = -tf.reduce_mean(model._log_prob(x, context))
    gradients = tape.gradient(loss, model.trainable_weights)
    for weight, gradient in zip(model.trainable_weights, gradients, strict=True):
        assert gradient is not None, weight.path
        assert np.abs(gradient.numpy()).max() > 0, weight.path


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_keras_file_round_trip(name, dtype, tmp_path):
    model = build(name, dtype)
    x, context = inputs(name, dtype)
    path = tmp_path / "flow.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    assert loaded.compute_dtype == dtype
    # Eagerly: the XLA path is test_xla_and_graph_match_eager's; two XLA compiles per entry here cost minutes.
    np.testing.assert_array_equal(eager(loaded).log_prob(x, context), eager(model).log_prob(x, context))
    config = keras.saving.serialize_keras_object(model)
    again = keras.saving.serialize_keras_object(keras.saving.deserialize_keras_object(config))
    assert again == config


@pytest.mark.parametrize("name", sorted(set(NAMES) - FIXED_MAPS))
def test_fresh_flow_is_the_identity(name):
    model = eager(build(name, "float64", randomize=False))
    z, context = latents(model, name, "float64")
    x, log_det = model.forward(z, context)
    # Exact for affine maps; splines with uniform bins and unit slopes round to within an ulp.
    np.testing.assert_allclose(log_det, np.zeros(len(z)), atol=1e-14)
    rows = (len(z), -1)
    if name in PERMUTATIONS:
        np.testing.assert_array_equal(np.sort(np.reshape(x, rows)), np.sort(np.reshape(z, rows)))
        assert not np.array_equal(np.reshape(x, rows), np.reshape(z, rows))
    elif name in ROTATIONS:
        np.testing.assert_allclose(np.linalg.norm(x, axis=-1), np.linalg.norm(z, axis=-1), rtol=1e-12)
        assert not np.allclose(x, z)
    else:
        np.testing.assert_allclose(x, z, atol=1e-14, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_sample_is_seeded_and_shaped(name):
    # Eagerly: test_xla_and_graph_match_eager checks that XLA draws the same samples from a seed.
    model = eager(build(name))
    _, event_shape, context_shape = ENTRIES[name]
    context = None if context_shape is None else inputs(name, batch=3)[1]
    first = model.sample(4, context, seed=11)
    expected_shape = (4, *event_shape) if context is None else (4, 3, *event_shape)
    assert first.shape == expected_shape
    np.testing.assert_array_equal(model.sample(4, context, seed=11), first)
    assert not np.allclose(model.sample(4, context, seed=12), first)
    assert np.isfinite(first).all()


@pytest.mark.parametrize("name", NAMES)
def test_sample_and_log_prob_matches_log_prob_of_the_samples(name):
    dtype = "float64"
    model = eager(build(name, dtype))
    _, event_shape, context_shape = ENTRIES[name]
    context = None if context_shape is None else inputs(name, dtype, batch=3)[1]
    x, log_q = model.sample_and_log_prob(5, context, seed=7)
    # Image presets round their samples to pixels; `sample_and_log_prob` keeps the reals it scores.
    pixels = np.clip(np.round(x), 0, model.num_bins - 1) if name in QUANTIZED else x
    np.testing.assert_array_equal(pixels, model.sample(5, context, seed=7))
    if context is None:
        assert log_q.shape == (5,)
        by_inversion = model.log_prob(x)
    else:
        assert log_q.shape == (5, 3)
        repeated = np.repeat(context.numpy()[None], 5, axis=0).reshape(15, *context_shape)
        by_inversion = np.reshape(model.log_prob(np.reshape(x, (15, *event_shape)), repeated), (5, 3))
    np.testing.assert_allclose(log_q, by_inversion, atol=tol(name, dtype), rtol=tol(name, dtype))


@pytest.mark.parametrize("name", NAMES)
def test_wrong_event_shape_is_refused(name):
    model = build(name)
    _, event_shape, _ = ENTRIES[name]
    x, context = inputs(name)
    bad = np.zeros((3, *event_shape[:-1], event_shape[-1] + 1), "float32")
    with pytest.raises(ValueError, match=r"Expected `x` of shape \[batch, "):
        model.log_prob(bad, None if context is None else context[:3])


def test_registry_covers_every_public_flow_layer_and_preset():
    layer_classes = {
        getattr(kf.layers, name) for name in kf.layers.__all__ if getattr(kf.layers, name) is not kf.layers.FlowLayer
    }
    covered = {type(build(name, randomize=False).flows[0]) for name in ENTRIES}
    assert layer_classes <= covered
    presets = {kf.MAF, kf.IAF, kf.RealNVP, kf.NICE, kf.NSF, kf.Glow, kf.FFJORD}
    assert presets <= {type(build(name, randomize=False)) for name in ENTRIES}
