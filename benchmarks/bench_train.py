"""Training, log_prob and sampling throughput of kerasflows presets against a hand-written TFP baseline.

For MAF and RealNVP at several event sizes this measures:

* kerasflows `model.fit` steps/s (on a NumPy array) with `compile(jit_compile=True/False,
  steps_per_execution=k)`, steady state: a warm-up `fit` traces and compiles first, and each timed
  `fit` excludes its first execution (iterator start-up); every trainer, ours and the baseline's,
  takes its turn in each of `--rounds` rounds, so that the load of a shared machine slows all alike;
* kerasflows `model.log_prob` points/s and `model.sample` samples/s (XLA by default);
* the baseline, the same architecture written the way TFP's documentation teaches: a
  `tfd.TransformedDistribution` over `tfd.Sample(tfd.Normal(0, 1), [D])` with a `tfb.Chain` of
  `tfb.MaskedAutoregressiveFlow` (conditioner: `kf.nn.MADE`) or `tfb.RealNVP` (conditioner:
  `kf.nn.MLP`), so that both sides run the same networks, trained by a `@tf.function` step (Adam,
  GradientTape) called once per batch from a Python loop over a `tf.data` dataset, in graph mode and
  under XLA; its `log_prob` and `sample` wrapped in `tf.function(jit_compile=True)`;
* for MAF, the `tfp_network` baseline: the same with TFP's own conditioner, `tfb.AutoregressiveNetwork`
  (a tf_keras layer: it cannot go inside a Keras 3 model, but runs in this hand-written loop), trained
  with tf_keras' Adam, which applies the network's mask constraints; in graph mode, and its `log_prob`
  and `sample` under XLA. (TFP's RealNVP conditioner, `tfb.real_nvp_default_template`, is a TF1 template
  whose variables TF2 does not track, so it cannot be trained this way.)

Prints one JSON object on stdout (logs go to stderr), including ours/baseline ratios:
training vs the baseline in graph mode, log_prob and sample vs the baseline under XLA. The baseline's
log_prob is also compiled and timed a second time: that A/A ratio shows how far two copies of one program
drift apart in the same run, the noise floor of the log_prob ratios.

    python benchmarks/bench_train.py > benchmarks/results/bench_train-cpu.json           # AVX2 CPU, oneDNN off
    python benchmarks/bench_train.py > benchmarks/results/bench_train-cpu-onednn.json    # AVX-512 VNNI CPU (AMD)
    python benchmarks/bench_train.py > benchmarks/results/bench_train-cpu-onednn-intel.json  # Intel, AVX-512 + AMX
    python benchmarks/bench_train.py --quick
    python benchmarks/bench_train.py --dims 16 --presets maf --fit-configs xla:1,xla:50 --no-baseline
"""

import argparse
import functools
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_probability as tfp  # noqa: E402
import tf_keras  # noqa: E402
from tensorflow.python.util import _pywrap_util_port  # noqa: E402
from tensorflow_probability import bijectors as tfb  # noqa: E402
from tensorflow_probability import distributions as tfd  # noqa: E402

import kerasflows as kf  # noqa: E402

log = logging.getLogger("bench_train")
SIMD_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile")

PRESETS = {"maf": kf.MAF, "realnvp": kf.RealNVP}
# The bound of kerasflows' soft clamp on log-scales; the baseline applies the same clamp so that both
# sides compute the same function.
MAX_LOG_SCALE = 5.0


# ---------------------------------------------------------------------------------------------- settings
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="maf,realnvp", help="comma-separated: maf, realnvp")
    parser.add_argument("--dims", default=None, help="comma-separated event sizes D; 2,16,64")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--num-flows", type=int, default=5)
    parser.add_argument("--hidden-units", default="128,128", help="comma-separated hidden widths")
    parser.add_argument("--steps", type=int, default=None, help="timed training steps (D < --large-dim); 150")
    parser.add_argument("--large-dim", type=int, default=64, help="D from which --steps-large applies")
    parser.add_argument("--steps-large", type=int, default=None, help="timed training steps, D >= --large-dim; 100")
    parser.add_argument(
        "--fit-configs",
        default="xla:16,graph:16,xla:1",
        help="comma-separated compile settings to time, each MODE:K with MODE xla (jit_compile=True) or graph "
        "(jit_compile=False) and K the steps_per_execution; the first one is the default the ratios refer to",
    )
    parser.add_argument("--num-points", type=int, default=None, help="batch of one log_prob call; 10000")
    parser.add_argument("--num-samples", type=int, default=None, help="samples of one sample call; 10000")
    parser.add_argument(
        "--num-samples-large", type=int, default=None, help="samples of one sample call, D >= --large-dim; 2000"
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed calls of log_prob/sample each (median kept); 41"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="training is timed in this many rounds, every trainer taking its turn"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the TFP baselines")
    parser.add_argument("--quick", action="store_true", help="D=2,16, few steps: a smoke run in about a minute")
    args = parser.parse_args(argv)
    # --quick changes the defaults only: flags given explicitly win.
    defaults = {"dims": "2,16,64", "steps": 150, "steps_large": 100, "num_points": 10_000, "num_samples": 10_000}
    defaults.update(num_samples_large=2_000, repeats=41)
    if args.quick:
        defaults.update(
            dims="2,16",
            steps=100,
            steps_large=100,
            num_points=2_000,
            num_samples=2_000,
            num_samples_large=500,
            repeats=3,
        )
    resolve_args(parser, args, defaults, PRESETS)
    args.fit_configs = [_fit_config(c, parser) for c in args.fit_configs.split(",") if c.strip()]
    return args


def resolve_args(parser: argparse.ArgumentParser, args: argparse.Namespace, defaults: dict, presets: dict) -> None:
    """Fills the flags left unset from `defaults` and parses `--presets`, `--dims` and `--hidden-units` in place."""
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.presets = [p.strip().lower() for p in args.presets.split(",") if p.strip()]
    unknown = sorted(set(args.presets) - set(presets))
    if unknown:
        parser.error(f"unknown presets {unknown}; expected some of {sorted(presets)}")
    args.dims = [int(d) for d in args.dims.split(",")]
    args.hidden_units = tuple(int(h) for h in args.hidden_units.split(","))


def _fit_config(text: str, parser: argparse.ArgumentParser) -> tuple[bool, int]:
    mode, _, spe = text.strip().partition(":")
    if mode not in ("xla", "graph") or not spe.isdigit() or int(spe) < 1:
        parser.error(f"expected --fit-configs entries like xla:1 or graph:50, received {text!r}")
    return mode == "xla", int(spe)


def _git_revision() -> str | None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        status = subprocess.run(
            ["git", "status", "--porcelain", "kerasflows"], cwd=root, capture_output=True, text=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return revision.stdout.strip() + ("+dirty" if status.stdout.strip() else "")


def _cpu_info() -> dict:
    """Model name, family/model numbers and the SIMD flags that decide which CPU kernels TF and XLA pick."""
    try:
        with open("/proc/cpuinfo") as f:
            first_cpu = f.read().split("\n\n")[0].splitlines()
    except OSError:
        first_cpu = []
    fields = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in first_cpu)}
    flags = fields.get("flags", "").split()
    return {
        "cpu_model": fields.get("model name", platform.processor()),
        "cpu_family": fields.get("cpu family"),
        "cpu_model_number": fields.get("model"),
        "cpu_simd": [flag for flag in SIMD_FLAGS if flag in flags],
    }


def machine_info() -> dict:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        **_cpu_info(),
        # TF turns its oneDNN CPU kernels on by itself only on CPUs with AVX-512 VNNI/BF16, AVX-VNNI or AMX.
        "tf_onednn": _pywrap_util_port.IsMklEnabled(),
        "gpus": len(tf.config.list_physical_devices("GPU")),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tensorflow_probability": tfp.__version__,
        "kerasflows": kf.__version__,
        "kerasflows_git": _git_revision(),
    }


def print_report(benchmark: str, settings: dict, notes: str, results: list, **extra) -> None:
    """Prints a benchmark's JSON object on stdout: its name, the machine, settings, notes, `extra` keys, results."""
    report = {"benchmark": benchmark, "machine": machine_info(), "settings": settings, "notes": notes}
    print(json.dumps({**report, **extra, "results": results}, indent=1))


def make_data(num_rows: int, dim: int, seed: int = 0) -> np.ndarray:
    """A correlated Gaussian: `x = z @ L^T + mu` with a random lower-triangular `L`."""
    rng = np.random.default_rng(seed)
    scale = np.tril(rng.normal(size=(dim, dim)) * 0.3) + np.eye(dim)
    return (rng.normal(size=(num_rows, dim)) @ scale.T + rng.normal(size=dim)).astype("float32")


# ------------------------------------------------------------------------------------------------- timing
class _StepTimer(keras.callbacks.Callback):
    """Records `(steps done, time)` at the end of every execution (one per `steps_per_execution` steps)."""

    def __init__(self):
        super().__init__()
        self.marks = []

    def on_train_batch_end(self, batch, logs=None):
        self.marks.append((batch + 1, time.perf_counter()))


def _executions(marks) -> list[tuple[int, float]]:
    """`(steps, seconds)` of each execution after the first, from `(steps done, time)` marks."""
    if len(marks) < 2:
        raise ValueError(f"Expected at least two executions to time, Received: {len(marks)}. Time more steps.")
    return [(s1 - s0, t1 - t0) for (s0, t0), (s1, t1) in zip(marks[:-1], marks[1:], strict=True)]


def _rates(executions) -> dict:
    """The median of per-execution steps/s (it shrugs off the stalls of a shared machine) and steps over time."""
    return {
        "steps_per_s": statistics.median(steps / seconds for steps, seconds in executions),
        "mean_steps_per_s": sum(steps for steps, _ in executions) / sum(seconds for _, seconds in executions),
        "timed_steps": sum(steps for steps, _ in executions),
    }


def train_in_turns(trainers: dict, steps: int, rounds: int) -> dict:
    """Steady-state rates of each `run(steps) -> executions` in `trainers`, taking turns over `rounds` rounds.

    Each round gives every trainer `steps / rounds` steps, one after the
    other, so that a change in the load of a shared machine slows them alike
    and their ratios hold.
    """
    executions = {name: [] for name in trainers}
    for _ in range(rounds):
        for name, run in trainers.items():
            executions[name].extend(run(max(1, steps // rounds)))
    return {name: _rates(runs) for name, runs in executions.items()}


def call_times(functions: dict, repeats: int, warmup: int = 1) -> dict:
    """Seconds of each of `repeats` calls of every `function()` (its result read back), after `warmup` calls.

    The functions take turns call by call, so that a change in the load of a
    shared machine slows them alike and their ratios hold; each turn starts
    one function further on, so that none always runs first.
    """
    for function in functions.values():
        for _ in range(warmup):
            _read_back(function())
    names = list(functions)
    times = {name: [] for name in names}
    for repeat in range(repeats):
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            start = time.perf_counter()
            _read_back(functions[name]())
            times[name].append(time.perf_counter() - start)
    return times


def rates_per_s(times: dict, items: int) -> dict:
    """Items/s of each function from the median of its call times."""
    return {name: items / statistics.median(seconds) for name, seconds in times.items()}


def call_rates(functions: dict, items: int, repeats: int) -> dict:
    """Items/s of each `function()` from the median of `repeats` calls taking turns (`call_times`)."""
    return rates_per_s(call_times(functions, repeats), items)


def paired_ratio(times: list, reference_times: list) -> float:
    """Median over turns of `reference / time`: each turn's two calls ran back to back, so drift cancels."""
    return statistics.median(r / t for t, r in zip(times, reference_times, strict=True))


def _read_back(result) -> None:
    tf.nest.map_structure(lambda tensor: tensor.numpy(), result)


# -------------------------------------------------------------------------------------------- kerasflows
def build_ours(preset: str, dim: int, args) -> kf.FlowModel:
    keras.utils.set_random_seed(0)
    return PRESETS[preset]([dim], num_flows=args.num_flows, hidden_units=args.hidden_units)


def fit_trainer(model: kf.FlowModel, data: np.ndarray, jit: bool, spe: int, batch: int):
    """Compiles `model` and runs a warm-up `fit`; returns `(run, warmup_s)`.

    `run(steps)` fits `steps` more steps on `data` (rounded to whole
    executions, at least three) and returns the `(steps, seconds)` of each
    execution after the first, which carries `fit`'s start-up.
    """
    model.compile(keras.optimizers.Adam(1e-3), jit_compile=jit, steps_per_execution=spe)
    # Warm-up: traces (and XLA-compiles) the train function, one execution of 10 steps whatever
    # steps_per_execution is; whole batches only, so no second input shape.
    start = time.perf_counter()
    model.fit(data[: 10 * batch], batch_size=batch, epochs=1, verbose=0)
    warmup_s = time.perf_counter() - start

    def run(steps: int):
        steps = max(steps, 3 * spe) // spe * spe
        timer = _StepTimer()
        model.fit(data[: steps * batch], batch_size=batch, epochs=1, verbose=0, callbacks=[timer])
        return _executions(timer.marks)

    return run, warmup_s


def time_fit(model: kf.FlowModel, data: np.ndarray, steps: int, jit: bool, spe: int, batch: int) -> dict:
    """Compiles `model` and returns its steady-state `fit` steps/s; `data` holds at least `steps` batches."""
    run, warmup_s = fit_trainer(model, data, jit, spe, batch)
    result = {"jit_compile": jit, "steps_per_execution": spe, **_rates(run(steps)), "warmup_fit_s": warmup_s}
    log.info("  ours fit    jit=%-5s spe=%-3d %8.1f steps/s", jit, spe, result["steps_per_s"])
    return result


def _num_samples(dim: int, args) -> int:
    # MAF samples with D sequential MADE passes per flow: fewer samples keep large D within a few seconds.
    return args.num_samples_large if dim >= args.large_dim else args.num_samples


def time_inference(model: kf.FlowModel, data: np.ndarray, args, baselines: dict | None = None) -> dict:
    """`log_prob` points/s and `sample` samples/s of `model` (XLA by default) and of each of `baselines`, taking turns.

    All get the same NumPy batch; each baseline distribution's `log_prob` and
    `sample` are wrapped in `tf.function(jit_compile=True)`. Returns `{"ours": ...}`
    and, given baselines, `{name: ...}` for each and `{"paired": ...}` (`paired_ratio`s of log_prob
    against each baseline). The one named "baseline" is also compiled a second time (A/A).
    """
    baselines = baselines or {}
    points = data[: args.num_points]
    num_samples = _num_samples(model.event_shape[0], args)
    start = time.perf_counter()
    model.log_prob(points).numpy()
    log_prob_first_s = time.perf_counter() - start
    start = time.perf_counter()
    model.sample(num_samples, seed=0).numpy()
    sample_first_s = time.perf_counter() - start
    log_prob = {"ours": lambda: model.log_prob(points)}
    sample = {"ours": lambda: model.sample(num_samples, seed=0)}
    seed = tf.constant([0, 0], tf.int32)
    for name, distribution in baselines.items():
        log_prob[name] = functools.partial(tf.function(distribution.log_prob, jit_compile=True), points)
        sample[name] = tf.function(functools.partial(distribution.sample, num_samples, seed=seed), jit_compile=True)
    if "baseline" in baselines:
        # The same program compiled a second time: its ratio to the first is this run's noise floor (A/A).
        log_prob["baseline_again"] = functools.partial(
            tf.function(baselines["baseline"].log_prob, jit_compile=True), points
        )
    log_prob_times = call_times(log_prob, args.repeats)
    log_prob = rates_per_s(log_prob_times, len(points))
    sample = call_rates(sample, num_samples, args.repeats)
    result = {side: {"log_prob_points_per_s": log_prob[side], "sample_samples_per_s": sample[side]} for side in sample}
    for side, rates in result.items():
        log.info("  %-12s  log_prob %10.0f points/s   sample %10.0f samples/s", side, *rates.values())
    if baselines:
        result["paired"] = {
            f"log_prob_ours_vs_{name}_xla": paired_ratio(log_prob_times["ours"], log_prob_times[name])
            for name in baselines
        }
    if "baseline" in baselines:
        result["baseline"]["log_prob_again_points_per_s"] = log_prob["baseline_again"]
        result["paired"]["log_prob_baseline_again_vs_baseline_xla"] = paired_ratio(
            log_prob_times["baseline_again"], log_prob_times["baseline"]
        )
    result["ours"].update(
        num_points=len(points),
        num_samples=num_samples,
        log_prob_first_call_s=log_prob_first_s,
        sample_first_call_s=sample_first_s,
    )
    return result


# ---------------------------------------------------------------------------------------------- baseline
def build_baseline(preset: str, dim: int, args, tfp_network: bool = False) -> tuple[tfd.Distribution, list]:
    """The flow written the way TFP's documentation teaches; returns `(distribution, trainable variables)`.

    `tfp_network` (MAF only): TFP's `tfb.AutoregressiveNetwork` as conditioner instead of `kf.nn.MADE`.
    """
    keras.utils.set_random_seed(0)
    bijectors, networks = [], []
    for index in range(args.num_flows):
        if preset == "maf":
            order = "left-to-right" if index % 2 == 0 else "right-to-left"
            if tfp_network:
                made = tfb.AutoregressiveNetwork(
                    params=2,
                    event_shape=[dim],
                    hidden_units=list(args.hidden_units),
                    input_order=order,
                    activation="relu",
                )
            else:
                made = kf.nn.MADE(dim, num_params=2, hidden_units=args.hidden_units, input_order=order)
            made.build((None, dim))

            def shift_and_log_scale(x, made=made):
                shift, log_scale = tf.unstack(made(x), num=2, axis=-1)
                return shift, MAX_LOG_SCALE * tf.tanh(log_scale / MAX_LOG_SCALE)

            bijectors.append(tfb.MaskedAutoregressiveFlow(shift_and_log_scale_fn=shift_and_log_scale))
            networks.append(made)
        else:
            num_masked = dim // 2
            mlp = kf.nn.MLP(2 * (dim - num_masked), hidden_units=args.hidden_units)
            mlp.build((None, num_masked))

            def shift_and_log_scale(x0, output_units, mlp=mlp):
                shift, log_scale = tf.split(mlp(x0), 2, axis=-1)
                return shift, MAX_LOG_SCALE * tf.tanh(log_scale / MAX_LOG_SCALE)

            reverse = index % 2 == 1
            bijectors.append(
                tfb.RealNVP(
                    num_masked=-num_masked if reverse else num_masked, shift_and_log_scale_fn=shift_and_log_scale
                )
            )
            networks.append(mlp)
    # tfb.Chain applies its last bijector first: bijectors[0] acts on base samples, as kerasflows' flows[0].
    distribution = tfd.TransformedDistribution(
        distribution=tfd.Sample(tfd.Normal(0.0, 1.0), sample_shape=[dim]),
        bijector=tfb.Chain(list(reversed(bijectors))),
    )
    variables = [v for network in networks for v in network.trainable_variables]
    return distribution, variables


def baseline_trainer(preset: str, dim: int, data: np.ndarray, jit: bool, args, tfp_network: bool = False):
    """The baseline's `tf.function` train step over a `tf.data` loop, warmed up; returns `(run, warmup_s)` as
    `fit_trainer` does. TFP's network trains with tf_keras' Adam, which keeps its masked weights masked."""
    distribution, variables = build_baseline(preset, dim, args, tfp_network)
    optimizer = (tf_keras.optimizers.Adam if tfp_network else keras.optimizers.Adam)(1e-3)

    @tf.function(jit_compile=jit)
    def train_step(x):
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(distribution.log_prob(x))
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return loss

    dataset = (
        tf.data.Dataset.from_tensor_slices(data)
        .shuffle(len(data), seed=0)
        .batch(args.batch_size, drop_remainder=True)
        .repeat()
        .prefetch(tf.data.AUTOTUNE)
    )
    iterator = iter(dataset)
    start = time.perf_counter()
    for _ in range(10):
        loss = train_step(next(iterator))
    loss.numpy()
    warmup_s = time.perf_counter() - start

    def run(steps: int):
        # A function call on CPU returns once its step is done: the time after each call marks that step.
        marks = [(0, time.perf_counter())]
        for step in range(steps):
            loss = train_step(next(iterator))
            marks.append((step + 1, time.perf_counter()))
        loss.numpy()
        return _executions(marks)

    return run, warmup_s


# ------------------------------------------------------------------------------------------------- driver
def bench_one(preset: str, dim: int, args) -> dict:
    steps = args.steps_large if dim >= args.large_dim else args.steps
    max_spe = max(spe for _, spe in args.fit_configs)
    rows = max(steps, 3 * max_spe) * args.batch_size
    data = make_data(max(rows, args.num_points), dim)
    log.info("%s D=%d (%d timed steps of %d)", preset, dim, steps, args.batch_size)
    trainers, warmups, xla_model = {}, {}, None
    for jit, spe in args.fit_configs:
        model = build_ours(preset, dim, args)
        trainers[("ours", jit, spe)], warmups[("ours", jit, spe)] = fit_trainer(model, data, jit, spe, args.batch_size)
        if jit and xla_model is None:
            xla_model = model
    if not args.no_baseline:
        for jit in (False, True):
            key = ("baseline", jit, 1)
            trainers[key], warmups[key] = baseline_trainer(preset, dim, data, jit, args)
        if preset == "maf":
            key = ("tfp_network", False, 1)
            trainers[key], warmups[key] = baseline_trainer(preset, dim, data, False, args, tfp_network=True)
    rates = train_in_turns(trainers, steps, args.rounds)
    for (side, jit, spe), rate in rates.items():
        log.info("  %-8s fit jit=%-5s spe=%-3d %8.1f steps/s", side, jit, spe, rate["steps_per_s"])
    ours_fit = [
        {"jit_compile": jit, "steps_per_execution": spe, **rates[key], "warmup_fit_s": warmups[key]}
        for key in trainers
        if key[0] == "ours"
        for _, jit, spe in [key]
    ]
    if xla_model is None:
        xla_model = build_ours(preset, dim, args)
        xla_model.compile(keras.optimizers.Adam(1e-3))
    baselines = {}
    if not args.no_baseline:
        baselines["baseline"] = build_baseline(preset, dim, args)[0]
        if preset == "maf":
            baselines["tfp_network"] = build_baseline(preset, dim, args, tfp_network=True)[0]
    inference = time_inference(xla_model, data, args, baselines)
    result = {"preset": preset, "dim": dim, "ours": {"fit": ours_fit, **inference["ours"]}}
    if args.no_baseline:
        return result
    baseline_fit = {
        ("xla" if jit else "graph"): {
            "jit_compile": jit,
            **rates[("baseline", jit, 1)],
            "warmup_s": warmups[("baseline", jit, 1)],
        }
        for jit in (False, True)
    }
    result["baseline"] = {"fit": baseline_fit, **inference["baseline"]}
    graph = baseline_fit["graph"]["steps_per_s"]
    default = ours_fit[0]
    best = max(ours_fit, key=lambda r: r["steps_per_s"])
    result["ratios"] = {
        "train_default_vs_baseline_graph": default["steps_per_s"] / graph,
        "train_default_config": {k: default[k] for k in ("jit_compile", "steps_per_execution")},
        "train_best_vs_baseline_graph": best["steps_per_s"] / graph,
        "train_best_config": {k: best[k] for k in ("jit_compile", "steps_per_execution")},
        "train_each_vs_baseline_graph": {
            f"jit={r['jit_compile']},spe={r['steps_per_execution']}": r["steps_per_s"] / graph for r in ours_fit
        },
        "log_prob_vs_baseline_xla": result["ours"]["log_prob_points_per_s"]
        / result["baseline"]["log_prob_points_per_s"],
        "log_prob_baseline_again_vs_baseline_xla": result["baseline"]["log_prob_again_points_per_s"]
        / result["baseline"]["log_prob_points_per_s"],
        "sample_vs_baseline_xla": result["ours"]["sample_samples_per_s"] / result["baseline"]["sample_samples_per_s"],
        **{f"{key}_paired": value for key, value in inference["paired"].items()},
    }
    if "tfp_network" in baselines:
        tfp_graph = rates[("tfp_network", False, 1)]
        result["tfp_network"] = {
            "fit": {"graph": {"jit_compile": False, **tfp_graph, "warmup_s": warmups[("tfp_network", False, 1)]}},
            **inference["tfp_network"],
        }
        result["ratios"].update(
            train_default_vs_tfp_network_graph=default["steps_per_s"] / tfp_graph["steps_per_s"],
            log_prob_vs_tfp_network_xla=result["ours"]["log_prob_points_per_s"]
            / result["tfp_network"]["log_prob_points_per_s"],
            sample_vs_tfp_network_xla=result["ours"]["sample_samples_per_s"]
            / result["tfp_network"]["sample_samples_per_s"],
        )
    log.info("  ratios %s", json.dumps({k: v for k, v in result["ratios"].items() if isinstance(v, float)}))
    return result


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    args = parse_args(argv)
    start = time.perf_counter()
    results = [bench_one(preset, dim, args) for preset in args.presets for dim in args.dims]
    targets = {"train_vs_baseline_graph": 1.4, "log_prob_vs_baseline_xla": 1.0, "sample_vs_baseline_xla": 1.0}
    met = {}
    for r in results:
        if "ratios" in r:
            key = f"{r['preset']}_D{r['dim']}"
            met[key] = {
                "train_default": r["ratios"]["train_default_vs_baseline_graph"] >= targets["train_vs_baseline_graph"],
                # Paired, as the README quotes it: the ratio of medians drifts with the machine between turns.
                "log_prob": r["ratios"]["log_prob_ours_vs_baseline_xla_paired"] >= targets["log_prob_vs_baseline_xla"],
                "sample": r["ratios"]["sample_vs_baseline_xla"] >= targets["sample_vs_baseline_xla"],
            }
    settings = {k: v for k, v in vars(args).items() if k != "quick"}
    settings["hidden_units"] = list(args.hidden_units)
    print_report(
        "bench_train",
        {**settings, "quick": args.quick},
        (
            "steps_per_s: steady-state steps/s, median over executions (steps_per_execution steps each) after "
            "the first of each timed fit (each baseline step is one execution), a warm-up fit before; training "
            "is timed in --rounds rounds in which every trainer (our fit configs, the baseline in graph mode "
            "and under XLA) takes its turn, so load changes hit all of them alike; mean_steps_per_s: timed "
            "steps over their time. log_prob/sample: median of --repeats calls, ours and the baseline's "
            "taking turns, both on the same NumPy batch; ours: FlowModel.log_prob and "
            "FlowModel.sample(n, seed=0), XLA by default, on the model timed with the first fit config. "
            "baseline: tfd.TransformedDistribution + tfb.Chain of tfb.MaskedAutoregressiveFlow(kf.nn.MADE) or "
            "tfb.RealNVP(kf.nn.MLP), same soft clamp; @tf.function train step per batch from a tf.data loop. "
            "tfp_network (MAF only): the baseline with TFP's tfb.AutoregressiveNetwork (tf_keras) instead of "
            "kf.nn.MADE, trained with tf_keras' Adam, in graph mode. "
            "ratios: training vs baseline graph mode; log_prob and sample vs baseline XLA; *_tfp_network_*: "
            "the same against tfp_network. "
            "log_prob_baseline_again_vs_baseline_xla: the baseline's log_prob compiled a second time and timed "
            "in the same turns, against the first: two copies of one program, so its distance from 1 is the "
            "noise of this run's log_prob ratios. *_paired: the median over turns of the baseline's time over "
            "the other's in the same turn, which cancels drift between turns. targets_met: training and sample "
            "by the ratios above, log_prob by its paired ratio."
        ),
        results,
        targets=targets,
        targets_met=met,
        total_s=time.perf_counter() - start,
    )


if __name__ == "__main__":
    main()
