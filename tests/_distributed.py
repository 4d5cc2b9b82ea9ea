"""Training runs under `tf.distribute`, each in a fresh process.

Logical devices and `TF_CONFIG` must be set before TensorFlow starts, so the
tests start this file as a script:

- `python _distributed.py mirrored OUT`: 2 logical CPU devices, a
  `MirroredStrategy` run with XLA on and one with XLA off.
- `python _distributed.py worker INDEX PORT,PORT OUT`: worker INDEX of a
  2-process `MultiWorkerMirroredStrategy` cluster on 127.0.0.1.

Each writes `train`'s results as JSON into OUT. The tests call `train` in
their own process for the single-device reference.
"""

import json
import os
import sys
from pathlib import Path

NUM_ROWS, GLOBAL_BATCH, EPOCHS = 256, 64, 2


def train(strategy, jit_compile: bool, checkpoint: str | None = None) -> dict:
    """A MAF fitted by SGD on fixed data, weights and batches; returns its history, weights and scores."""
    import keras
    import numpy as np

    import kerasflows as kf

    x = kf.datasets.two_moons(NUM_ROWS, noise=0.05, seed=0)
    with strategy.scope():
        model = kf.MAF([2], num_flows=2, hidden_units=(8,))
        rng = np.random.default_rng(0)
        for weight in model.trainable_weights:
            weight.assign(0.1 * rng.standard_normal(weight.shape))
        model.compile(keras.optimizers.SGD(0.05), jit_compile=jit_compile)
    callbacks = [keras.callbacks.ModelCheckpoint(checkpoint)] if checkpoint else []
    history = model.fit(
        x,
        validation_data=x[:GLOBAL_BATCH],
        epochs=EPOCHS,
        batch_size=GLOBAL_BATCH,
        shuffle=False,
        verbose=0,
        callbacks=callbacks,
    )
    return {
        "history": history.history,
        "weights": [weight.numpy().tolist() for weight in model.trainable_weights],
        "evaluate": model.evaluate(x, batch_size=GLOBAL_BATCH, verbose=0),
        "log_prob": model.log_prob(x[:4]).numpy().tolist(),
    }


def _mirrored(out: Path) -> None:
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = {"replicas": strategy.num_replicas_in_sync}
    for jit_compile in (True, False):
        results[f"jit_compile={jit_compile}"] = train(strategy, jit_compile)
    out.write_text(json.dumps(results))


def _worker(index: int, ports: list[str], out: Path) -> None:
    os.environ["TF_CONFIG"] = json.dumps(
        {"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]}, "task": {"type": "worker", "index": index}}
    )
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    checkpoint = out.with_suffix(".keras")
    results = train(strategy, jit_compile=True, checkpoint=str(checkpoint))
    results["replicas"] = strategy.num_replicas_in_sync
    out.write_text(json.dumps(results))


if __name__ == "__main__":
    if sys.argv[1] == "mirrored":
        _mirrored(Path(sys.argv[2]))
    else:
        _worker(int(sys.argv[2]), sys.argv[3].split(","), Path(sys.argv[4]))
