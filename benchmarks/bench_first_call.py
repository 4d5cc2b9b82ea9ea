"""What a new batch size costs an eager `log_prob` or `sample` call: XLA compiles once per input shape.

For a preset with fresh weights, calls `log_prob` on batches of `--sizes` rows and `sample` with
`--sizes` samples, each size twice in a row: the first call with a new size traces (the first time only;
`reduce_retracing` relaxes the batch dimension after that) and XLA-compiles, unless the size falls in a
row-count bucket compiled before (`kerasflows.row_buckets`); the second runs the compiled program.
Then a stream of `--stream` random batch sizes up to `--stream-max` rows goes through `log_prob` twice,
ours and the bench_train baseline's (`tf.function(jit_compile=True)`, which compiles every new size).
Prints one JSON object on stdout:

    python benchmarks/bench_first_call.py > benchmarks/results/bench_first_call-cpu-onednn.json
"""

import argparse
import functools
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from bench_train import PRESETS, build_baseline, make_data, print_report  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="maf", choices=sorted(PRESETS))
    parser.add_argument("--dim", type=int, default=2)
    parser.add_argument("--num-flows", type=int, default=5)
    parser.add_argument("--hidden-units", default="128,128", help="comma-separated hidden widths")
    parser.add_argument("--sizes", default="5,6,7,8,100,1000", help="comma-separated batch sizes, in call order")
    parser.add_argument("--stream", type=int, default=100, help="random batch sizes in the log_prob stream")
    parser.add_argument("--stream-max", type=int, default=2000, help="largest batch size in the stream")
    args = parser.parse_args(argv)
    args.hidden_units = tuple(int(h) for h in args.hidden_units.split(","))
    args.sizes = [int(s) for s in args.sizes.split(",")]
    return args


def _seconds(call) -> float:
    start = time.perf_counter()
    np.asarray(call())
    return time.perf_counter() - start


def time_stream(log_prob, x: np.ndarray, sizes: list) -> tuple[float, float]:
    """Seconds for `log_prob` over batches of `sizes` rows, the first pass and a second one."""
    return tuple(sum(_seconds(functools.partial(log_prob, x[:size])) for size in sizes) for _ in range(2))


def main(argv=None) -> None:
    args = parse_args(argv)
    keras.utils.set_random_seed(0)
    model = PRESETS[args.preset]([args.dim], num_flows=args.num_flows, hidden_units=args.hidden_units)
    x = make_data(max(*args.sizes, args.stream_max), args.dim)
    calls = {"log_prob": lambda size: model.log_prob(x[:size]), "sample": lambda size: model.sample(size, seed=0)}
    results = []
    for method, run in calls.items():
        for size in args.sizes:
            call = functools.partial(run, size)
            first, again = _seconds(call), _seconds(call)
            results.append({"method": method, "size": size, "first_call_s": first, "second_call_s": again})
            print(f"{method:9s} {size:6d}: first {first:7.3f} s, again {again * 1e3:8.2f} ms", file=sys.stderr)

    sizes = np.random.default_rng(0).integers(1, args.stream_max + 1, size=args.stream).tolist()
    stream_model = PRESETS[args.preset]([args.dim], num_flows=args.num_flows, hidden_units=args.hidden_units)
    baseline, _ = build_baseline(args.preset, args.dim, args)
    sides = {
        "ours": stream_model.log_prob,
        "baseline": tf.function(lambda x: baseline.log_prob(x), jit_compile=True, reduce_retracing=True),
    }
    stream = {"method": "log_prob_stream", "sizes": sizes, "distinct_sizes": len(set(sizes))}
    for side, log_prob in sides.items():
        first, again = time_stream(log_prob, x, sizes)
        stream[side] = {"first_pass_s": first, "second_pass_s": again}
        print(f"stream {side:9s}: first pass {first:7.2f} s, again {again:6.3f} s", file=sys.stderr)
    stream["ours"]["programs"] = len(stream_model._row_buckets["log_prob"].compiled)
    stream["baseline"]["programs"] = len(set(sizes))
    stream["ratios"] = {
        f"{key}_baseline_vs_ours": stream["baseline"][key] / stream["ours"][key]
        for key in ("first_pass_s", "second_pass_s")
    }
    results.append(stream)
    settings = {**vars(args), "hidden_units": list(args.hidden_units)}
    print_report(
        "bench_first_call",
        settings,
        "first_call_s: a call with a size not seen before (trace on the first size, XLA compile on "
        "each new program); second_call_s: the same call again. Sizes are called in the order given, log_prob "
        "then sample. log_prob_stream: a fresh model and the baseline each take the stream twice; programs: "
        "the XLA programs compiled (ours: row-count buckets after the first three sizes; the baseline: one per "
        "distinct size); ratios > 1 mean ours took less time.",
        results,
    )


if __name__ == "__main__":
    main()
