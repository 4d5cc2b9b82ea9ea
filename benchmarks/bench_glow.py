"""Training and sampling throughput of `kf.Glow` on 8x8x1 and 32x32x3 images, with and without XLA, and peak memory.

For each image size and each compile mode (`jit_compile=True`, XLA; `jit_compile=False`, graph mode) a fresh
worker process builds the Glow and measures:

* steady-state training images/s and the first `fit` with `bench_train.time_fit`: a warm-up `fit` of 10 steps
  (ActNorm initialisation, tracing and compilation), then a timed `fit`, median over its steps after the first;
  the compile time is estimated as the warm-up's time less its 10 steps at the steady-state rate;
* `model.sample(n, seed=0)`: the first call (tracing and compilation) and the steady-state images/s (median of
  `--repeats` calls); a model compiled with `jit_compile=False` samples in graph mode, otherwise under XLA;
* peak memory: on CPU the worker's peak resident set size (`ru_maxrss`, which covers TensorFlow's runtime,
  tracing and XLA compilation as well as the tensors), next to its peak right after the imports; on a GPU also
  the device allocator's peak (`tf.config.experimental.get_memory_info`).

8x8x1 images are scikit-learn's digits (`num_bins=17`); 32x32x3 images are random integer pixels
(`num_bins=256`), whose content does not change the cost. Prints one JSON object on stdout (logs on stderr) with
the XLA/graph ratios and the load average around each worker (the machine may be shared).

    python benchmarks/bench_glow.py > benchmarks/results/bench_glow-cpu.json
    python benchmarks/bench_glow.py --quick
"""

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from bench_train import call_rates, print_report, time_fit  # noqa: E402

import kerasflows as kf  # noqa: E402

log = logging.getLogger("bench_glow")

# name: image shape, number of pixel values, Glow settings, batch size.
IMAGES = {
    "8x8x1": ([8, 8, 1], 17, {"num_levels": 2, "steps_per_level": 4, "hidden_channels": 64}, 64),
    "32x32x3": ([32, 32, 3], 256, {"num_levels": 3, "steps_per_level": 4, "hidden_channels": 64}, 32),
}
MODES = {"xla": True, "graph": False}
# Steps of the warm-up fit of `bench_train.time_fit`.
WARMUP_STEPS = 10


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", default=",".join(IMAGES), help=f"comma-separated, some of {list(IMAGES)}")
    parser.add_argument("--modes", default="xla,graph", help="comma-separated, some of xla, graph")
    parser.add_argument("--steps", type=int, default=None, help="timed training steps; 8x8x1: 200, 32x32x3: 30")
    parser.add_argument(
        "--num-samples", type=int, default=None, help="images per sample call; 8x8x1: 1000, 32x32x3: 64"
    )
    parser.add_argument("--steps-per-level", type=int, default=None, help="override every image size's Glow depth")
    parser.add_argument("--repeats", type=int, default=3, help="timed sample calls (median kept)")
    parser.add_argument("--quick", action="store_true", help="2 steps per level, few timed steps: a smoke run")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # IMAGES:MODE, run in a subprocess
    args = parser.parse_args(argv)
    args.images = [name.strip() for name in args.images.split(",") if name.strip()]
    args.modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if set(args.images) - set(IMAGES) or set(args.modes) - set(MODES):
        parser.error(f"expected --images in {list(IMAGES)} and --modes in {list(MODES)}")
    if args.quick and args.steps_per_level is None:
        args.steps_per_level = 2
    return args


def _defaults(name: str, args) -> tuple[int, int]:
    """Timed training steps and images per sample call for an image size (flags given explicitly win)."""
    if name == "8x8x1":
        steps, num_samples = (40, 200) if args.quick else (200, 1000)
    else:
        steps, num_samples = (6, 16) if args.quick else (30, 64)
    return args.steps or steps, args.num_samples or num_samples


def make_images(name: str, num_images: int) -> np.ndarray:
    shape, num_bins, _, _ = IMAGES[name]
    if name == "8x8x1":
        digits = kf.datasets.digits("train")
        return np.resize(digits, (num_images, *shape))
    return np.random.default_rng(0).integers(0, num_bins, (num_images, *shape)).astype("float32")


def _peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports `ru_maxrss` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------- one configuration
def run_worker(name: str, mode: str, args) -> dict:
    """Measures one image size in one compile mode; meant to run alone in its process."""
    import_rss = _peak_rss_mib()
    gpu = bool(tf.config.list_physical_devices("GPU"))
    if gpu:
        tf.config.experimental.reset_memory_stats("GPU:0")
    shape, num_bins, settings, batch = IMAGES[name]
    if args.steps_per_level is not None:
        settings = {**settings, "steps_per_level": args.steps_per_level}
    steps, num_samples = _defaults(name, args)
    data = make_images(name, max(steps, WARMUP_STEPS) * batch)
    keras.utils.set_random_seed(0)
    model = kf.Glow(shape, num_bins=num_bins, **settings)
    fit = time_fit(model, data, steps, jit=MODES[mode], spe=1, batch=batch)

    start = time.perf_counter()
    model.sample(num_samples, seed=0).numpy()
    sample_first_s = time.perf_counter() - start
    sample_rate = call_rates({"sample": lambda: model.sample(num_samples, seed=0)}, num_samples, args.repeats)["sample"]

    result = {
        "images": name,
        "mode": mode,
        "jit_compile": bool(model.jit_compile),
        "glow": {"image_shape": shape, "num_bins": num_bins, **settings},
        "weights": model.count_params(),
        "batch_size": batch,
        "train_images_per_s": fit["steps_per_s"] * batch,
        "train_mean_images_per_s": fit["mean_steps_per_s"] * batch,
        "timed_steps": fit["timed_steps"],
        "warmup_fit_s": fit["warmup_fit_s"],
        "compile_s": fit["warmup_fit_s"] - WARMUP_STEPS / fit["steps_per_s"],
        "sample_images_per_s": sample_rate,
        "num_samples": num_samples,
        "sample_first_call_s": sample_first_s,
        "sample_compile_s": sample_first_s - num_samples / sample_rate,
        "peak_rss_mib": _peak_rss_mib(),
        "peak_rss_after_imports_mib": import_rss,
    }
    if gpu:
        result["gpu_peak_mib"] = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    return result


def run_in_subprocess(name: str, mode: str, argv: list[str]) -> dict:
    """One configuration in a fresh process, so that its peak memory and compilation are its own."""
    load_before = os.getloadavg()
    command = [sys.executable, os.path.abspath(__file__), *argv, "--worker", f"{name}:{mode}"]
    completed = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    result = json.loads(completed.stdout)
    result["load_average_1_5_15_before"] = list(load_before)
    result["load_average_1_5_15_after"] = list(os.getloadavg())
    log.info(
        "%-8s %-5s train %8.1f images/s (compile %.1f s)   sample %9.1f images/s (compile %.1f s)   peak RSS %.0f MiB",
        name,
        mode,
        result["train_images_per_s"],
        result["compile_s"],
        result["sample_images_per_s"],
        result["sample_compile_s"],
        result["peak_rss_mib"],
    )
    return result


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.worker:
        name, mode = args.worker.split(":")
        print(json.dumps(run_worker(name, mode, args)))
        return
    start = time.perf_counter()
    results = [run_in_subprocess(name, mode, argv) for name in args.images for mode in args.modes]
    ratios = {}
    for name in args.images:
        by_mode = {r["mode"]: r for r in results if r["images"] == name}
        if set(by_mode) == set(MODES):
            xla, graph = by_mode["xla"], by_mode["graph"]
            ratios[name] = {
                "train_xla_vs_graph": xla["train_images_per_s"] / graph["train_images_per_s"],
                "sample_xla_vs_graph": xla["sample_images_per_s"] / graph["sample_images_per_s"],
                "compile_xla_vs_graph": xla["compile_s"] / graph["compile_s"],
                "peak_rss_xla_vs_graph": xla["peak_rss_mib"] / graph["peak_rss_mib"],
            }
    print_report(
        "bench_glow",
        {k: v for k, v in vars(args).items() if k != "worker"},
        (
            "One worker process per (images, mode). train_images_per_s: steady-state fit throughput, median over "
            "the steps after the first of a timed fit that follows a warm-up fit of 10 steps (bench_train.time_fit); "
            "compile_s: the warm-up fit's time less its steps at that rate (ActNorm initialisation, tracing, "
            "XLA compilation in mode xla). sample_images_per_s: median of --repeats model.sample(n, seed=0) "
            "calls after a first one; sample_compile_s likewise. peak_rss_mib: the worker's peak resident set "
            "size (ru_maxrss) over imports, model, compilation, training and sampling; "
            "peak_rss_after_imports_mib: the same right after the imports. load_average: os.getloadavg() "
            "before and after each worker on this (possibly shared) machine."
        ),
        results,
        ratios=ratios,
        total_s=time.perf_counter() - start,
    )


if __name__ == "__main__":
    main()
