"""Training throughput of MAF and RealNVP under tf.distribute: 1 vs 2 devices, 1 vs 2 worker processes, XLA on/off.

Each setting runs in fresh processes, since logical devices and `TF_CONFIG` must be set before
TensorFlow starts:

* `one-device`: the default strategy;
* `mirrored-2`: `MirroredStrategy` over the devices of one process (on a CPU-only host, 2
  logical CPU devices carved out of the one physical CPU; on a GPU host, the first 2 GPUs);
* `workers-2`: `MultiWorkerMirroredStrategy` with 2 worker processes on 127.0.0.1.

For each preset and `jit_compile` setting, a warm-up `fit` epoch traces and compiles, then a timed
`fit` runs `--epochs` epochs of `--rows` rows at global batch `--batch-size`. Samples/s are rows
trained per second of the timed `fit` (in the multi-worker setting, the slower worker's time).
Prints one JSON object on stdout. On a CPU host the devices share the same cores, so more replicas
cannot be faster: the numbers measure the overhead of the distributed step; on GPU or TPU hosts
the same script measures the speed-up.

    python benchmarks/bench_scale.py > benchmarks/results/bench_scale-cpu.json
    python benchmarks/bench_scale.py --quick
"""

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SETTINGS = ("one-device", "mirrored-2", "workers-2")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="maf,realnvp")
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--dim", type=int, default=16)
    parser.add_argument("--num-flows", type=int, default=5)
    parser.add_argument("--hidden-units", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--rows", type=int, default=32768)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script runs")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # SETTING:INDEX:PORTS, internal
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.epochs, args.batch_size, args.hidden_units = 4096, 1, 512, 32
    return args


# ---------------------------------------------------------------------------------- in one process
def _strategy(setting: str):
    import tensorflow as tf

    if setting == "mirrored-2":
        gpus = tf.config.list_physical_devices("GPU")
        if len(gpus) >= 2:
            return tf.distribute.MirroredStrategy([f"/gpu:{index}" for index in range(2)])
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    if setting == "workers-2":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def _measure(args, setting: str) -> dict:
    import keras
    import numpy as np

    import kerasflows as kf

    strategy = _strategy(setting)
    x = np.random.default_rng(0).standard_normal((args.rows, args.dim)).astype("float32")
    results = {"replicas": strategy.num_replicas_in_sync, "runs": []}
    for preset in args.presets.split(","):
        for jit_compile in (True, False):
            with strategy.scope():
                model = {"maf": kf.MAF, "realnvp": kf.RealNVP}[preset](
                    [args.dim], num_flows=args.num_flows, hidden_units=(args.hidden_units,) * 2
                )
                model.compile(keras.optimizers.Adam(1e-4), jit_compile=jit_compile)
            model.fit(x[: 4 * args.batch_size], batch_size=args.batch_size, epochs=1, verbose=0)
            started = time.perf_counter()
            history = model.fit(x, batch_size=args.batch_size, epochs=args.epochs, shuffle=False, verbose=0)
            seconds = time.perf_counter() - started
            results["runs"].append(
                {
                    "preset": preset,
                    "jit_compile": jit_compile,
                    "seconds": round(seconds, 3),
                    "samples_per_second": round(args.rows * args.epochs / seconds, 1),
                    "final_loss": round(float(history.history["loss"][-1]), 4),
                }
            )
    return results


# ------------------------------------------------------------------------------------- the driver
def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _run_setting(argv: list[str], setting: str) -> dict:
    workers = 2 if setting == "workers-2" else 1
    ports = ",".join(map(str, _free_ports(workers)))
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, *argv, "--worker", f"{setting}:{index}:{ports}"], stdout=subprocess.PIPE
        )
        for index in range(workers)
    ]
    outputs = [json.loads(process.communicate()[0]) for process in processes]
    if any(process.returncode for process in processes):
        raise RuntimeError(f"{setting}: a process failed")
    merged = outputs[0]
    for run, *others in zip(merged["runs"], *(output["runs"] for output in outputs[1:]), strict=True):
        run["seconds"] = max(one["seconds"] for one in (run, *others))
        run["samples_per_second"] = min(one["samples_per_second"] for one in (run, *others))
    merged["processes"] = workers
    return merged


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.worker is not None:
        setting, index, ports = args.worker.split(":")
        if setting == "workers-2":
            cluster = {"worker": [f"127.0.0.1:{port}" for port in ports.split(",")]}
            os.environ["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": int(index)}})
        print(json.dumps(_measure(args, setting)))
        return
    import tensorflow as tf

    report = {
        "benchmark": "bench_scale",
        "host": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_average_before": [round(load, 2) for load in os.getloadavg()],
            "gpus": len(tf.config.list_physical_devices("GPU")),
            "tensorflow": tf.__version__,
        },
        "settings": {key: value for key, value in vars(args).items() if key not in ("worker", "quick")},
        "results": {setting: _run_setting(argv, setting) for setting in args.settings.split(",")},
    }
    report["host"]["load_average_after"] = [round(load, 2) for load in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
