"""Row halves: an XLA training step on CPU computes its batch's log-densities as two independent halves.

XLA:CPU runs a flow's chain of dots one at a time, and one dot of this size
(`[512, 128] x [128, 128]`) does not keep two cores busy. Two halves of
the batch are two chains with no edge between them, which XLA's runtime runs
side by side, one per core: the same log-densities, a faster step (MAF and
RealNVP, 5 flows of 2x128 units, D = 2 to 64, batch 512: 1.08x-1.32x the
whole-batch steps/s on 2 cores, and 1.06x-1.25x for MAF at 128 and 2,048 rows,
`benchmarks/bench_row_halves.py`), and a
longer first `fit` (tracing and compiling: 1.1x-1.9x in those runs).
Graph mode, other devices, small batches and flows whose rows interact in
training (batch statistics, adaptive ODE steps) keep whole batches.
"""

import tensorflow as tf
from tensorflow_probability.python.internal.implementation_selection import is_xla

from kerasflows import _devices

FIRST_HALVED_ROWS = 128


def runs_in_halves(rows: int | None) -> bool:
    """Whether a traced training call on `rows` rows (None: unknown until run time) runs in halves."""
    return rows is not None and rows >= FIRST_HALVED_ROWS and is_xla() and _devices.runs_on_cpu()


def in_halves(function, x, context=None):
    """`function(x, context)` on the first and the second half of the rows, concatenated; `x` has static rows."""
    half = x.shape[0] // 2
    parts = [
        function(x[:half], None if context is None else context[:half]),
        function(x[half:], None if context is None else context[half:]),
    ]
    return tf.concat(parts, axis=0)
