"""Serving latency: a reloaded SavedModel's signatures against the live Keras model.

Times `log_prob` at batch 1 and 1024 and drawing 1000 samples, `--calls`
times each after a warm-up, for the live model (XLA-compiled by default),
the same weights compiled with `jit_compile=False` (graph mode), the default
export and an `export(jit_compile=True)` one, taking turns call by call
(results read back). Prints one JSON object: p50 and p99 in milliseconds,
and each export's p50 over the live p50 (the default export's also over
the graph-mode live p50, its like-for-like).

    python benchmarks/bench_serving.py [--calls 200] [--hidden 128] [--flows 5]
"""

import argparse
import json
import os
import platform
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from bench_train import call_times  # noqa: E402

import kerasflows as kf  # noqa: E402

WARMUP = 10
SEED = [1, 2]


def _percentiles_ms(seconds: list) -> dict:
    p50, p99 = np.percentile(np.array(seconds) * 1e3, [50, 99])
    return {"p50": round(float(p50), 3), "p99": round(float(p99), 3)}


def main(calls: int, hidden: int, flows: int) -> dict:
    model = kf.MAF([2], num_flows=flows, hidden_units=(hidden, hidden))
    model.compile()
    model.fit(kf.datasets.two_moons(1024), epochs=1, verbose=0)  # trained weights, not the identity
    folder = tempfile.mkdtemp()
    model.export(f"{folder}/plain", verbose=False)
    model.export(f"{folder}/xla", verbose=False, jit_compile=True)
    exports = {name: tf.saved_model.load(f"{folder}/{name}").signatures for name in ("plain", "xla")}
    # The same weights with XLA off: what the default (graph-mode) export is to be compared with.
    in_graph = kf.MAF.from_config(model.get_config())
    in_graph.set_weights(model.get_weights())
    in_graph.compile(jit_compile=False)
    live = {"live": model, "live_graph": in_graph}
    x = {batch: tf.constant(kf.datasets.two_moons(batch, seed=batch)) for batch in (1, 1024)}
    cases = {
        f"log_prob_batch_{batch}": {
            **{name: lambda m=m, batch=batch: m.log_prob(x[batch]) for name, m in live.items()},
            **{name: lambda s=s, batch=batch: s["log_prob"](x=x[batch]) for name, s in exports.items()},
        }
        for batch in (1, 1024)
    }
    cases["sample_1000"] = {
        **{name: lambda m=m: m.sample(1000, seed=SEED) for name, m in live.items()},
        **{name: lambda s=s: s["sample"](num_samples=1000, seed=SEED) for name, s in exports.items()},
    }
    result = {
        "model": f"MAF(event_shape=[2], num_flows={flows}, hidden_units=({hidden}, {hidden}))",
        "calls": calls,
        "tensorflow": tf.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    for case, functions in cases.items():
        times = call_times(functions, calls, warmup=WARMUP)
        latencies = {name: _percentiles_ms(seconds) for name, seconds in times.items()}
        result[case] = {
            "live_ms": latencies["live"],
            "live_graph_ms": latencies["live_graph"],
            "saved_model_ms": latencies["plain"],
            "saved_model_xla_ms": latencies["xla"],
            "saved_model_over_live_p50": round(latencies["plain"]["p50"] / latencies["live"]["p50"], 2),
            "saved_model_over_live_graph_p50": round(latencies["plain"]["p50"] / latencies["live_graph"]["p50"], 2),
            "saved_model_xla_over_live_p50": round(latencies["xla"]["p50"] / latencies["live"]["p50"], 2),
        }
    return result


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--flows", type=int, default=5)
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse_args()
    print(json.dumps(main(args.calls, args.hidden, args.flows)))
