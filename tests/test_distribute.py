"""`fit` under tf.distribute: 2 logical CPU devices and a 2-process multi-worker cluster, against one device."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import _distributed
import keras
import numpy as np
import pytest
import tensorflow as tf

SCRIPT = Path(_distributed.__file__)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.fixture(scope="module")
def single_device():
    return _distributed.train(tf.distribute.get_strategy(), jit_compile=True)


def _assert_same_training(run: dict, reference: dict) -> None:
    assert set(run["history"]) == {"loss", "val_loss"}
    for key, values in reference["history"].items():
        np.testing.assert_allclose(run["history"][key], values, rtol=1e-5)
    for weight, expected in zip(run["weights"], reference["weights"], strict=True):
        np.testing.assert_allclose(weight, expected, atol=1e-6)
    np.testing.assert_allclose(run["evaluate"], reference["evaluate"], rtol=1e-5)
    np.testing.assert_allclose(run["log_prob"], reference["log_prob"], rtol=1e-5)


def test_mirrored_strategy_matches_one_device(single_device, tmp_path):
    out = tmp_path / "mirrored.json"
    subprocess.run([sys.executable, str(SCRIPT), "mirrored", str(out)], check=True, timeout=240)
    results = json.loads(out.read_text())
    assert results["replicas"] == 2
    assert single_device["history"]["loss"][1] < single_device["history"]["loss"][0] - 0.05  # it learns
    for jit_compile in (True, False):
        _assert_same_training(results[f"jit_compile={jit_compile}"], single_device)


def test_multi_worker_fit_matches_one_process(single_device, tmp_path):
    ports = ",".join(map(str, _free_ports(2)))
    outs = [tmp_path / f"worker{index}.json" for index in range(2)]
    workers = [
        subprocess.Popen([sys.executable, str(SCRIPT), "worker", str(index), ports, str(out)])
        for index, out in enumerate(outs)
    ]
    try:
        assert [worker.wait(timeout=240) for worker in workers] == [0, 0]
    finally:
        for worker in workers:
            worker.kill()
    results = [json.loads(out.read_text()) for out in outs]
    assert [run["replicas"] for run in results] == [2, 2]
    for weight, other in zip(results[0]["weights"], results[1]["weights"], strict=True):
        np.testing.assert_array_equal(weight, other)
    for run in results:
        _assert_same_training(run, single_device)
    for out, run in zip(outs, results, strict=True):
        saved = keras.saving.load_model(out.with_suffix(".keras"))
        for weight, expected in zip(saved.trainable_weights, run["weights"], strict=True):
            np.testing.assert_allclose(weight.numpy(), expected, atol=1e-7)
