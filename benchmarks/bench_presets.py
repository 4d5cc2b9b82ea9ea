"""Training, log_prob and sampling throughput of every preset at several event sizes, in one JSON run.

For MAF, IAF, RealNVP, NICE, NSF (couplings), NSF-autoregressive and FFJORD at D = 2, 16, 64 this
measures, with bench_train's timing helpers and data (a correlated Gaussian):

* `model.fit` steps/s, compiled the default way (XLA, one step per execution), steady state after a
  warm-up fit;
* `model.log_prob` points/s and `model.sample` samples/s, XLA-compiled as eager calls are by default
  (median of --repeats calls after a first, compiling call).

The discrete presets get --num-flows layers of --hidden-units; FFJORD keeps its own defaults (one ODE
layer, 64x64 units, tanh, Hutchinson trace, rtol = atol = 1e-5), which is how it is meant to be used.
FFJORD's cost depends on the number of solver steps, so on how stiff the trained dynamics are: these
figures are for fresh weights plus a few optimiser steps, a lower bound on a trained model's cost.
Prints one JSON object on stdout (logs go to stderr).

    python benchmarks/bench_presets.py > benchmarks/results/bench_presets-cpu.json
    python benchmarks/bench_presets.py --quick
    python benchmarks/bench_presets.py --presets maf,ffjord --dims 16
"""

import argparse
import logging
import sys
import time

from bench_train import make_data, print_report, resolve_args, time_fit, time_inference

import kerasflows as kf

log = logging.getLogger("bench_presets")

PRESETS = {
    "maf": lambda dim, args: kf.MAF([dim], args.num_flows, args.hidden_units),
    "iaf": lambda dim, args: kf.IAF([dim], args.num_flows, args.hidden_units),
    "realnvp": lambda dim, args: kf.RealNVP([dim], args.num_flows, args.hidden_units),
    "nice": lambda dim, args: kf.NICE([dim], args.num_flows, args.hidden_units),
    "nsf": lambda dim, args: kf.NSF([dim], args.num_flows, args.hidden_units),
    "nsf-autoregressive": lambda dim, args: kf.NSF([dim], args.num_flows, args.hidden_units, autoregressive=True),
    "ffjord": lambda dim, args: kf.FFJORD([dim]),
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default=",".join(PRESETS), help=f"comma-separated, some of {', '.join(PRESETS)}")
    parser.add_argument("--dims", default=None, help="comma-separated event sizes D; 2,16,64")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--num-flows", type=int, default=5, help="layers of the discrete presets")
    parser.add_argument("--hidden-units", default="128,128", help="hidden widths of the discrete presets")
    parser.add_argument("--steps", type=int, default=None, help="timed training steps; 60")
    parser.add_argument("--steps-ffjord", type=int, default=None, help="timed training steps of FFJORD; 10")
    parser.add_argument("--num-points", type=int, default=None, help="batch of one log_prob call; 10000")
    parser.add_argument("--num-samples", type=int, default=None, help="samples of one sample call; 10000")
    parser.add_argument("--large-dim", type=int, default=64, help="D from which --num-samples-large applies")
    parser.add_argument(
        "--num-samples-large", type=int, default=None, help="samples of one sample call, D >= --large-dim; 2000"
    )
    parser.add_argument("--repeats", type=int, default=None, help="timed calls of log_prob/sample (median kept); 3")
    parser.add_argument("--quick", action="store_true", help="D=2 only, few steps and points: a smoke run")
    args = parser.parse_args(argv)
    # --quick changes the defaults only: flags given explicitly win.
    defaults = {"dims": "2,16,64", "steps": 60, "steps_ffjord": 10, "num_points": 10_000, "num_samples": 10_000}
    defaults.update(num_samples_large=2_000, repeats=3)
    if args.quick:
        defaults.update(dims="2", steps=6, steps_ffjord=3, num_points=500, num_samples=500, repeats=1)
    resolve_args(parser, args, defaults, PRESETS)
    return args


def bench_one(preset: str, dim: int, args) -> dict:
    steps = args.steps_ffjord if preset == "ffjord" else args.steps
    data = make_data(max(steps * args.batch_size, args.num_points), dim)
    log.info("%s D=%d (%d timed steps of %d)", preset, dim, steps, args.batch_size)
    start = time.perf_counter()
    model = PRESETS[preset](dim, args)
    fit = time_fit(model, data, steps, jit=True, spe=1, batch=args.batch_size)
    result = {"preset": preset, "dim": dim, "fit": fit, **time_inference(model, data, args)["ours"]}
    return {**result, "wall_s": time.perf_counter() - start}


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    args = parse_args(argv)
    start = time.perf_counter()
    results = [bench_one(preset, dim, args) for preset in args.presets for dim in args.dims]
    table = {
        f"{r['preset']}_D{r['dim']}": {
            "fit_steps_per_s": r["fit"]["steps_per_s"],
            "log_prob_points_per_s": r["log_prob_points_per_s"],
            "sample_samples_per_s": r["sample_samples_per_s"],
        }
        for r in results
    }
    settings = {**vars(args), "hidden_units": list(args.hidden_units)}
    print_report(
        "bench_presets",
        settings,
        (
            "fit_steps_per_s: steady-state steps/s (median over the steps after the first of the timed fit, a "
            "warm-up fit of 10 steps before), compile(jit_compile=True), batch --batch-size. log_prob/sample: "
            "median of --repeats XLA-compiled calls after a first one. Discrete presets: --num-flows layers of "
            "--hidden-units; FFJORD: kf.FFJORD([D]) defaults (Hutchinson trace, so its log_prob is an estimate)."
        ),
        results,
        summary=table,
        total_s=time.perf_counter() - start,
    )


if __name__ == "__main__":
    main()
