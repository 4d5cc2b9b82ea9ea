"""Training steps/s of kerasflows presets with and without row halves (`kerasflows/row_halves.py`), in one process.

Two copies of each model, the same weights: one trains as kerasflows does (an
XLA step on CPU computes its batch's log-densities as two row halves), the
other with whole batches. Both `fit` under `compile(jit_compile=True,
steps_per_execution=16)` on the same data, taking turns over `--rounds` rounds
(`bench_train.train_in_turns`), so that a change in the machine's load slows
both alike; the first `fit` of each (tracing and compiling) is timed too.
Prints one JSON object on stdout.

    python benchmarks/bench_row_halves.py > benchmarks/results/bench_row_halves-cpu-onednn-intel.json
    python benchmarks/bench_row_halves.py --presets maf --dims 2 --batches 128,512,2048
"""

import argparse

import keras
from bench_train import PRESETS, build_ours, fit_trainer, make_data, print_report, resolve_args, train_in_turns

from kerasflows.row_halves import FIRST_HALVED_ROWS


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="maf,realnvp", help="comma-separated: maf, realnvp")
    parser.add_argument("--dims", default="2,16,64", help="comma-separated event sizes D")
    parser.add_argument("--batches", default="512", help="comma-separated batch sizes")
    parser.add_argument("--num-flows", type=int, default=5)
    parser.add_argument("--hidden-units", default="128,128", help="comma-separated hidden widths")
    parser.add_argument("--steps-per-execution", type=int, default=16)
    parser.add_argument("--steps", type=int, default=192, help="timed training steps of each side")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    resolve_args(parser, args, {}, PRESETS)
    args.batches = [int(b) for b in args.batches.split(",")]
    if min(args.batches) < FIRST_HALVED_ROWS:
        parser.error(f"expected batches of at least {FIRST_HALVED_ROWS} rows (smaller ones train whole)")
    return args


def time_pair(preset: str, dim: int, batch: int, args) -> dict:
    """Steps/s of the model with row halves and of its copy without, trained in turns."""
    data = make_data(args.steps * batch, dim)
    models = {"halves": build_ours(preset, dim, args), "whole": build_ours(preset, dim, args)}
    models["whole"]._trains_in_halves = lambda rows: False
    trainers, warmup_s = {}, {}
    for side, model in models.items():
        keras.utils.set_random_seed(0)
        trainers[side], warmup_s[side] = fit_trainer(model, data, True, args.steps_per_execution, batch)
    rates = train_in_turns(trainers, args.steps, args.rounds)
    return {
        "preset": preset,
        "dim": dim,
        "batch": batch,
        **{f"{side}_{key}": value for side, side_rates in rates.items() for key, value in side_rates.items()},
        **{f"{side}_first_fit_s": seconds for side, seconds in warmup_s.items()},
        "halves_vs_whole": rates["halves"]["steps_per_s"] / rates["whole"]["steps_per_s"],
    }


def main(argv=None) -> None:
    args = parse_args(argv)
    results = [
        time_pair(preset, dim, batch, args) for preset in args.presets for dim in args.dims for batch in args.batches
    ]
    print_report(
        "bench_row_halves",
        vars(args),
        "steps_per_s: steady-state fit steps/s (median over executions after the first of each timed fit, "
        "bench_train's measure), the two sides taking turns over --rounds rounds; halves_vs_whole: their ratio "
        "(above 1: halves faster); *_first_fit_s: the first fit of 10 steps, tracing and XLA compiling included.",
        results,
    )


if __name__ == "__main__":
    main()
