"""A coupling MLP's narrow output layer under XLA:CPU: dots against multiply-and-sums, by output width.

The network is a coupling layer's conditioner, `[batch, inputs] -> 128 -> 128 -> units` with ReLU,
and one step is its forward pass (as in `log_prob`) or its forward and backward pass (gradients for
the input and every weight, as in training), at each of `--batches` (a small call, the training batch,
a `log_prob` call): `--steps` steps per compiled call at up to 512 rows and proportionally fewer above
(at least 2), so that dispatch does not count.
Four ways of running it take turns call by call (`call_times`):

* `xla_dot`: `jit_compile=True`, the output layer as `h @ W`;
* `xla_summed_gradients`: `jit_compile=True`, `h @ W` whose gradients are multiply-and-sums
  (`matmul_with_summed_gradients`), what `kerasflows.nn.MLP` and `MADE` run under XLA on CPU for
  `SUMMED_GRADIENT_UNITS` output units;
* `xla_sum`: `jit_compile=True`, the output layer as `sum(h[..., :, None] * W, axis=-2)` both ways;
* `graph_dot`: `jit_compile=False`, `h @ W` (TF's own kernels, oneDNN where it is on).

Prints one JSON object on stdout, milliseconds per step and each XLA way's time over `xla_dot`'s (below
1: faster than the dot):

    python benchmarks/bench_narrow_dense.py > benchmarks/results/bench_narrow_dense-cpu-onednn-intel.json
"""

import argparse
import statistics

import tensorflow as tf
from bench_train import call_times, print_report

from kerasflows.nn._narrow_matmul import SUMMED_GRADIENT_UNITS, matmul_with_summed_gradients


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", default="1,2,3,4", help="comma-separated output widths")
    parser.add_argument("--inputs", type=int, default=1, help="input width (1: a 2-D coupling layer)")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batches", default="16,512,10000", help="comma-separated batch sizes")
    parser.add_argument("--steps", type=int, default=50, help="steps per compiled call at up to 512 rows")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per way (median kept)")
    args = parser.parse_args(argv)
    args.units = [int(u) for u in args.units.split(",")]
    args.batches = [int(b) for b in args.batches.split(",")]
    return args


def output_dot(h, kernel):
    return h @ kernel


def output_sum(h, kernel):
    return tf.reduce_sum(h[..., :, None] * kernel, axis=-2)


def steps_per_call(args, batch: int) -> int:
    """`--steps` up to 512 rows, proportionally fewer above, at least 2."""
    return min(args.steps, max(2, args.steps * 512 // batch))


def step_function(args, units: int, steps_per_call: int, output, jit: bool, backward: bool):
    """A compiled call of `steps_per_call` steps (forward, `backward` too) of the MLP with `output` last."""
    shapes = [(args.inputs, args.hidden), (args.hidden, args.hidden), (args.hidden, units)]
    kernels = [tf.Variable(tf.random.stateless_normal(s, seed=[0, i]) * 0.1) for i, s in enumerate(shapes)]
    biases = [tf.Variable(tf.zeros(s[1])) for s in shapes]

    def steps(x):
        total = tf.constant(0.0)
        for _ in range(steps_per_call):
            with tf.GradientTape() as tape:
                tape.watch(x)
                h = tf.nn.relu(x @ kernels[0] + biases[0])
                h = tf.nn.relu(h @ kernels[1] + biases[1])
                loss = tf.reduce_sum(tf.square(output(h, kernels[2]) + biases[2]))
            if backward:
                loss = tf.add_n([tf.reduce_sum(g) for g in tape.gradient(loss, [x, *kernels, *biases])])
            total += loss
            x = x + 1e-6 * total  # each step depends on the one before
        return total

    return tf.function(steps, jit_compile=jit)


def main(argv=None) -> None:
    args = parse_args(argv)
    results = []
    for batch in args.batches:
        x = tf.random.stateless_normal([batch, args.inputs], seed=[1, 0])
        steps = steps_per_call(args, batch)
        for backward in (False, True):
            for units in args.units:
                ways = {
                    "xla_dot": step_function(args, units, steps, output_dot, True, backward),
                    "xla_summed_gradients": step_function(
                        args, units, steps, matmul_with_summed_gradients, True, backward
                    ),
                    "xla_sum": step_function(args, units, steps, output_sum, True, backward),
                    "graph_dot": step_function(args, units, steps, output_dot, False, backward),
                }
                times = call_times({way: lambda f=f, x=x: f(x) for way, f in ways.items()}, args.repeats)
                ms = {f"{way}_ms_per_step": statistics.median(t) / steps * 1e3 for way, t in times.items()}
                results.append(
                    {
                        "batch": batch,
                        "pass": "forward+backward" if backward else "forward",
                        "units": units,
                        "steps_per_call": steps,
                        **ms,
                        **{
                            f"{way}_vs_xla_dot": ms[f"{way}_ms_per_step"] / ms["xla_dot_ms_per_step"]
                            for way in ("xla_summed_gradients", "xla_sum")
                        },
                        "xla_dot_vs_graph_dot": ms["xla_dot_ms_per_step"] / ms["graph_dot_ms_per_step"],
                    }
                )
    print_report(
        "bench_narrow_dense",
        vars(args),
        "ms per step (forward, or forward+backward) of an inputs->hidden->hidden->units ReLU MLP, median of --repeats "
        "calls of steps_per_call steps, the four ways taking turns call by call; *_vs_*: ratios of those "
        "times (below 1: the first is faster). kerasflows sums the gradients of outputs of "
        f"{list(SUMMED_GRADIENT_UNITS)} units.",
        results,
    )


if __name__ == "__main__":
    main()
