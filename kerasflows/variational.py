"""Variational inference: a flow fitted by reverse KL to an unnormalised log density."""

import math
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from kerasflows.callbacks import with_training_callbacks
from kerasflows.model import DEFAULT_STEPS_PER_EXECUTION, FlowModel, _stateless_seed
from kerasflows.step_loop import FusedSteps, returns_metric_results


@keras.saving.register_keras_serializable("kerasflows")
class VariationalFlow(FusedSteps, keras.Model):
    """Fits `flow` to `p(x) = p~(x) / Z` by maximising the ELBO (reverse KL).

    `ELBO = E_q[log p~(x) - log q(x)] = log Z - KL(q || p) <= log Z`, estimated
    with `num_samples` reparameterised draws `x = f(z)`, `z ~ base`, per step.
    Each step samples the flow and evaluates it at its own samples in one
    forward pass (`FlowModel.sample_and_log_prob`): IAF, coupling flows and
    NSF couplings are cheap; MAF works but samples in D passes per step.
    `compile(optimizer)` then `fit(epochs=..., steps_per_epoch=...)` with no
    data trains it (under XLA by default) and logs `elbo` and `loss` (the
    negative ELBO). Reverse KL is mode-seeking: check the fit with
    `effective_sample_size`. References: Rezende and Mohamed, "Variational
    Inference with Normalizing Flows", ICML 2015; Kingma et al., "Improved
    Variational Inference with Inverse Autoregressive Flow", NeurIPS 2016.

    `target_log_prob_fn` is checked on a batch of samples when `fit` starts
    (shape, finite values, a gradient); a NaN later in training stops `fit`
    and puts back the last good weights (`kf.callbacks.StopOnNaN`). Saving
    works only when the target is a function registered with
    `keras.saving.register_keras_serializable`; otherwise save the fitted
    `flow`, which always serialises.

    Args:
        flow: an unconditional `FlowModel`, the approximation `q`.
        target_log_prob_fn: `x [num_samples, *event_shape] -> log p~(x) [num_samples]`,
            TF-traceable and differentiable in `x`; any normalisation.
        num_samples: draws per training step.
        seed: seeds the training draws.

    Raises:
        ValueError: for a conditional flow, a target that is not callable or
            `num_samples < 1`.

    Example:
        >>> def banana(x):
        ...     return -0.5 * x[:, 0] ** 2 / 4.0 - 0.5 * (x[:, 1] - 0.5 * x[:, 0] ** 2) ** 2
        >>> vi = kf.VariationalFlow(kf.RealNVP([2], num_flows=6, hidden_units=(64, 64)), banana)
        >>> vi.compile(keras.optimizers.Adam(1e-3))
        >>> vi.fit(epochs=10, steps_per_epoch=200)
        >>> vi.log_normalizer(10_000), vi.flow.sample(1000)
    """

    def __init__(
        self,
        flow: FlowModel,
        target_log_prob_fn: Callable[[tf.Tensor], tf.Tensor],
        num_samples: int = 256,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(flow, FlowModel) or flow.context_shape is not None:
            raise ValueError(f"Expected an unconditional kf.FlowModel, Received: {flow!r}.")
        if not callable(target_log_prob_fn):
            raise ValueError(f"Expected a callable target_log_prob_fn, Received: {target_log_prob_fn!r}.")
        if not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
            raise ValueError(f"Expected `num_samples` to be an int >= 1, Received: {num_samples!r}.")
        self.flow = flow
        self.target_log_prob_fn = target_log_prob_fn
        self.num_samples = int(num_samples)
        self.seed = seed
        self._seed_generator = keras.random.SeedGenerator(seed)
        self._elbo_tracker = keras.metrics.Mean(name="elbo")
        self._loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True

    # ------------------------------------------------------------------ math
    def _log_weights(self, num_samples: int, seed) -> tf.Tensor:
        """`log p~(x) - log q(x)` at `num_samples` draws `x ~ q`: the log importance weights."""
        x, log_q = self.flow.sample_and_log_prob(num_samples, seed=seed)
        log_p = self._target(x)
        return log_p - log_q

    def _target(self, x) -> tf.Tensor:
        log_p = self.target_log_prob_fn(x)
        shape = getattr(log_p, "shape", None)
        if shape is None or tuple(shape) != (x.shape[0],):
            raise ValueError(
                f"Expected `target_log_prob_fn` to return one value per sample, shape [{x.shape[0]}], Received: "
                f"{'shape ' + str(list(shape)) if shape is not None else type(log_p).__name__}."
            )
        return tf.cast(log_p, x.dtype)

    def check_target(self, num_samples: int | None = None, seed=0) -> None:
        """Evaluates the target on flow samples: one value each, finite, with a finite gradient in `x`.

        Raises:
            ValueError: if `target_log_prob_fn` returns another shape than
                `[num_samples]`, NaN or inf, or has no finite gradient.
        """
        num_samples = num_samples or self.num_samples
        # Eagerly: a one-off check is not worth an XLA compilation.
        x, _ = self.flow._samples_and_log_prob_from_noise(self.flow._base_noise(num_samples, _stateless_seed(seed)))
        with tf.GradientTape() as tape:
            tape.watch(x)
            log_p = self._target(x)
        bad = int(tf.reduce_sum(tf.cast(~tf.math.is_finite(log_p), tf.int32)))
        if bad:
            raise ValueError(
                f"Expected `target_log_prob_fn` to return finite values, Received: {bad} NaN or inf of "
                f"{num_samples} at samples of the flow."
            )
        gradient = tape.gradient(log_p, x)
        if gradient is None:
            raise ValueError(
                "Expected `target_log_prob_fn` to be differentiable in `x` (TensorFlow ops end to end), "
                "Received: a function with no gradient (NumPy, a cast to int or a stop_gradient?)."
            )
        if not bool(tf.reduce_all(tf.math.is_finite(gradient))):
            raise ValueError("Expected `target_log_prob_fn` to have a finite gradient, Received: NaN or inf.")

    def log_weights(self, num_samples: int, seed=None) -> tf.Tensor:
        """Log importance weights `log p~(x) - log q(x)`, `x ~ q`, shape `[num_samples]`.

        Args:
            num_samples: number of draws.
            seed: as in `FlowModel.sample`.
        """
        self.check_target()
        return self._log_weights(num_samples, seed)

    def log_normalizer(self, num_samples: int = 10_000, seed=None) -> float:
        """Importance-sampling estimate of `log Z = log E_q[p~(x) / q(x)]` (log-mean-exp of the weights).

        Consistent, and biased low by about `Var(w) / (2 n E[w]^2)`; the
        ELBO is a lower bound of it.
        """
        log_w = self.log_weights(num_samples, seed)
        return float(tf.reduce_logsumexp(log_w)) - math.log(num_samples)

    def effective_sample_size(self, num_samples: int = 10_000, seed=None) -> float:
        """Importance-sampling ESS `(sum w)^2 / sum w^2` of `num_samples` draws: `num_samples` when `q = p`."""
        log_w = self.log_weights(num_samples, seed)
        return float(tf.exp(2.0 * tf.reduce_logsumexp(log_w) - tf.reduce_logsumexp(2.0 * log_w)))

    # ---------------------------------------------------------------- training
    def compile(
        self,
        optimizer="adam",
        loss=None,
        metrics=None,
        jit_compile=True,
        steps_per_execution=DEFAULT_STEPS_PER_EXECUTION,
        **kwargs,
    ):
        """Configures training on the negative ELBO; XLA is on unless `jit_compile=False`.

        `steps_per_execution` as in `FlowModel.compile`.

        Raises:
            ValueError: if a `loss` or `metrics` are given: the loss is always
                the negative ELBO.
        """
        if loss is not None or metrics is not None:
            raise ValueError(
                f"VariationalFlow trains on its negative ELBO: expected loss=None and metrics=None, Received: "
                f"loss={loss!r}, metrics={metrics!r}."
            )
        super().compile(optimizer=optimizer, jit_compile=jit_compile, steps_per_execution=steps_per_execution, **kwargs)
        # Every variable exists already; a built optimizer also lets `StopOnNaN` restore it from the start.
        self.optimizer.build(self.trainable_variables)

    compile_from_config = FlowModel.compile_from_config

    @property
    def metrics(self):
        return [self._loss_tracker, self._elbo_tracker]

    @returns_metric_results
    def train_step(self, data):
        seed = self._seed_generator.next()
        with tf.GradientTape() as tape:
            elbo = tf.reduce_mean(self._log_weights(self.num_samples, seed))
            loss = -elbo
            if self.losses:
                loss = loss + tf.add_n(self.losses)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        self._loss_tracker.update_state(loss)
        self._elbo_tracker.update_state(elbo)
        return self.get_metrics_result()

    def fit(self, epochs: int = 1, steps_per_epoch: int = 100, **kwargs):
        """`keras.Model.fit` with no data: `steps_per_epoch` steps of `num_samples` fresh draws.

        Args:
            epochs: number of epochs.
            steps_per_epoch: optimiser steps per epoch.
            **kwargs: `verbose`, `callbacks` (a `kf.callbacks.StopOnNaN` joins
                them unless they hold one), `initial_epoch`.

        Raises:
            ValueError: if data is given, or the target fails `check_target`.
        """
        data_arguments = sorted({"x", "y", "validation_data", "validation_split", "sample_weight"} & set(kwargs))
        if data_arguments:
            raise ValueError(
                f"VariationalFlow draws its own samples: expected no data, Received: {', '.join(data_arguments)}."
            )
        if not isinstance(steps_per_epoch, (int, np.integer)) or steps_per_epoch < 1:
            raise ValueError(f"Expected `steps_per_epoch` to be an int >= 1, Received: {steps_per_epoch!r}.")
        self.check_target()
        kwargs["callbacks"] = with_training_callbacks(kwargs.get("callbacks"))
        steps = tf.data.Dataset.from_tensors(0.0).repeat()
        return super().fit(steps, epochs=epochs, steps_per_epoch=int(steps_per_epoch), shuffle=False, **kwargs)

    # ---------------------------------------------------------- serialization
    def get_config(self):
        return {
            **super().get_config(),
            "flow": keras.saving.serialize_keras_object(self.flow),
            "target_log_prob_fn": keras.saving.serialize_keras_object(self.target_log_prob_fn),
            "num_samples": self.num_samples,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["flow"] = keras.saving.deserialize_keras_object(config["flow"], custom_objects)
        config["target_log_prob_fn"] = keras.saving.deserialize_keras_object(
            config["target_log_prob_fn"], custom_objects
        )
        return cls(**config)
