"""MAF `log_prob` with the MADE's outputs grouped by parameter against interleaved, at several D.

For each D, one MAF preset (5 flows, 2x128 hidden, random weights) is built with interleaved MADE
outputs (`MaskedAutoregressive.grouped_output_from = None`), saved, and loaded again with grouped
outputs (the saved layout is the same), so both compute the same function. Their compiled `log_prob`
programs take turns on the same `--rows` x D tensor, `--repeats` times, with the interleaved one timed
twice (A/A). Ratios are paired (median over turns of the interleaved time over the other's). Prints one
JSON object on stdout:

    python benchmarks/bench_made_layout.py > benchmarks/results/bench_made_layout-cpu-onednn.json
"""

import argparse
import os
import tempfile
import time
import unittest.mock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from bench_train import build_ours, call_times, make_data, paired_ratio, print_report  # noqa: E402

import kerasflows as kf  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", default="8,16,24,32,64,128", help="comma-separated event sizes D")
    parser.add_argument("--num-flows", type=int, default=5)
    parser.add_argument("--hidden-units", default="128,128", help="comma-separated hidden widths")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=201, help="timed calls of each program per D")
    args = parser.parse_args(argv)
    args.dims = [int(d) for d in args.dims.split(",")]
    args.hidden_units = tuple(int(h) for h in args.hidden_units.split(","))
    return args


def _grouped_output_from(features: int | None):
    """MAF layers built inside the `with` block hold grouped MADE outputs from `features` on (None: never)."""
    return unittest.mock.patch.object(kf.layers.MaskedAutoregressive, "grouped_output_from", features)


def compare(dim: int, args, directory: str) -> dict:
    with _grouped_output_from(None):
        interleaved = build_ours("maf", dim, args)
    rng = np.random.default_rng(1)
    for weight in interleaved.trainable_weights:
        weight.assign(0.05 * rng.standard_normal(weight.shape))
    path = os.path.join(directory, f"maf-{dim}.keras")
    interleaved.save(path)
    with _grouped_output_from(1):
        grouped = keras.saving.load_model(path)
    data = make_data(args.rows, dim)
    points = tf.constant(data)
    programs = {}
    for name, model in (("interleaved", interleaved), ("grouped", grouped)):
        model.log_prob(data)  # NumPy: checked on the host, so the compiled program holds the flow only
        programs[name] = model._compiled[("log_prob", True)]
    max_diff = float(np.abs(programs["interleaved"](points, None) - programs["grouped"](points, None)).max())
    times = call_times(
        {
            "interleaved": lambda: programs["interleaved"](points, None),
            "grouped": lambda: programs["grouped"](points, None),
            "interleaved_again": lambda: programs["interleaved"](points, None),
        },
        args.repeats,
    )
    return {
        "dim": dim,
        "rows": args.rows,
        "max_abs_diff": max_diff,
        "interleaved_ms": 1e3 * float(np.median(times["interleaved"])),
        "grouped_vs_interleaved": paired_ratio(times["grouped"], times["interleaved"]),
        "interleaved_again_vs_interleaved": paired_ratio(times["interleaved_again"], times["interleaved"]),
        "default_grouped": dim >= kf.layers.MaskedAutoregressive.grouped_output_from,
    }


def main(argv=None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        results = [compare(dim, args, directory) for dim in args.dims]
    print_report(
        "bench_made_layout",
        {**vars(args), "hidden_units": list(args.hidden_units)},
        (
            "MAF presets' compiled log_prob (the program model.log_prob runs on NumPy input), "
            "MADE outputs grouped by parameter vs interleaved, same weights. grouped_vs_interleaved: median "
            "over turns of the interleaved time over the grouped one (above 1: grouped is faster); "
            "interleaved_again_vs_interleaved: the same program timed twice (A/A). default_grouped: whether "
            "MaskedAutoregressive.grouped_output_from picks grouped at this D."
        ),
        results,
        grouped_output_from=kf.layers.MaskedAutoregressive.grouped_output_from,
        total_s=time.perf_counter() - start,
    )


if __name__ == "__main__":
    main()
