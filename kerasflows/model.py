"""FlowModel: a base distribution pushed through a chain of flow layers."""

import functools
import math
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from tensorflow_probability import bijectors as tfb
from tensorflow_probability import distributions as tfd

from kerasflows._validation import check_batch, check_finite, check_full_precision, check_same_dtype, is_tensor
from kerasflows.callbacks import with_progress_bar, with_training_callbacks
from kerasflows.distribute import default_jit_compile, make_step_function, needs_replica_steps, scale_loss
from kerasflows.distributions import StandardNormal
from kerasflows.layers.base import FlowLayer, build_chain, chain, initialize_chain
from kerasflows.row_blocks import in_blocks, runs_in_blocks, whole_blocks
from kerasflows.row_buckets import RowBuckets, pad_rows, take_rows
from kerasflows.row_halves import in_halves, runs_in_halves
from kerasflows.shape_keyed import ShapeKeyedFunction
from kerasflows.step_loop import FusedSteps

_INPUT_KEYS = ("x", "context")
# Steps per call of the compiled training step: amortises Keras' ~2 ms of Python per step on CPU.
DEFAULT_STEPS_PER_EXECUTION = 16


class _UntrackedDict(dict):
    """A plain dict that TF object tracking skips: the model's traced `tf.function`s and their row buckets."""


def _split_inputs(inputs):
    """`x` or `{"x": x, "context": c}` -> `(x, context)`."""
    if isinstance(inputs, dict):
        unknown = sorted(set(inputs) - set(_INPUT_KEYS))
        if unknown or "x" not in inputs:
            raise ValueError(
                f"Expected a dict with keys 'x' and optionally 'context', Received: keys {sorted(inputs)}."
            )
        return inputs["x"], inputs.get("context")
    return inputs, None


def _first_batch(x, batch_size: int | None):
    """The first batch of `fit`'s data: arrays (or dicts of them) or a `tf.data.Dataset`."""
    if isinstance(x, tf.data.Dataset):
        return next(iter(x))
    if isinstance(x, dict):
        return {key: value[: batch_size or 32] for key, value in x.items()}
    if isinstance(x, (np.ndarray, tf.Tensor)):
        return x[: batch_size or 32]
    raise ValueError(
        "This flow initialises layers from the data: expected arrays, a dict of arrays or a tf.data.Dataset, "
        f"Received: {type(x).__name__}. Call `model.initialize(batch)` before `fit` for other inputs."
    )


def embedded_context_shape(context_embedding: keras.layers.Layer | None, context_shape) -> tuple[int, ...] | None:
    """Shape of one context row as the flow layers see it: after `context_embedding`, if any.

    The embedding is built by a call on a batch of one zero context.
    """
    if context_shape is None or context_embedding is None:
        return None if context_shape is None else tuple(int(d) for d in context_shape)
    zeros = ops.zeros((1, *context_shape), dtype=context_embedding.compute_dtype)
    return tuple(int(d) for d in ops.shape(context_embedding(zeros))[1:])


def _with_finite_flag(function):
    """`function(*args)` on `args` with NaN and inf zeroed, and whether all their entries were finite.

    Zeroed first: an ODE solver would never finish on NaN.
    """

    def flagged(*args):
        finite = tf.constant(True)
        cleaned = []
        for value in args:
            if value is not None:
                value_finite = tf.math.is_finite(value)
                finite = tf.logical_and(finite, tf.reduce_all(value_finite))
                value = tf.where(value_finite, value, tf.zeros_like(value))
            cleaned.append(value)
        return function(*cleaned), finite

    return flagged


def _stateless_seed(seed) -> tf.Tensor:
    """An int32 `[2]` seed: None draws one from the global generator, an int `s` means `[0, s]`."""
    if seed is None:
        return tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32)
    if isinstance(seed, (int, np.integer)):
        seed = [0, int(seed)]
    seed = tf.convert_to_tensor(seed)
    if seed.dtype not in (tf.int32, tf.int64) or seed.shape != (2,):
        raise ValueError(
            f"Expected `seed` to be None, an int or an int32 tensor of shape [2], Received: {seed.dtype.name} "
            f"of shape {tuple(seed.shape)}."
        )
    return tf.cast(seed, tf.int32)


@keras.saving.register_keras_serializable("kerasflows")
class FlowModel(FusedSteps, keras.Model):
    """A normalizing flow: `x = f_K(... f_1(z))`, `z ~ base`.

    `log p(x) = log p_base(f^-1(x)) + sum_k log|det d f_k^-1 / d x_k|`.
    `flows` are listed in the order the forward (sampling) pass applies them:
    `flows[0]` acts on base samples, `flows[-1]` outputs data. Training needs
    no loss: `compile()` then `fit(x)` minimises the mean negative
    log-likelihood in nats, under XLA by default. `log_prob`, `sample`,
    `forward` and `inverse` called eagerly also run XLA-compiled.

    Args:
        flows: the flow layers.
        event_shape: shape of one data point.
        base: a base-distribution layer (`kf.distributions`) over the
            latent shape; standard normal by default.
        context_shape: shape of one context row for a conditional flow.
        context_embedding: any Keras layer mapping `[batch, *context_shape]`
            to the context the flow layers take (their `context_shape` is its
            output shape), trained with them; None feeds the context as is.
        bits_per_dim: also report the NLL in bits per dimension, `NLL / (D ln 2)`
            with `D = prod(event_shape)`, as the metric `bits_per_dim`.

    Example:
        >>> model = FlowModel([kf.layers.AffineCoupling(), kf.layers.Reverse()], event_shape=[2])
        >>> model.compile(keras.optimizers.Adam(1e-3))
        >>> model.fit(x_train, epochs=10)
        >>> model.log_prob(x_test), model.sample(100, seed=0)
    """

    def __init__(
        self,
        flows: Sequence[FlowLayer],
        event_shape: Sequence[int],
        base: keras.layers.Layer | None = None,
        context_shape: Sequence[int] | None = None,
        context_embedding: keras.layers.Layer | None = None,
        bits_per_dim: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not flows or not all(isinstance(flow, FlowLayer) for flow in flows):
            raise ValueError(f"Expected a non-empty list of kf.layers.FlowLayer, Received: {flows!r}.")
        self.event_shape = tuple(int(d) for d in event_shape)
        self.context_shape = None if context_shape is None else tuple(int(d) for d in context_shape)
        self.flows = list(flows)
        if context_embedding is not None and self.context_shape is None:
            raise ValueError("A context_embedding needs a conditional flow: expected a context_shape, Received: None.")
        self.context_embedding = context_embedding
        self._check_flow_contexts(embedded_context_shape(context_embedding, self.context_shape))
        check_full_precision([self, *self.flows, *([] if context_embedding is None else [context_embedding])])
        # Built eagerly here: Keras' symbolic build and TFP's bijector cache do not mix.
        self.latent_shape = build_chain(self.flows, self.event_shape)
        self.base = base if base is not None else StandardNormal(self.latent_shape, dtype=self.dtype_policy)
        check_same_dtype([*self.flows, self.base], self.compute_dtype)
        self.bits_per_dim = bool(bits_per_dim)
        self._bits_per_dim_tracker = keras.metrics.Mean(name="bits_per_dim") if self.bits_per_dim else None
        self._compiled = _UntrackedDict()
        self._row_buckets = _UntrackedDict()
        self.build((None, *self.event_shape))

    def _check_flow_contexts(self, flow_context_shape) -> None:
        mismatched = {flow.name: list(flow.context_shape) for flow in self.flows if flow.context_shape is not None}
        mismatched = {name: shape for name, shape in mismatched.items() if tuple(shape) != flow_context_shape}
        if mismatched:
            source = "context_embedding's output" if self.context_embedding is not None else "context_shape"
            expected = None if flow_context_shape is None else list(flow_context_shape)
            raise ValueError(
                f"Expected conditional flow layers with context_shape {expected} (the model's {source}), "
                f"Received: {mismatched}."
            )

    def build(self, input_shape):
        build_chain(self.flows, tuple(input_shape[1:]))
        self.base.build((None, *self.latent_shape))

    # ------------------------------------------------------------------ math
    def _flow_context(self, context):
        """The context the flow layers take: through `context_embedding`, if any."""
        if context is None or self.context_embedding is None:
            return context
        return self.context_embedding(context)

    def _transform(self, x, context, inverse: bool):
        return chain(self.flows, x, self._flow_context(context), inverse)

    def _log_prob(self, x, context=None):
        return self._log_prob_through(self._transform, x, context)

    def _log_prob_through(self, transform, x, context=None):
        """`log p(x | context)` with `transform` for `_transform` (an export shares one traced per direction)."""
        z, log_det = transform(x, context, inverse=True)
        return self.base.distribution(context).log_prob(z) + log_det

    def _base_noise(self, num_samples, seed, context=None):
        """Base draws: `[num_samples, *latent_shape]`, or `[num_samples, rows, *latent_shape]` given a context."""
        if context is None:
            return self.base.sample(num_samples, seed, context)
        rows = tf.shape(context)[0]
        z = self.base.sample(num_samples * rows, seed, context)
        return tf.reshape(z, tf.concat([[num_samples, rows], self.latent_shape], axis=0))

    def _samples_from_noise(self, z, context=None, transform=None):
        # The unused log-density is pruned from the compiled graph.
        return self._samples_and_log_prob_from_noise(z, context, transform)[0]

    def call(self, inputs, training=None):
        x, context = _split_inputs(inputs)
        x = ops.cast(x, self.compute_dtype)
        if training and self._trains_in_halves(x.shape[0]):
            return in_halves(self._log_prob, x, context)
        return self._log_prob(x, context)

    def _trains_in_halves(self, rows: int | None) -> bool:
        """Whether a training step on `rows` rows computes its log-densities in two halves (`kerasflows.row_halves`).

        Not with a context embedding: a user's layer there may hold batch statistics.
        """
        return self.context_embedding is None and self._rows_independent(training=True) and runs_in_halves(rows)

    def _rows_independent(self, training: bool = False) -> bool:
        """Whether every flow layer computes each row from that row alone (in training steps too, given `training`)."""
        return all(flow.rows_independent and (flow.rows_independent_in_training or not training) for flow in self.flows)

    # ------------------------------------------------------------ public API
    def _check_context(self, context, rows=None, finite: bool = True):
        if self.context_shape is None:
            if context is not None:
                raise ValueError("This flow is unconditional: expected context=None, Received: a context.")
            return None
        if context is None:
            raise ValueError(
                f"This flow is conditional: expected a context of shape [batch, "
                f"{', '.join(map(str, self.context_shape))}], Received: None."
            )
        context = check_batch(context, "context", self.context_shape, self.compute_dtype, finite=finite)
        if rows is not None and context.shape[0] is not None and rows != context.shape[0]:
            raise ValueError(f"Expected one context row per data row ({rows}), Received: {context.shape[0]} rows.")
        return context

    def _check_inputs(self, x, context, name="x", allow_empty=True, finite: bool = True):
        event_shape = self.latent_shape if name == "z" else self.event_shape
        x = check_batch(x, name, event_shape, self.compute_dtype, allow_empty=allow_empty, finite=finite)
        return x, self._check_context(context, x.shape[0], finite=finite)

    def _eager_call_is_compiled(self) -> bool:
        return tf.executing_eagerly() and not (self.compiled and self.run_eagerly)

    def _function(self, name: str, function, jit_compile: bool) -> ShapeKeyedFunction:
        """`function` as a `tf.function`, made once per name and setting, dispatched on its args' shapes."""
        key = (name, jit_compile)
        if key not in self._compiled:
            # A new function per model gives it its own retracing statistics in TF's warnings;
            # its parameters, all positional and without defaults, suit a concrete function.
            compiled = tf.function(lambda *args: function(*args), jit_compile=jit_compile, reduce_retracing=True)
            self._compiled[key] = ShapeKeyedFunction(compiled)
        return self._compiled[key]

    def _xla(self) -> bool:
        return bool(self.jit_compile) if self.compiled else True

    def _run(self, name: str, function, *args, flag_finite: bool = False):
        """Runs `function` XLA-compiled when called eagerly, inline when traced or `run_eagerly`.

        `args` are row-aligned (data and context); eager XLA calls pad them to
        the rows `_row_layout` gives, run large ones in blocks, and cut the
        results back. `flag_finite` zeroes non-finite entries of `args` first
        and returns `(result, all entries finite)`.
        """
        if not self._eager_call_is_compiled():
            return _with_finite_flag(function)(*args) if flag_finite else function(*args)
        name = f"{name}_checked" if flag_finite else name
        rows = args[0].shape[0]
        padded, blocked = self._row_layout(name, rows)
        if blocked:
            name, function = f"{name}_blocks", in_blocks(function, len(args))
        compiled = self._function(name, _with_finite_flag(function) if flag_finite else function, self._xla())
        if padded == rows:
            return compiled(*args)
        return take_rows(compiled(*(pad_rows(value, padded) for value in args)), rows)

    def _row_layout(self, name: str, rows: int) -> tuple[int, bool]:
        """The rows an eager call of `name` on `rows` rows runs with, and whether in blocks.

        See `kerasflows.row_buckets` and `kerasflows.row_blocks`. Both need
        XLA (graph mode compiles no program per shape) and flow layers whose
        rows do not interact.
        """
        if not (self._xla() and self._rows_independent()):
            return rows, False
        padded = self._row_buckets.setdefault(name, RowBuckets()).rows_for(rows)
        if not runs_in_blocks(padded):
            return padded, False
        return whole_blocks(padded), True

    def _run_on_data(self, name: str, function, x, context, x_name: str = "x"):
        """`function(x, context)` as `_run` runs it, on inputs checked for shape, dtype, NaN and inf.

        NumPy inputs are checked for NaN and inf on the host, before the
        call: a pass of microseconds (83 us for 10,000 x 64 floats). Tensors,
        which may live on an accelerator, are checked inside the compiled
        function, which costs more (3-5% of a MAF's `log_prob` under XLA:CPU):
        non-finite entries are zeroed before the flow sees them (an ODE solver
        would never finish on NaN), and only then are the inputs searched for
        the row to name.
        """
        on_host = tf.executing_eagerly() and not (is_tensor(x) or is_tensor(context))
        x, context = self._check_inputs(x, context, name=x_name, finite=on_host)
        if on_host:
            return self._run(name, function, x, context)
        result, finite = self._run(name, function, x, context, flag_finite=True)
        if tf.executing_eagerly() and not bool(finite):
            check_finite(x, x_name)
            if context is not None:
                check_finite(context, "context")
        return result

    def _run_on_noise(self, name: str, function, num_samples, seed, context, temperature: float = 1.0):
        """`function(T z, context)` on base draws `z`, as `_run` runs it.

        The draws are taken in a graph around the compiled `function`, by TF's
        Philox kernels, as in an export: XLA's Philox stream differs from them,
        and eager draws cost milliseconds each.
        """
        seed = _stateless_seed(seed)
        temperature = tf.constant(temperature, self.compute_dtype)
        if not self._eager_call_is_compiled():
            return function(self._base_noise(num_samples, seed, context) * temperature, context)
        # One set of buckets per context row count: the program's shape holds both.
        padded, blocked = self._row_layout(name if context is None else f"{name}_{context.shape[0]}", num_samples)
        if blocked:
            name, function = f"{name}_blocks", in_blocks(function, 1)
        compiled = self._function(name, function, self._xla())

        def on_noise(num_samples, padded, seed, context, temperature):
            z = self._base_noise(num_samples, seed, context) * temperature
            if padded is None:
                return compiled(z, context)
            return take_rows(compiled(pad_rows(z, padded), context), num_samples)

        return self._function(f"{name}_on_noise", on_noise, False)(
            tf.constant(num_samples, tf.int32),
            None if padded == num_samples else tf.constant(padded, tf.int32),
            seed,
            context,
            temperature,
        )

    def log_prob(self, x, context=None) -> tf.Tensor:
        """`log p(x | context)` in nats, shape `[batch]`.

        Raises:
            ValueError: if `x` is not `[batch, *event_shape]`, holds NaN/inf,
                or the context does not match the flow.
        """
        return self._run_on_data("log_prob", self._log_prob, x, context)

    def sample(self, num_samples: int, context=None, seed=None, temperature: float = 1.0) -> tf.Tensor:
        """Draws `[num_samples, *event_shape]` samples, or `[num_samples, batch, *event_shape]` given a context.

        Args:
            num_samples: samples per context row (or in all, unconditionally).
            context: `[batch, *context_shape]` for a conditional flow.
            seed: None, an int `s` (the same as `[0, s]`) or an int32 `[2]`
                tensor; the same seed gives the same samples.
            temperature: scales the base draws, `x = f(T z)`; below 1 trades
                diversity for typical-looking samples (Glow's reduced temperature).
        """
        if not isinstance(num_samples, (int, np.integer)) or num_samples < 0:
            raise ValueError(f"Expected `num_samples` to be an int >= 0, Received: {num_samples!r}.")
        if not temperature > 0:
            raise ValueError(f"Expected `temperature` > 0, Received: {temperature!r}.")
        context = self._check_context(context)
        return self._run_on_noise("sample", self._samples_from_noise, int(num_samples), seed, context, temperature)

    def _samples_and_log_prob_from_noise(self, z, context=None, transform=None):
        """Base draws to `(x, log q(x))` in one forward pass; given a context, `[num_samples, rows]` is flattened.

        `transform` stands in for `_transform`, as in `_log_prob`.
        """
        transform = transform or self._transform
        if context is None:
            x, log_det = transform(z, None, inverse=False)
            return x, self.base.distribution(None).log_prob(z) - log_det
        num_samples, rows = tf.shape(z)[0], tf.shape(z)[1]
        repeated = tf.repeat(context[None], num_samples, axis=0)
        repeated = tf.reshape(repeated, tf.concat([[-1], tf.shape(context)[1:]], axis=0))
        flat_z = tf.reshape(z, tf.concat([[-1], tf.shape(z)[2:]], axis=0))
        x, log_det = transform(flat_z, repeated, inverse=False)
        log_q = self.base.distribution(repeated).log_prob(flat_z) - log_det
        x = tf.reshape(x, tf.concat([[num_samples, rows], tf.shape(x)[1:]], axis=0))
        return x, tf.reshape(log_q, [num_samples, rows])

    def sample_and_log_prob(self, num_samples: int, context=None, seed=None) -> tuple[tf.Tensor, tf.Tensor]:
        """Draws samples with their log-density from one forward pass: no inversion of the flow.

        `log q(x) = log p_base(z) - log|det dx/dz|` with `x = f(z)`, `z ~ base`.
        As cheap as `sample`, where `log_prob(sample(...))` inverts the flow (D
        network passes per step for MAF), so it suits reverse-KL training
        (`kf.VariationalFlow`) and IAF. Gradients flow to the weights through
        `x` and `log q` (reparameterisation). Reference: Rezende and Mohamed,
        "Variational Inference with Normalizing Flows", ICML 2015.

        Args:
            num_samples: samples per context row (or in all, unconditionally).
            context: `[batch, *context_shape]` for a conditional flow.
            seed: as in `sample`; the same seed draws the same `x` as `sample`.

        Returns:
            `(x, log_q)`: `x` of shape `[num_samples, *event_shape]` and
            `log_q` of shape `[num_samples]`, or `[num_samples, batch, ...]`
            and `[num_samples, batch]` given a context.

        Raises:
            ValueError: for a bad `num_samples`, `seed` or context.
        """
        if not isinstance(num_samples, (int, np.integer)) or num_samples < 0:
            raise ValueError(f"Expected `num_samples` to be an int >= 0, Received: {num_samples!r}.")
        context = self._check_context(context)
        return self._run_on_noise(
            "sample_and_log_prob", self._samples_and_log_prob_from_noise, int(num_samples), seed, context
        )

    def forward(self, z, context=None) -> tuple[tf.Tensor, tf.Tensor]:
        """Base to data: `z` of shape `[batch, *latent_shape]` -> `(x, log|det dx/dz|)`."""
        return self._run_on_data("forward", functools.partial(self._transform, inverse=False), z, context, "z")

    def inverse(self, x, context=None) -> tuple[tf.Tensor, tf.Tensor]:
        """Data to base: returns `(z, log|det dz/dx|)`, `z` of shape `[batch, *latent_shape]`."""
        return self._run_on_data("inverse", functools.partial(self._transform, inverse=True), x, context)

    def distribution(self, context=None) -> tfd.Distribution:
        """The flow as a `tfd.TransformedDistribution`, for use with the rest of TFP.

        With a context of `n` rows, evaluate `log_prob` on `n` rows of data.
        """
        context = self._check_context(context)
        flow_context = self._flow_context(context)
        chain = tfb.Chain([flow.bijector(flow_context) for flow in reversed(self.flows)])
        return tfd.TransformedDistribution(self.base.distribution(context), chain)

    # ---------------------------------------------------------------- training
    def compile(
        self,
        optimizer="adam",
        loss=None,
        metrics=None,
        jit_compile=None,
        steps_per_execution=DEFAULT_STEPS_PER_EXECUTION,
        **kwargs,
    ):
        """Configures training by maximum likelihood; XLA is on unless `jit_compile=False`.

        `jit_compile=None` means XLA, except with `run_eagerly=True` or under
        a `TPUStrategy`, which compiles every step with XLA itself. Under a
        strategy with more than one replica, or a `MultiWorkerMirroredStrategy`,
        `fit` and `evaluate` run the steps of `kerasflows.distribute`: XLA
        compiles each replica's forward and backward pass, gradients are
        all-reduced outside it.

        `fit` runs `steps_per_execution` steps (16 by default, at most an
        epoch) per call, which removes Keras' per-step Python overhead: the
        progress bar and batch-level callbacks then run once per call. Under
        XLA on one device, each call's steps run as one XLA program
        (`kerasflows.step_loop`) with the results of Keras' loop. Pass
        `steps_per_execution=1` for a callback every batch.

        Raises:
            ValueError: if a `loss` is given: the loss is always the NLL.
        """
        if loss is not None:
            raise ValueError(
                f"FlowModel trains on its negative log-likelihood: expected loss=None, Received: loss={loss!r}."
            )
        if jit_compile is None:
            jit_compile = default_jit_compile(self.distribute_strategy) and not kwargs.get("run_eagerly")
        super().compile(
            optimizer=optimizer,
            metrics=metrics,
            jit_compile=jit_compile,
            steps_per_execution=steps_per_execution,
            **kwargs,
        )
        self._compiled.clear()
        self._row_buckets.clear()

    def compile_from_config(self, config):
        """Re-compiles a loaded model with its saved compile arguments."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.optimizer is not None:
            self.optimizer.build(self.trainable_variables)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Mean negative log-likelihood in nats, plus any added losses, per replica under a strategy."""
        if y is not None:
            raise ValueError("A FlowModel is fitted to data alone: expected y=None, Received: targets.")
        loss = -ops.mean(y_pred)
        if self.bits_per_dim:
            bits_per_dim = loss / (math.prod(self.event_shape) * math.log(2.0))
            self._bits_per_dim_tracker.update_state(bits_per_dim, sample_weight=ops.shape(y_pred)[0])
        loss = scale_loss(loss)
        if self.losses:
            loss = loss + self._aggregate_additional_loss(self.losses)
        return loss

    def make_train_function(self, force=False):
        if not needs_replica_steps(self):
            return super().make_train_function(force)
        if self.train_function is None or force:
            self.train_function = make_step_function(self, training=True)
        return self.train_function

    def make_test_function(self, force=False):
        if not needs_replica_steps(self):
            return super().make_test_function(force)
        if self.test_function is None or force:
            self.test_function = make_step_function(self, training=False)
        return self.test_function

    def _check_data(self, x, y, sample_weight, validation_data=None) -> None:
        if y is not None:
            raise ValueError("A FlowModel is fitted to data alone: expected y=None, Received: targets.")
        if sample_weight is not None:
            # Keras silently drops sample weights when there are no targets.
            raise ValueError("A FlowModel takes no sample weights: expected sample_weight=None, Received: weights.")
        for name, data in (("x", x), ("validation_data", validation_data)):
            if isinstance(data, (np.ndarray, list, dict)):
                values, context = _split_inputs(data)
                self._check_inputs(values, context, name, allow_empty=False)

    def fit(self, x=None, y=None, validation_data=None, sample_weight=None, **kwargs):
        """`keras.Model.fit` on data alone; NumPy inputs are checked first.

        A `kf.callbacks.StopOnNaN` joins the callbacks unless they hold one:
        a NaN loss stops training and puts back the last good weights. So
        does a progress bar that counts batches within the epoch (Keras'
        overshoots on an epoch's last call of several steps). A
        `tf.data.Dataset` is used in its own order (`shuffle` is for arrays).

        Raises:
            ValueError: for targets `y`, sample weights, or arrays that are
                empty, of the wrong shape, or hold NaN/inf.
        """
        self._check_data(x, y, sample_weight, validation_data)
        if self.needs_initialization:
            self.initialize(*_split_inputs(_first_batch(x, kwargs.get("batch_size"))))
        kwargs["callbacks"] = with_training_callbacks(kwargs.get("callbacks"))
        if isinstance(x, tf.data.Dataset):
            kwargs.setdefault("shuffle", False)
        return super().fit(x, validation_data=validation_data, **kwargs)

    @property
    def needs_initialization(self) -> bool:
        """Whether a layer (such as `ActNorm`) still waits for its data-dependent initialisation."""
        return any(flow.needs_initialization for flow in self.flows)

    def initialize(self, x, context=None) -> None:
        """Data-dependent initialisation of the layers that have one, from a batch `x`.

        `fit` calls it with its first batch when needed; call it yourself
        before a custom training loop. Layers already initialised keep
        their weights.
        """
        x, context = self._check_inputs(x, context, allow_empty=False)
        initialize_chain(self.flows, x, self._flow_context(context))

    def evaluate(self, x=None, y=None, sample_weight=None, **kwargs):
        """`keras.Model.evaluate`: the mean NLL of `x`, checked like `fit`'s."""
        self._check_data(x, y, sample_weight)
        kwargs["callbacks"] = with_progress_bar(kwargs.get("callbacks"))
        return super().evaluate(x, **kwargs)

    # ----------------------------------------------------------------- export
    def export(self, filepath, format: str = "tf_saved_model", verbose=None, jit_compile: bool = False, **kwargs):
        """Writes a SavedModel with `log_prob`, `sample`, `forward` and `inverse` signatures.

        The export runs on plain TensorFlow: neither kerasflows nor TFP is
        needed to load or serve it. See `kerasflows.export`.

        Args:
            filepath: directory to write.
            format: only "tf_saved_model".
            verbose: print a summary of the signatures.
            jit_compile: mark the signature functions for XLA.
            **kwargs: passed on to `kerasflows.export.export_saved_model`.
        """
        from kerasflows.export import export_saved_model

        return export_saved_model(self, filepath, format=format, verbose=verbose, jit_compile=jit_compile, **kwargs)

    # ---------------------------------------------------------- serialization
    def get_config(self):
        return {
            **super().get_config(),
            "flows": [keras.saving.serialize_keras_object(flow) for flow in self.flows],
            "event_shape": list(self.event_shape),
            "base": keras.saving.serialize_keras_object(self.base),
            "context_shape": None if self.context_shape is None else list(self.context_shape),
            "context_embedding": keras.saving.serialize_keras_object(self.context_embedding),
            "bits_per_dim": self.bits_per_dim,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["flows"] = [keras.saving.deserialize_keras_object(f, custom_objects) for f in config["flows"]]
        for key in ("base", "context_embedding"):
            config[key] = keras.saving.deserialize_keras_object(config.get(key), custom_objects)
        return cls(**config)
