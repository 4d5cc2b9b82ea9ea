"""Row blocks: large eager XLA calls on CPU run `BLOCK_ROWS` rows at a time, in one compiled loop.

An XLA program over a whole batch holds every layer's activations for all
its rows, `[rows, hidden]` each: past a few thousand rows they spill out of
the CPU's caches, and memory grows with the batch. From `FIRST_BLOCKED_ROWS`
rows on, a call is zero-padded to whole blocks and runs as an XLA while loop
over them, one block per iteration: the same per-row results, the
activations of one block in memory, and a faster call
(`benchmarks/bench_blocks.py`). Accelerators keep whole batches: they want
wide matmuls, and their memory is not a cache hierarchy of this size.
"""

import tensorflow as tf

from kerasflows import _devices

BLOCK_ROWS = 4096
FIRST_BLOCKED_ROWS = 4 * BLOCK_ROWS


def runs_in_blocks(rows: int) -> bool:
    """Whether an eager XLA call on `rows` rows runs in blocks: from `FIRST_BLOCKED_ROWS` rows on, on CPU."""
    return rows >= FIRST_BLOCKED_ROWS and _devices.runs_on_cpu()


def whole_blocks(rows: int) -> int:
    """`rows` rounded up to a multiple of `BLOCK_ROWS`."""
    return -(-rows // BLOCK_ROWS) * BLOCK_ROWS


def _rows_to_blocks(value: tf.Tensor) -> tf.Tensor:
    """`[rows, ...]` -> `[rows / BLOCK_ROWS, BLOCK_ROWS, ...]`; the row count may be known only at run time."""
    blocks = tf.reshape(value, tf.concat([[-1, BLOCK_ROWS], tf.shape(value)[1:]], axis=0))
    blocks.set_shape([None, BLOCK_ROWS, *value.shape[1:]])
    return blocks


def _blocks_to_rows(value: tf.Tensor) -> tf.Tensor:
    """`[blocks, BLOCK_ROWS, ...]` -> `[blocks * BLOCK_ROWS, ...]`."""
    rows = tf.reshape(value, tf.concat([[-1], tf.shape(value)[2:]], axis=0))
    rows.set_shape([None, *value.shape[2:]])
    return rows


def in_blocks(function, num_split: int):
    """`function(*args)` computed block by block of `BLOCK_ROWS` rows in a while loop.

    The first `num_split` args (None allowed) have a multiple of `BLOCK_ROWS`
    rows and are split; the others go whole to every block. Every result
    must have one row per input row.
    """

    def blocked(*args):
        split, whole = args[:num_split], args[num_split:]
        blocks = [_rows_to_blocks(value) for value in split if value is not None]

        def one_block(block):
            block = iter(block)
            return function(*(None if value is None else next(block) for value in split), *whole)

        # Traced once: the loop body calls the traced graph, whose outputs give the loop's signature.
        specs = [tf.TensorSpec(block.shape[1:], block.dtype) for block in blocks]
        traced = tf.function(one_block, autograph=False).get_concrete_function(specs)
        signature = tf.nest.map_structure(lambda t: tf.TensorSpec(t.shape, t.dtype), traced.structured_outputs)
        results = tf.map_fn(traced, blocks, fn_output_signature=signature)
        return tf.nest.map_structure(_blocks_to_rows, results)

    return blocked
