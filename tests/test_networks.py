"""Conditioner networks: outputs in another order than their output layer stores them; narrow outputs under XLA."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasflows as kf
from kerasflows import _devices


def _randomize(layer: keras.layers.Layer, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.standard_normal(w.shape).astype(w.dtype) for w in layer.get_weights()])


def _copy_weights(source, target) -> dict:
    """`source`'s weights into `target`, its output layer through a save and a load; returns the saved store."""
    store = {}
    source.output_layer.save_own_variables(store)
    target.output_layer.load_own_variables(store)
    for copy, layer in zip(target.hidden_layers, source.hidden_layers, strict=True):
        copy.set_weights(layer.get_weights())
    return store


def _assert_saves(output_layer, store) -> None:
    """`output_layer` saves exactly `store`."""
    saved = {}
    output_layer.save_own_variables(saved)
    assert saved.keys() == store.keys()
    for key in store:
        np.testing.assert_array_equal(saved[key], np.asarray(store[key]))


def _stored_order_output(network, x):
    """The network's output in the order its output layer saves its units: a copy without `output_order`
    loads the saved output layer."""
    plain = type(network).from_config({**network.get_config(), "output_order": None})
    plain.build(x.shape)
    _copy_weights(network, plain)
    return plain(x).numpy()


@pytest.mark.parametrize(
    "make, x",
    [
        (lambda order: kf.nn.MLP(6, hidden_units=(8,), output_order=order), np.ones((3, 4), "float32")),
        (lambda order: kf.nn.ConvNet(6, hidden_channels=(8, 8), output_order=order), np.ones((2, 5, 5, 2), "float32")),
    ],
    ids=["MLP", "ConvNet"],
)
def test_output_order_gathers_the_output_units(make, x):
    order = [0, 2, 4, 1, 3, 5]
    network = make(order)
    network.build(x.shape)
    _randomize(network)
    expected = _stored_order_output(network, x)[..., order]
    np.testing.assert_allclose(network(x).numpy(), expected, rtol=1e-5, atol=1e-5)
    assert type(network).from_config(network.get_config()).output_order == order
    with pytest.raises(ValueError, match=r"Expected `output_order` to be a permutation of range\(6\), Received"):
        make([0, 0, 1, 2, 3, 4])


@pytest.mark.parametrize(
    "layer, event_shape",
    [
        (kf.layers.AffineCoupling(hidden_units=(8,)), (6,)),
        (kf.layers.AffineCoupling(hidden_units=(8,), reverse_mask=True), (7,)),
        (kf.layers.AffineCoupling(hidden_units=(8, 8)), (4, 4, 2)),
    ],
    ids=["flat", "flat odd, reversed", "image"],
)
def test_coupling_parameters_keep_the_stored_unit_layout(layer, event_shape):
    # Saved weights keep their meaning: feature f's parameter p is the output layer's unit f * P + p.
    layer.build((None, *event_shape))
    _randomize(layer)
    x_a = np.random.default_rng(1).standard_normal((3, *event_shape[:-1], event_shape[-1] // 2)).astype("float32")
    params = layer._per_feature(layer.conditioner(x_a)).numpy()
    stored = _stored_order_output(layer.conditioner, x_a)
    num_params = layer.params_per_feature
    expected = stored.reshape(*stored.shape[:-1], stored.shape[-1] // num_params, num_params)
    np.testing.assert_allclose(params, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "make, x",
    [
        (lambda order: kf.nn.MLP(6, hidden_units=(8,), output_order=order), np.ones((3, 4), "float32")),
        (lambda order: kf.nn.ConvNet(6, hidden_channels=(8,), output_order=order), np.ones((2, 5, 5, 2), "float32")),
    ],
    ids=["MLP", "ConvNet"],
)
def test_an_ordered_output_layer_loads_and_saves_in_the_stored_order(make, x):
    stored, ordered = make(None), make([5, 0, 3, 1, 4, 2])
    for network in (stored, ordered):
        network.build(x.shape)
    _randomize(stored)
    store = _copy_weights(stored, ordered)
    np.testing.assert_allclose(ordered(x).numpy(), stored(x).numpy()[..., [5, 0, 3, 1, 4, 2]], rtol=1e-5, atol=1e-5)
    # The kernel and bias are held in output order, so the call reads them with no gather ...
    np.testing.assert_array_equal(ordered.output_layer.bias.numpy(), np.asarray(store["1"])[[5, 0, 3, 1, 4, 2]])
    # ... and saved back in the stored one.
    _assert_saves(ordered.output_layer, store)


def test_a_grouped_made_gives_the_outputs_and_files_of_an_interleaved_one():
    x = np.random.default_rng(2).standard_normal((5, 4)).astype("float32")
    interleaved = kf.nn.MADE(4, num_params=3, hidden_units=(16, 16), input_order=[3, 1, 4, 2])
    grouped = kf.nn.MADE.from_config({**interleaved.get_config(), "grouped_output": True})
    for network in (interleaved, grouped):
        network.build(x.shape)
    _randomize(interleaved)
    store = _copy_weights(interleaved, grouped)
    expected = interleaved(x).numpy()
    assert expected.shape == (5, 4, 3) and np.abs(expected).max() > 0.1
    np.testing.assert_allclose(grouped(x).numpy(), expected, rtol=1e-5, atol=1e-5)
    # Held parameter by parameter: unit p * D + d is the stored unit d * P + p ...
    held = np.arange(12).reshape(4, 3).T.ravel()
    np.testing.assert_array_equal(grouped.output_layer.bias.numpy(), np.asarray(store["1"])[held])
    # ... and saved back interleaved.
    _assert_saves(grouped.output_layer, store)
    # Autoregressive: output d depends on inputs before it in the order only.
    with tf.GradientTape() as tape:
        inputs = tf.constant(x)
        tape.watch(inputs)
        outputs = tf.reduce_sum(grouped(inputs), axis=-1)
    jacobian = tape.batch_jacobian(outputs, inputs).numpy()
    degrees = np.asarray(grouped.input_order)
    assert np.all(jacobian[:, degrees[:, None] <= degrees[None, :]] == 0.0)
    assert np.abs(jacobian).max() > 0.0


def test_maf_layers_hold_grouped_made_outputs_from_32_features_and_load_interleaved_files(tmp_path, monkeypatch):
    x = np.random.default_rng(3).standard_normal((6, 32)).astype("float32")
    monkeypatch.setattr(kf.layers.MaskedAutoregressive, "grouped_output_from", None)
    before = kf.MAF([32], num_flows=2, hidden_units=(16,))
    _randomize(before)
    before.save(tmp_path / "interleaved.keras")
    monkeypatch.undo()
    after = keras.saving.load_model(tmp_path / "interleaved.keras")
    assert [flow.made.grouped_output for flow in after.flows if hasattr(flow, "made")] == [True, True]
    assert not any(flow.made.grouped_output for flow in before.flows if hasattr(flow, "made"))
    np.testing.assert_allclose(after.log_prob(x), before.log_prob(x), rtol=1e-5, atol=1e-4)
    assert not kf.MAF([31], num_flows=1, hidden_units=(8,)).flows[0].made.grouped_output
    assert not kf.layers.MaskedSplineAutoregressive(hidden_units=(8,)).grouped_output_from


def _outputs_and_gradients(network, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = network(x)
        loss = tf.reduce_sum(tf.sin(y))
    return [y, *tape.gradient(loss, [x, *network.trainable_weights])]


def _dots(function, x) -> int:
    """The number of dot products in the XLA program of `function(x)`."""
    return function.experimental_get_compiler_ir(x)(stage="hlo").count(" dot(")


NARROW_NETWORKS = {
    "MLP": lambda units, dtype: kf.nn.MLP(units, hidden_units=(16,), dtype=dtype),
    "MaskedDense": lambda units, dtype: kf.nn.MaskedDense([1, 2, 1], [1] * units, dtype=dtype),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("units", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("make", NARROW_NETWORKS.values(), ids=NARROW_NETWORKS.keys())
def test_narrow_outputs_get_summed_gradients_under_xla_on_cpu_with_the_dots_results(make, units, dtype):
    network = make(units, dtype)
    x = tf.constant(np.random.default_rng(1).standard_normal((32, 3)), dtype)
    network.build(x.shape)
    _randomize(network)
    eager = _outputs_and_gradients(network, x)
    compiled = tf.function(lambda x: _outputs_and_gradients(network, x), jit_compile=True)
    for got, expected in zip(compiled(x), eager, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    # The forward pass keeps its dots; at 2 or 3 output units, the output layer's two gradient dots are sums.
    forward_dots = len(getattr(network, "hidden_layers", [])) + 1
    assert _dots(tf.function(network, jit_compile=True), x) == forward_dots
    assert _dots(compiled, x) == 3 * forward_dots - (2 if units in (2, 3) else 0)


def test_narrow_outputs_keep_their_gradient_dots_in_graph_mode_and_off_cpu(monkeypatch):
    network = kf.nn.MLP(2, hidden_units=(16,))
    x = tf.ones((8, 3))
    graph = tf.function(lambda x: _outputs_and_gradients(network, x)).get_concrete_function(x).graph
    assert [op.type for op in graph.get_operations()].count("MatMul") == 6
    monkeypatch.setattr(_devices, "runs_on_cpu", lambda: False)
    assert _dots(tf.function(lambda x: _outputs_and_gradients(network, x), jit_compile=True), x) == 6
