"""Training and evaluation steps for `tf.distribute` strategies where Keras' own steps fail.

Keras 3 wraps each step, `strategy.run` included, in one XLA cluster. With more
than one replica that cluster reaches variables on other devices, which XLA
refuses ("tf.Variable on a different device", keras-team/keras#18145); under
`MultiWorkerMirroredStrategy` Keras reduces its scalar logs along axis 0 and
fails (keras-team/keras#20585); and Keras' loop of `steps_per_execution > 1`
steps fails over more than one replica, with or without XLA ("You must feed a
value for placeholder tensor 'while/cond/Placeholder'"). The steps here XLA-compile each replica's
forward and backward pass on its own device, all-reduce the gradients and
apply them outside XLA, and average the logs over replicas. `FlowModel` builds
its `train_function` and `test_function` from them where needed; Keras' `fit`
and `evaluate` loops run unchanged around them, so callbacks, `History`,
validation, `BackupAndRestore` and `ModelCheckpoint` work as usual.
"""

import functools

import keras
import tensorflow as tf


def scale_loss(loss: tf.Tensor) -> tf.Tensor:
    """`loss / num_replicas`: the optimizer sums the replicas' gradients, so their mean needs this scale."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss if replicas == 1 else loss * tf.cast(1.0 / replicas, loss.dtype)


def default_jit_compile(strategy: tf.distribute.Strategy) -> bool:
    """XLA unless under a `TPUStrategy`, which compiles every replica's step with XLA already."""
    return not isinstance(strategy, tf.distribute.TPUStrategy)


def needs_replica_steps(model: keras.Model) -> bool:
    """Whether `model` needs these steps: multi-worker, or several replicas with XLA or `steps_per_execution > 1`."""
    strategy = model.distribute_strategy
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return False
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    return strategy.num_replicas_in_sync > 1 and (bool(model.jit_compile) or model.steps_per_execution > 1)


def _num_rows(x) -> tf.Tensor:
    return tf.shape(tf.nest.flatten(x)[0])[0]


def _train_step(model: keras.Model, gradients, data):
    """Keras' `train_step` with the part that touches only this replica's variables in `gradients`."""
    x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    loss, y_pred, grads = gradients(x)
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    model._loss_tracker.update_state(loss * tf.cast(replicas, loss.dtype), sample_weight=_num_rows(x))
    model.optimizer.apply_gradients(zip(grads, model.trainable_weights, strict=True))
    return model.compute_metrics(x, None, y_pred)


def _gradients(model: keras.Model, x):
    with tf.GradientTape() as tape:
        y_pred = model(x, training=True)
        loss = model.compute_loss(x=x, y_pred=y_pred, training=True)
        scaled = model.optimizer.scale_loss(loss)
    return loss, y_pred, tape.gradient(scaled, model.trainable_weights)


def _test_step(model: keras.Model, forward, data):
    x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    loss, y_pred = forward(x)
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    model._loss_tracker.update_state(loss * tf.cast(replicas, loss.dtype), sample_weight=_num_rows(x))
    return model.compute_metrics(x, None, y_pred)


def _forward(model: keras.Model, x):
    y_pred = model(x, training=False)
    return model.compute_loss(x=x, y_pred=y_pred, training=False), y_pred


def make_step_function(model: keras.Model, training: bool):
    """A `train_function` (or `test_function`) for Keras' loops: runs `steps_per_execution` steps on an iterator.

    Args:
        model: a compiled model; its `distribute_strategy`, `jit_compile`,
            `run_eagerly` and `steps_per_execution` apply.
        training: a training step (forward, backward, update) or an evaluation step.

    Returns:
        A function of a distributed iterator returning the logs of its last
        step, averaged over replicas; it raises `tf.errors.OutOfRangeError`
        when the iterator is exhausted, which Keras' epoch iterator expects.
    """
    strategy = model.distribute_strategy
    inner = functools.partial(_gradients if training else _forward, model)
    if not model.run_eagerly:
        inner = tf.function(inner, jit_compile=bool(model.jit_compile), reduce_retracing=True)
    replica_step = functools.partial(_train_step if training else _test_step, model, inner)

    def one_step(data):
        logs = strategy.run(replica_step, args=(data,))
        return tf.nest.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), logs)

    def steps(iterator):
        logs = one_step(next(iterator))
        for _ in tf.range(model.steps_per_execution - 1):
            optional = iterator.get_next_as_optional()
            if not optional.has_value():
                break
            logs = one_step(optional.get_value())
        return logs

    if model.run_eagerly:
        return steps
    return tf.function(steps, reduce_retracing=True)
