"""Conditioner networks: outputs taken in another order than their output layer stores them."""

import keras
import numpy as np
import pytest

import kerasflows as kf


def _randomize(layer: keras.layers.Layer, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.standard_normal(w.shape).astype(w.dtype) for w in layer.get_weights()])


def _stored_order_output(network, x):
    """The network's output in the order its output layer saves its units: a copy without `output_order`
    loads the saved output layer."""
    store = {}
    network.output_layer.save_own_variables(store)
    plain = type(network).from_config({**network.get_config(), "output_order": None})
    plain.build(x.shape)
    for copy, layer in zip(plain.hidden_layers, network.hidden_layers, strict=True):
        copy.set_weights(layer.get_weights())
    plain.output_layer.load_own_variables(store)
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
    store = {}
    stored.output_layer.save_own_variables(store)
    ordered.output_layer.load_own_variables(store)
    for copy, layer in zip(ordered.hidden_layers, stored.hidden_layers, strict=True):
        copy.set_weights(layer.get_weights())
    np.testing.assert_allclose(ordered(x).numpy(), stored(x).numpy()[..., [5, 0, 3, 1, 4, 2]], rtol=1e-5, atol=1e-5)
    # The kernel and bias are held in output order, so the call reads them with no gather ...
    np.testing.assert_array_equal(ordered.output_layer.bias.numpy(), np.asarray(store["1"])[[5, 0, 3, 1, 4, 2]])
    # ... and saved back in the stored one.
    saved = {}
    ordered.output_layer.save_own_variables(saved)
    assert saved.keys() == store.keys()
    for key in store:
        np.testing.assert_array_equal(saved[key], np.asarray(store[key]))
