"""kf.data.make_dataset: NumPy and CSV input to shuffled, batched, dequantized tf.data for `fit`."""

import keras
import numpy as np
import pytest

import kerasflows as kf


def _rows(dataset, key=None):
    return [batch if key is None else batch[key] for batch in dataset.as_numpy_iterator()]


def test_rows_are_reshuffled_each_epoch_and_batched():
    x = np.arange(20, dtype="float32").reshape(10, 2)
    dataset = kf.data.make_dataset(x, batch_size=4, seed=3)
    first, second = _rows(dataset), _rows(dataset)
    assert [len(batch) for batch in first] == [4, 4, 2]
    np.testing.assert_array_equal(np.sort(np.concatenate(first), axis=0), x)
    assert not np.array_equal(np.concatenate(first), np.concatenate(second))
    np.testing.assert_array_equal(
        np.concatenate(first), np.concatenate(_rows(kf.data.make_dataset(x, batch_size=4, seed=3)))
    )
    in_order = kf.data.make_dataset(x, batch_size=4, shuffle=False, drop_remainder=True)
    assert in_order.element_spec.shape == (4, 2)
    np.testing.assert_array_equal(np.concatenate(_rows(in_order)), x[:8])


def test_csv_with_context_trains_a_conditional_flow(tmp_path):
    rng = np.random.default_rng(0)
    context = rng.standard_normal((512, 1)).astype("float32")
    x = np.concatenate([context, -context], axis=1) + 0.1 * rng.standard_normal((512, 2))
    table = tmp_path / "x.csv"
    np.savetxt(table, x, delimiter=",", header="a,b", comments="")
    dataset = kf.data.make_dataset(table, context=context, batch_size=64, seed=0)
    assert set(dataset.element_spec) == {"x", "context"}
    model = kf.MAF([2], num_flows=2, hidden_units=(16,), context_shape=[1])
    model.compile(keras.optimizers.Adam(1e-2))
    before = model.evaluate(dataset, verbose=0)
    model.fit(dataset, epochs=3, verbose=0)
    assert model.evaluate(dataset, verbose=0) < before - 0.5


def test_fit_on_a_dataset_of_tensors():
    x = kf.datasets.two_moons(512, noise=0.05, seed=0)
    dataset = kf.data.make_dataset(x, batch_size=128, seed=0)
    model = kf.RealNVP([2], num_flows=2, hidden_units=(16,))
    model.compile(keras.optimizers.Adam(1e-2))
    history = model.fit(dataset, validation_data=kf.data.make_dataset(x[:128], shuffle=False), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] - 0.1
    assert len(history.history["val_loss"]) == 3


def test_dequantization_fills_the_unit_cells_with_fresh_noise():
    pixels = np.random.default_rng(1).integers(0, 17, size=(64, 8, 8, 1)).astype("uint8")
    dataset = kf.data.make_dataset(pixels, batch_size=64, shuffle=False, dequantize=True, seed=5)
    first, second = _rows(dataset)[0], _rows(dataset)[0]
    for noisy in (first, second):
        assert noisy.dtype == np.float32 and noisy.shape == (64, 8, 8, 1)
        np.testing.assert_array_equal(np.floor(noisy + 0.5), pixels)
        assert abs(float(np.mean(noisy - pixels))) < 0.02 and abs(float(np.var(noisy - pixels)) - 1 / 12) < 0.01
    assert not np.allclose(first, second)
    again = _rows(kf.data.make_dataset(pixels, batch_size=64, shuffle=False, dequantize=True, seed=5))[0]
    np.testing.assert_array_equal(again, first)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"x": np.ones((4, 2)), "context": np.ones((3, 1))}, "one context row per row of x (4), Received: 3"),
        ({"x": np.ones((4, 2)), "batch_size": 0}, "`batch_size` to be an int >= 1"),
        ({"x": np.array([[1.0, np.nan]])}, "finite values in `x`"),
        ({"x": np.zeros((0, 2))}, "at least one row of `x`"),
        ({"x": np.full((4, 2), 0.5), "dequantize": True}, "integer-valued `x`"),
        ({"x": "missing.csv"}, "does not exist"),
    ],
)
def test_bad_input_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        kf.data.make_dataset(**kwargs)
