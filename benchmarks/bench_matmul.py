"""XLA:CPU against TF's graph mode on the matmuls of a flow's conditioner, under several XLA flags.

A chain of `--layers` matmuls `h <- relu(h @ W) * 0.1` with `h` of shape `[batch, width]` and `W` of
shape `[width, width]` (the hidden layers of a MADE or coupling MLP at training batch size), timed as one
`tf.function` with `jit_compile=True` and with `jit_compile=False`. Each `--xla-flags` variant runs in a
process of its own, since XLA reads `XLA_FLAGS` once. Where TF's oneDNN kernels are on (CPUs with
AVX-512 VNNI/BF16 or AMX), graph mode multiplies with oneDNN and XLA with its own kernels: this is the
size of that gap, which decides whether `jit_compile=True` trains a small flow faster.

Prints one JSON object on stdout:

    python benchmarks/bench_matmul.py > benchmarks/results/bench_matmul-cpu-onednn.json        # AMD EPYC Zen 4
    python benchmarks/bench_matmul.py > benchmarks/results/bench_matmul-cpu-onednn-intel.json  # Intel, AMX
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

import tensorflow as tf
from bench_train import call_times, print_report

DEFAULT_FLAGS = (
    "",
    "--xla_cpu_use_onednn=true",
    "--xla_cpu_use_xnnpack=true",
    "--xla_cpu_prefer_vector_width=512",
    "--xla_cpu_use_thunk_runtime=false",
    "--xla_cpu_experimental_xnn_fusion_type=dot",
    "--xla_cpu_experimental_onednn_fusion_type=dot",
    "--xla_cpu_experimental_ynn_fusion_type=dot",
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--layers", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=200, help="timed calls per mode (median kept)")
    parser.add_argument("--rounds", type=int, default=3, help="each flag variant runs this many times, in turn")
    parser.add_argument(
        "--xla-flags",
        default=";".join(DEFAULT_FLAGS),
        help="';'-separated XLA_FLAGS variants, an empty one for none: --xla-flags=';--xla_cpu_use_onednn=true'",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.xla_flags = [flags.strip() for flags in args.xla_flags.split(";")]
    return args


def time_chain(args) -> dict:
    """GFLOP/s of the matmul chain under XLA and in graph mode, taking turns call by call (`call_times`)."""
    h = tf.random.stateless_normal([args.batch, args.width], seed=[0, 1])
    w = tf.random.stateless_normal([args.width, args.width], seed=[0, 2])

    def chain(h, w):
        for _ in range(args.layers):
            h = tf.nn.relu(h @ w) * 0.1
        return h

    compiled = {"xla": tf.function(chain, jit_compile=True), "graph": tf.function(chain, jit_compile=False)}
    times = call_times({mode: lambda f=function: f(h, w) for mode, function in compiled.items()}, args.repeats)
    flop = 2 * args.layers * args.batch * args.width**2
    return {f"{mode}_gflop_per_s": flop / statistics.median(seconds) / 1e9 for mode, seconds in times.items()}


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(time_chain(args)))
        return
    child = [sys.executable, os.path.abspath(__file__), "--child"]
    child += ["--batch", str(args.batch), "--width", str(args.width), "--layers", str(args.layers)]
    child += ["--repeats", str(args.repeats)]
    runs = {flags: [] for flags in args.xla_flags}
    for _ in range(args.rounds):
        for flags in args.xla_flags:
            env = {**os.environ, "XLA_FLAGS": flags, "TF_CPP_MIN_LOG_LEVEL": "2"}
            done = subprocess.run(child, env=env, capture_output=True, text=True, check=True)
            runs[flags].append(json.loads(done.stdout.strip().splitlines()[-1]))
    results = [
        {
            "xla_flags": flags,
            "xla_gflop_per_s": [run["xla_gflop_per_s"] for run in rounds],
            "graph_gflop_per_s": [run["graph_gflop_per_s"] for run in rounds],
            "xla_vs_graph": [run["xla_gflop_per_s"] / run["graph_gflop_per_s"] for run in rounds],
        }
        for flags, rounds in runs.items()
    ]
    settings = {k: v for k, v in vars(args).items() if k != "child"}
    print_report(
        "bench_matmul",
        settings,
        "median GFLOP/s of --repeats calls of a chain of relu(h @ W) * 0.1, XLA and graph mode taking "
        "turns call by call; one process per XLA_FLAGS variant and round, the variants taking turns by round.",
        results,
    )


if __name__ == "__main__":
    main()
