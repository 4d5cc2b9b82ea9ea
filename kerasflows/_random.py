"""Random draws inside compiled steps, from a `keras.random.SeedGenerator`, by Philox named explicitly.

`keras.random` calls TF's stateless kernels without naming an algorithm;
under XLA:CPU those take about 100x longer than Philox (42 ms against
0.4 ms for 98k uniforms), which made a Glow training step 20% slower.
"""

import keras
import tensorflow as tf


def next_seed(seed_generator: keras.random.SeedGenerator) -> tf.Tensor:
    """The generator's next seed as the int32 `[2]` that `tf.random.stateless_*` take."""
    return tf.cast(tf.math.floormod(seed_generator.next(), tf.int32.max - 1), tf.int32)


def uniform(shape, minval, maxval, dtype, seed_generator: keras.random.SeedGenerator) -> tf.Tensor:
    """Draws from `U[minval, maxval)`; integers when `dtype` is an integer type."""
    return tf.random.stateless_uniform(
        shape, next_seed(seed_generator), minval=minval, maxval=maxval, dtype=dtype, alg="philox"
    )
