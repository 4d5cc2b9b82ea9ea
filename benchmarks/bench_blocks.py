"""Large-batch `log_prob` on CPU: row blocks (`kerasflows.row_blocks`) against one whole-batch XLA program.

For MAF and RealNVP presets (fresh weights, 5 flows, 2x128 hidden) at each of `--rows` batch sizes, four
calls take turns on the same NumPy batch, `--repeats` times:

* `ours`: `model.log_prob` of a model new to this size (padded to whole blocks, not to a bucket), which
  runs batches of `FIRST_BLOCKED_ROWS` rows or more block by block;
* `whole`: our `_log_prob` in `tf.function(jit_compile=True)`, one program over the whole batch (and
  none of `log_prob`'s input checks);
* `baseline`, `baseline_again`: bench_train's TFP baseline compiled with `jit_compile=True`, twice (A/A).

Ratios are paired (median over turns of the other's time over ours). Then, per preset and size, fresh
processes each score `--memory-rows` rows once, `ours` or `whole`, and report how far the call raised the
process's peak resident memory (compilation included). Prints one JSON object on stdout:

    python benchmarks/bench_blocks.py > benchmarks/results/bench_blocks-cpu-onednn.json

Below `FIRST_BLOCKED_ROWS` no call runs in blocks, and `ours_vs_whole` is the price or gain of the rest of
an eager `log_prob` call (input checks, NumPy conversion, dispatch) next to a `tf.function` call of the
same program:

    python benchmarks/bench_blocks.py --rows 16,256,4096,10000 --dims 2,16,64 --memory-rows 0 --repeats 101 \
        > benchmarks/results/bench_blocks-small-cpu-onednn.json
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from bench_train import build_baseline, build_ours, call_times, make_data, paired_ratio, print_report  # noqa: E402

from kerasflows import row_blocks  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="maf,realnvp")
    parser.add_argument("--dims", default="16,64", help="comma-separated event sizes D")
    parser.add_argument("--num-flows", type=int, default=5)
    parser.add_argument("--hidden-units", default="128,128", help="comma-separated hidden widths")
    parser.add_argument("--rows", default="10000,20000,50000,100000", help="comma-separated batch sizes")
    parser.add_argument("--repeats", type=int, default=21, help="timed calls of each side per size")
    parser.add_argument("--memory-rows", type=int, default=200_000, help="batch of the peak-memory runs; 0: none")
    parser.add_argument("--memory-child", choices=("ours", "whole"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.presets = [p.strip() for p in args.presets.split(",")]
    args.dims = [int(d) for d in args.dims.split(",")]
    args.rows = [int(r) for r in args.rows.split(",")]
    args.hidden_units = tuple(int(h) for h in args.hidden_units.split(","))
    return args


def time_sizes(preset: str, dim: int, args) -> list:
    baseline, _ = build_baseline(preset, dim, args)
    results = []
    for rows in args.rows:
        # A fresh model for each size: its first sizes run unbucketed, so only the blocks differ.
        model = build_ours(preset, dim, args)
        sides = {
            "ours": model.log_prob,
            "whole": tf.function(lambda x, model=model: model._log_prob(x), jit_compile=True),
            "baseline": tf.function(baseline.log_prob, jit_compile=True),
            "baseline_again": tf.function(baseline.log_prob, jit_compile=True),
        }
        points = make_data(rows, dim)
        times = call_times({side: (lambda f=f, points=points: f(points)) for side, f in sides.items()}, args.repeats)
        result = {
            "preset": preset,
            "dim": dim,
            "rows": rows,
            "blocked": row_blocks.runs_in_blocks(rows),
            "ours_ms": 1e3 * statistics.median(times["ours"]),
            "ours_us_per_row": 1e6 * statistics.median(times["ours"]) / rows,
            **{f"ours_vs_{side}": paired_ratio(times["ours"], times[side]) for side in sides if side != "ours"},
            "baseline_again_vs_baseline": paired_ratio(times["baseline_again"], times["baseline"]),
        }
        print(json.dumps(result), file=sys.stderr)
        results.append(result)
    return results


def peak_memory_mb(preset: str, dim: int, side: str, args) -> float:
    """Peak resident memory a fresh process adds by scoring `--memory-rows` rows once with `side`."""
    command = [sys.executable, __file__, "--memory-child", side, "--presets", preset, "--dims", str(dim)]
    command += ["--num-flows", str(args.num_flows), "--hidden-units", ",".join(map(str, args.hidden_units))]
    command += ["--memory-rows", str(args.memory_rows)]
    return float(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def memory_child(args) -> None:
    model = build_ours(args.presets[0], args.dims[0], args)
    points = make_data(args.memory_rows, args.dims[0])
    whole = tf.function(lambda x: model._log_prob(x), jit_compile=True)
    call = model.log_prob if args.memory_child == "ours" else whole
    before = _peak_rss_mb()
    np.asarray(call(points))
    print(_peak_rss_mb() - before)


def _peak_rss_mb() -> float:
    """This process's peak resident memory (Linux `VmHWM`; `ru_maxrss` would carry the parent's over `exec`)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.memory_child:
        memory_child(args)
        return
    start = time.perf_counter()
    results = [r for preset in args.presets for dim in args.dims for r in time_sizes(preset, dim, args)]
    memory = []
    if args.memory_rows:
        for preset in args.presets:
            for dim in args.dims:
                peaks = {side: peak_memory_mb(preset, dim, side, args) for side in ("ours", "whole")}
                memory.append({"preset": preset, "dim": dim, "rows": args.memory_rows, "peak_rss_added_mb": peaks})
                print(json.dumps(memory[-1]), file=sys.stderr)
    print_report(
        "bench_blocks",
        {**vars(args), "hidden_units": list(args.hidden_units), "block_rows": row_blocks.BLOCK_ROWS},
        (
            "ours: FlowModel.log_prob (row blocks from first_blocked_rows on); whole: our _log_prob compiled "
            "as one XLA program over the whole batch, without log_prob's input checks; baseline: bench_train's "
            "TFP baseline under XLA, compiled twice (A/A). ours_vs_*: median over turns of that side's time "
            "over ours (above 1: ours is faster). memory: peak RSS a fresh process adds in one call on "
            "memory_rows rows, XLA compilation included."
        ),
        results,
        first_blocked_rows=row_blocks.FIRST_BLOCKED_ROWS,
        memory=memory,
        total_s=time.perf_counter() - start,
    )


if __name__ == "__main__":
    main()
