"""Callbacks for training flows: `StopOnNaN`, which `FlowModel.fit` adds unless one is given, and its progress bar."""

import warnings

import keras
import numpy as np


class StopOnNaN(keras.callbacks.Callback):
    """Stops training when the loss is NaN or infinite, and puts back the last good weights.

    A step with a non-finite loss leaves NaN in the weights and the optimizer
    state. This callback stops `fit` after that batch (after that call of the
    compiled step, with `steps_per_execution` > 1), warns with the epoch and
    batches, and restores the weights and optimizer state held at the end of
    the last finite epoch (or at the start of training), so the model that
    `fit` returns is never NaN. `FlowModel.fit` adds one unless the callbacks
    hold one already; keep a reference to read `stopped_epoch`.

    Attributes:
        stopped_epoch: the epoch (from 0) where the loss became non-finite,
            or None.
        restored_epoch: the epoch whose end the restored weights come from,
            -1 for the weights at the start of training, or None.
    """

    def __init__(self):
        super().__init__()
        self.stopped_epoch = None
        self.restored_epoch = None
        self._epoch = self._first_batch = self._iterations = 0
        self._good = None

    def _keep(self, epoch: int) -> None:
        optimizer = self.model.optimizer
        self._good = (epoch, self.model.get_weights(), [np.array(v) for v in optimizer.variables] if optimizer else [])

    def on_train_begin(self, logs=None):
        self.stopped_epoch = self.restored_epoch = None
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            # Keras builds it in the first step, after this: its state at the start would be missing.
            with self.model.distribute_strategy.scope():
                optimizer.build(self.model.trainable_variables)
        self._keep(-1)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self._first_batch = batch
        self._iterations = self._steps_taken()

    def _steps_taken(self) -> int:
        optimizer = self.model.optimizer
        return int(optimizer.iterations.numpy()) if optimizer is not None else 0

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or np.isfinite(float(loss)) or self.stopped_epoch is not None:
            return
        self.model.stop_training = True
        self.stopped_epoch = self._epoch
        # With steps_per_execution > 1 this runs once per call of several steps. Keras' `batch` is then
        # the call's last batch as planned, past the data's end when an epoch's length is not known yet.
        last = self._first_batch + max(self._steps_taken() - self._iterations, 1) - 1
        batches = f"batch {last + 1}" if last == self._first_batch else f"batches {self._first_batch + 1} to {last + 1}"
        self.restored_epoch, weights, optimizer_values = self._good
        self.model.set_weights(weights)
        if optimizer_values:
            for variable, value in zip(self.model.optimizer.variables, optimizer_values, strict=True):
                variable.assign(value)
        restored = "the start of training" if self.restored_epoch < 0 else f"the end of epoch {self.restored_epoch + 1}"
        warnings.warn(
            f"Training stopped: the loss became {float(loss)} at epoch {self._epoch + 1}, {batches}. "
            f"Restored the weights from {restored}. Try a lower learning rate, standardised data, or "
            "gradient clipping (`clipnorm` on the optimizer).",
            RuntimeWarning,
            stacklevel=2,
        )

    def on_epoch_end(self, epoch, logs=None):
        if self.stopped_epoch is None and np.isfinite(float((logs or {}).get("loss", 0.0))):
            self._keep(epoch)


class _ProgbarWithinEpoch(keras.callbacks.ProgbarLogger):
    """Keras' progress bar, its count held within the epoch.

    With `steps_per_execution` > 1, Keras reports each call of the compiled
    step by the last batch it planned, which overshoots the epoch's length on
    its last call (16/13 for an epoch of 13 batches).
    """

    def _within_epoch(self, batch: int) -> int:
        return batch if self.target is None else min(batch, self.target - 1)

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(self._within_epoch(batch), logs)

    def on_test_batch_end(self, batch, logs=None):
        super().on_test_batch_end(self._within_epoch(batch), logs)


def _with_default(callbacks, kind: type, make) -> list | keras.callbacks.CallbackList:
    if isinstance(callbacks, keras.callbacks.CallbackList):
        return callbacks
    callbacks = list(callbacks or [])
    if not any(isinstance(callback, kind) for callback in callbacks):
        callbacks.append(make())
    return callbacks


def with_progress_bar(callbacks):
    """`callbacks` plus a progress bar that counts within the epoch, unless they hold a `ProgbarLogger`.

    It prints only when `verbose` asks for a progress bar; a `CallbackList`
    is returned as it is.
    """
    return _with_default(callbacks, keras.callbacks.ProgbarLogger, _ProgbarWithinEpoch)


def with_training_callbacks(callbacks):
    """`callbacks` plus a `StopOnNaN` and `with_progress_bar`'s bar, each unless it holds one of its kind."""
    return _with_default(with_progress_bar(callbacks), StopOnNaN, StopOnNaN)
