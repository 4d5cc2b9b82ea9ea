"""Row-count buckets: eager XLA calls on batches of any size share a few compiled programs.

XLA compiles one program per input shape: a new batch size costs an eager
`log_prob` or `sample` of a preset 0.3-2 s. A function's first `EXACT_SIZES`
row counts compile as they are (a fixed batch and its short last batch lose
nothing); later counts are zero-padded to the next bucket, four per doubling
(16, 20, 24, 28, 32, 40, 48, ...), and the results cut back. Any stream of
sizes then compiles at most four programs per doubling, and a padded call
computes under 25% more rows than it returns.
"""

import tensorflow as tf

EXACT_SIZES = 3
SMALLEST_BUCKET = 16


def bucket(rows: int) -> int:
    """The smallest bucket holding `rows`: 16, or `m * 2**k` with `m` in 5..8, `k >= 2`."""
    if rows <= SMALLEST_BUCKET:
        return SMALLEST_BUCKET
    step = 1 << ((rows - 1).bit_length() - 3)
    return -(-rows // step) * step


class RowBuckets:
    """The row counts one compiled function has run with, and the count for the next call."""

    def __init__(self):
        self.compiled: set[int] = set()

    def rows_for(self, rows: int) -> int:
        """`rows` itself if compiled already or among the first `EXACT_SIZES`, else its bucket."""
        if rows not in self.compiled:
            rows = rows if len(self.compiled) < EXACT_SIZES else bucket(rows)
            self.compiled.add(rows)
        return rows


def pad_rows(value, rows):
    """`value` zero-padded along its first axis to `rows` rows (a no-op for None)."""
    if value is None:
        return None
    return tf.pad(value, [[0, rows - tf.shape(value)[0]]] + [[0, 0]] * (value.shape.rank - 1))


def take_rows(result, rows):
    """Every tensor of rank >= 1 in the structure `result` cut to its first `rows` rows."""
    return tf.nest.map_structure(lambda tensor: tensor[:rows] if tensor.shape.rank else tensor, result)
