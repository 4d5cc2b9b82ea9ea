"""Fault tolerance: resuming a killed run, `.keras` checkpoints, and NaN losses in `fit` and the CLI."""

import json
import subprocess
import sys
import warnings

import _resume
import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasflows as kf
from kerasflows.cli import main

STEPS_PER_EPOCH = _resume.ROWS // _resume.BATCH


def test_a_killed_run_resumes_from_its_backup_to_the_same_weights(tmp_path):
    backup, out = tmp_path / "backup", tmp_path / "out.json"
    command = [sys.executable, _resume.__file__, str(backup), str(out)]
    die_at = STEPS_PER_EPOCH + 5  # epoch 2, batch 5
    killed = subprocess.run([*command, str(die_at)], timeout=240)
    assert killed.returncode == _resume.DIED and not out.exists()
    assert (backup / "latest.weights.h5").is_file() and (tmp_path / "epoch1.keras").is_file()
    assert not (tmp_path / "epoch2.keras").exists()
    subprocess.run(command, check=True, timeout=240)
    results = json.loads(out.read_text())
    assert len(results["history"]["loss"]) == _resume.EPOCHS - 1  # epochs 2 and 3 ran again
    assert results["steps"] == _resume.EPOCHS * STEPS_PER_EPOCH  # the optimizer state came back too
    for resumed, uninterrupted in zip(results["resumed"], results["uninterrupted"], strict=True):
        np.testing.assert_allclose(resumed, uninterrupted, rtol=0, atol=1e-6)
    last = keras.saving.load_model(tmp_path / f"epoch{_resume.EPOCHS}.keras")
    for weight, expected in zip(last.trainable_weights, results["resumed"], strict=True):
        np.testing.assert_array_equal(weight.numpy(), expected)
    assert not backup.exists()  # deleted after a finished run


class _PoisonAt(keras.callbacks.Callback):
    """Writes NaN into a weight after `step` optimizer steps, as a diverging update would."""

    def __init__(self, step: int):
        super().__init__()
        self.step = step
        self.epoch_end_weights = []

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == self.step:
            weight = self.model.trainable_weights[0]
            weight.assign(tf.fill(weight.shape, np.nan))

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_end_weights.append(self.model.get_weights())


def test_a_nan_loss_stops_fit_and_restores_the_last_good_epoch():
    x = kf.datasets.two_moons(256, noise=0.05, seed=0)
    model = kf.MAF([2], num_flows=2, hidden_units=(8,))
    model.compile(keras.optimizers.Adam(1e-2), steps_per_execution=1)  # a callback after every batch
    poison = _PoisonAt(step=2 * 4 + 2)  # 4 steps an epoch: the loss turns NaN in epoch 3, batch 3
    with pytest.warns(
        RuntimeWarning, match=r"loss became nan at epoch 3, batch 3\. Restored the weights from the end of epoch 2"
    ):
        history = model.fit(x, epochs=6, batch_size=64, verbose=0, callbacks=[poison])
    assert len(history.history["loss"]) == 3 and np.isnan(history.history["loss"][2])
    for weight, good in zip(model.get_weights(), poison.epoch_end_weights[1], strict=True):
        np.testing.assert_array_equal(weight, good)
    assert np.isfinite(model.evaluate(x, verbose=0))
    assert all(np.isfinite(v.numpy()).all() for v in model.optimizer.variables)


def test_a_nan_in_the_first_epoch_restores_the_initial_weights_and_optimizer_state():
    x = kf.datasets.two_moons(64, noise=0.05, seed=0)
    x[40] = np.nan  # a dataset is not checked up front: batch 3 of epoch 1 is NaN
    model = kf.RealNVP([2], num_flows=2, hidden_units=(8,))
    initial = model.get_weights()
    model.compile(keras.optimizers.Adam(1e-2))  # not built yet: Keras builds it in the first step
    # The default steps_per_execution runs the epoch's 4 batches in one call: the warning names them all.
    with pytest.warns(
        RuntimeWarning, match=r"epoch 1, batches 1 to 4\. Restored the weights from the start of training"
    ):
        model.fit(tf.data.Dataset.from_tensor_slices(x).batch(16), epochs=2, verbose=0)
    for weight, good in zip(model.get_weights(), initial, strict=True):
        np.testing.assert_array_equal(weight, good)
    assert int(model.optimizer.iterations) == 0
    moments = [v for v in model.optimizer.variables if "momentum" in v.path or "velocity" in v.path]
    assert len(moments) == 2 * len(model.trainable_variables) and all(np.all(v.numpy() == 0) for v in moments)


class PoisonedAdam(keras.optimizers.Adam):
    """Adam whose update at one step is NaN."""

    POISON_STEP = 9

    def apply(self, grads, trainable_variables=None):
        grads = [tf.where(self.iterations == self.POISON_STEP, tf.fill(tf.shape(g), np.nan), g) for g in grads]
        return super().apply(grads, trainable_variables)


@pytest.mark.parametrize("early_stopping", [True, False])
def test_cli_fit_keeps_the_last_good_weights_after_a_nan_loss(early_stopping, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(keras.optimizers, "Adam", PoisonedAdam)
    np.save(tmp_path / "moons.npy", kf.datasets.two_moons(640, seed=3))
    # The run without early stopping also runs without XLA: the guard holds in graph mode too.
    flags = [] if early_stopping else ["--no-early-stopping", "--no-jit-compile"]
    args = ["--epochs", "6", "--num-flows", "2", "--hidden-units", "8", "--batch-size", "128", *flags]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert main(["fit", "--data", str(tmp_path / "moons.npy"), "--out", str(tmp_path / "run"), *args]) == 0
    # 4 steps an epoch: the update after step 9 is NaN, so the loss is NaN from epoch 3, batch 2 on.
    assert "Training stopped in epoch 3: the loss became NaN or infinite. Kept the last good weights, from epoch 2" in (
        capsys.readouterr().out
    )
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["stopped_on_nan_in_epoch"] == 3 and metrics["epochs_run"] == 3 and metrics["best_epoch"] == 2
    assert metrics["jit_compile"] is early_stopping
    assert np.isfinite(metrics["validation_nll"]) and np.isfinite(metrics["train_nll"])
    model = keras.saving.load_model(tmp_path / "run" / "model.keras", compile=False)
    assert all(np.isfinite(weight).all() for weight in model.get_weights())
    assert np.isfinite(model.log_prob(kf.datasets.two_moons(10, seed=1))).all()
