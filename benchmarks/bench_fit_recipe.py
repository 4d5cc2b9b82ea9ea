"""Validation NLL that `kerasflows fit` reaches with and without gradient clipping, in one JSON run.

Runs the command itself (`kerasflows.cli.main`) on its default data (two-moons, 4,000 points,
noise 0.05) for each flow, seed and `--clip-norm`, everything else at the command's defaults (300
epochs at most, early stopping with patience 20, best weights restored), and reads back each run's
`metrics.json` and `history.csv`. `val_jumps` counts epochs whose validation NLL rose by more than
0.2 nats over the epoch before: the spikes that end a run early. For scale, the data's own
density has an NLL of about 0.26 nats (a curve of length 2 pi times a 1-D normal of sd 0.05).
Prints one JSON object on stdout (the command's output goes to stderr).

    python benchmarks/bench_fit_recipe.py > benchmarks/results/bench_fit_recipe-cpu.json
    python benchmarks/bench_fit_recipe.py --flows maf --seeds 0 --clip-norms 1
"""

import argparse
import contextlib
import csv
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_train import print_report

from kerasflows.cli import main as kerasflows_main

JUMP_NATS = 0.2


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", default="maf,realnvp", help="comma-separated --flow values")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated --seed values")
    parser.add_argument("--clip-norms", default="0,1", help="comma-separated --clip-norm values (0: none)")
    args = parser.parse_args(argv)
    args.flows = args.flows.split(",")
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.clip_norms = [float(c) for c in args.clip_norms.split(",")]
    return args


def fit_once(flow: str, seed: int, clip_norm: float, folder: Path) -> dict:
    """One `kerasflows fit` run; its metrics and the validation NLL's jumps."""
    out = folder / f"{flow}-{seed}-{clip_norm}"
    argv = ["fit", "--flow", flow, "--seed", str(seed), "--clip-norm", str(clip_norm), "--out", str(out)]
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        code = kerasflows_main(argv)
    if code != 0:
        raise RuntimeError(f"kerasflows {' '.join(argv)} exited with {code}")
    metrics = json.loads((out / "metrics.json").read_text())
    val = [float(row["val_loss"]) for row in csv.DictReader((out / "history.csv").open())]
    jumps = sum(after - before > JUMP_NATS for before, after in zip(val[:-1], val[1:], strict=True))
    keys = ("validation_nll", "train_nll", "best_epoch", "epochs_run", "train_seconds")
    return {
        "flow": flow,
        "seed": seed,
        "clip_norm": clip_norm,
        **{key: metrics[key] for key in keys},
        "val_jumps": jumps,
        "command_s": time.perf_counter() - start,
    }


def main(argv=None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        runs = [
            fit_once(flow, seed, clip_norm, Path(folder))
            for flow in args.flows
            for clip_norm in args.clip_norms
            for seed in args.seeds
        ]
    summary = {}
    for flow in args.flows:
        for clip_norm in args.clip_norms:
            nll = [r["validation_nll"] for r in runs if r["flow"] == flow and r["clip_norm"] == clip_norm]
            summary[f"{flow}_clip_norm_{clip_norm:g}"] = {
                "median_validation_nll": statistics.median(nll),
                "validation_nll": nll,
            }
    print_report(
        "bench_fit_recipe",
        vars(args),
        "kerasflows fit on its default two-moons data, defaults but --flow, --seed and --clip-norm; "
        "validation_nll in nats per point, of the restored best weights; val_jumps: epochs whose "
        f"validation NLL rose by more than {JUMP_NATS} nats.",
        runs,
        summary=summary,
        total_s=time.perf_counter() - start,
    )


if __name__ == "__main__":
    main()
