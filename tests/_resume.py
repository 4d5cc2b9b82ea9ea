"""A training run that can kill itself mid-epoch, for the `BackupAndRestore` test; run as a script.

`python _resume.py BACKUP_DIR OUT [DIE_AT_STEP]` fits a MAF with deterministic
ops under `BackupAndRestore(BACKUP_DIR)` and a `ModelCheckpoint` per epoch.
Given DIE_AT_STEP, the process exits with code 17 right after that optimizer
step, as a crash would. Otherwise it finishes, then also trains a fresh model
without interruption, and writes both runs' weights to OUT as JSON.
"""

import json
import os
import sys
from pathlib import Path

import keras
import tensorflow as tf

import kerasflows as kf

EPOCHS, BATCH, ROWS, DIED = 3, 64, 512, 17


class _Die(keras.callbacks.Callback):
    def __init__(self, step: int):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == self.step:
            os._exit(DIED)


def train(callbacks) -> tuple[keras.Model, dict]:
    keras.utils.set_random_seed(0)
    model = kf.MAF([2], num_flows=2, hidden_units=(16,))
    model.compile(keras.optimizers.Adam(1e-2), steps_per_execution=1)  # _Die checks every step
    x = kf.datasets.two_moons(ROWS, noise=0.05, seed=0)
    history = model.fit(x, epochs=EPOCHS, batch_size=BATCH, shuffle=False, verbose=0, callbacks=callbacks)
    return model, history.history


if __name__ == "__main__":
    tf.config.experimental.enable_op_determinism()
    backup, out = Path(sys.argv[1]), Path(sys.argv[2])
    callbacks = [
        keras.callbacks.BackupAndRestore(str(backup)),
        keras.callbacks.ModelCheckpoint(str(backup.parent / "epoch{epoch}.keras")),
    ]
    if len(sys.argv) > 3:
        callbacks.append(_Die(int(sys.argv[3])))
    resumed, history = train(callbacks)
    reference, _ = train([])
    out.write_text(
        json.dumps(
            {
                "history": history,
                "steps": int(resumed.optimizer.iterations.numpy()),
                "resumed": [weight.numpy().tolist() for weight in resumed.trainable_weights],
                "uninterrupted": [weight.numpy().tolist() for weight in reference.trainable_weights],
            }
        )
    )
