"""Continuous-time flows: data are the solution at `t = 1` of an ODE started from base samples."""

from collections.abc import Sequence
from typing import NamedTuple

import keras
import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability import bijectors as tfb

from kerasflows import _random as random
from kerasflows.layers.base import FlowLayer
from kerasflows.nn.ode_net import ODENet

_TRACES = ("hutchinson", "exact")


class _Solution(NamedTuple):
    states: tuple


def _padded(solve):
    """`solve` (a `tfp.math.ode.Solver.solve`) on the state plus a constant zero of size 1.

    The solver's RMS error norm is 0 / 0 on an empty batch: it would reject
    every step and never stop. The extra component makes that norm 0 there
    and scales it by `sqrt(N / (N + 1))` otherwise (`N` state entries).
    """

    def padded_solve(ode_fn, initial_time, initial_state, solution_times, **kwargs):
        def padded_ode_fn(time, state, **ode_kwargs):
            *state, pad = state
            return (*ode_fn(time, tuple(state), **ode_kwargs), tf.zeros_like(pad))

        pad = tf.zeros([1], tf.nest.flatten(initial_state)[0].dtype)
        results = solve(padded_ode_fn, initial_time, (*initial_state, pad), solution_times, **kwargs)
        return _Solution(tuple(results.states[:-1]))

    return padded_solve


def _trace_augmentation(probes):
    """A `trace_augmentation_fn` for `tfb.FFJORD` that contracts `df/dx` with probe vectors `v_k`.

    Per feature `i`: `sum_k v_k[i] * (v_k^T df/dx)[i]`, one vector-Jacobian
    product per probe. With the standard basis as probes that is the exact
    diagonal of `df/dx`; with one Rademacher vector its sum over features is
    Hutchinson's unbiased estimate of the trace. `probes(state_shape, dtype)`
    draws the vectors once per solve, so they stay fixed along the trajectory.
    TFP's own `trace_jacobian_exact` and `trace_jacobian_hutchinson` do the
    same math, but the first does not compile with XLA (a TensorArray of
    dynamic size) and the second's `vectorized_map` breaks on empty batches
    under XLA.
    """

    def augmentation(ode_fn, state_shape, dtype):
        vectors = probes(state_shape, dtype)

        def augmented_ode_fn(time, state_and_log_det):
            state, _ = state_and_log_det
            with tf.GradientTape(persistent=len(vectors) > 1, watch_accessed_variables=False) as tape:
                tape.watch(state)
                derivative = ode_fn(time, state)
            trace = tf.add_n([v * tape.gradient(derivative, state, output_gradients=v) for v in vectors])
            return derivative, trace

        return augmented_ode_fn

    return augmentation


# Registered under "kerasflows.layers": "kerasflows>FFJORD" is the preset.
@keras.saving.register_keras_serializable("kerasflows.layers")
class FFJORD(FlowLayer):
    """A continuous-time flow: `dz/dt = f(z, t[, context])`, `x = z(1)`, `log|det dx/dz| = int_0^1 tr(df/dz) dt`.

    `f` is an `ODENet` (an MLP on `[z, t, context]`, zero at first: a fresh
    layer is the identity). Forward and inverse both solve the ODE with an
    adaptive Dormand-Prince solver (`tfp.math.ode.DormandPrince`, with
    `rtol` and `atol`), the inverse backwards in time; gradients come from
    the adjoint method, so memory does not grow with the number of solver
    steps. The log-det is exact up to the solver tolerance, and so is
    `inverse(forward(z)) == z`. Cost grows with the stiffness the network
    learns: expect it to be far slower than coupling or autoregressive
    layers, both ways.

    The trace of `df/dz` costs, per solver stage:
        - `trace="exact"`: D vector-Jacobian products. Deterministic;
          meant for evaluation, export, and training in low dimension.
        - `trace="hutchinson"`: one vector-Jacobian product with a
          Rademacher probe vector, drawn anew for every solve from the
          layer's `keras.random.SeedGenerator` (so under XLA and in an
          export too, and reproducible after `keras.utils.set_random_seed`).
          The log-det and so `log_prob` are then *unbiased random
          estimates*: two calls on the same data differ. Train with it in
          high dimension, then evaluate exactly with a copy built with
          `trace="exact"` (the weights are the same:
          `exact.set_weights(model.get_weights())`).

    Events are flat, `[batch, features]`. Reference: Grathwohl et al.,
    "FFJORD: Free-form Continuous Dynamics for Scalable Reversible Generative
    Models", ICLR 2019; Chen et al., "Neural Ordinary Differential
    Equations", NeurIPS 2018.

    Args:
        hidden_units: widths of the vector field's hidden layers.
        activation: its hidden activation; keep it smooth.
        trace: "hutchinson" (stochastic, one VJP) or "exact" (D VJPs).
        rtol: relative tolerance of the ODE solver.
        atol: absolute tolerance of the ODE solver.
        context_shape: shape of one context row, or None.

    Raises:
        ValueError: for an unknown `trace`, non-positive tolerances, or
            events that are not flat.

    Example:
        >>> layer = FFJORD(hidden_units=(16,), trace="exact")
        >>> x, log_det = layer(np.zeros((4, 2), "float32"))
    """

    # The solver's step sizes follow the error of the whole batch.
    rows_independent = False

    def __init__(
        self,
        hidden_units: Sequence[int] = (64, 64),
        activation="tanh",
        trace: str = "hutchinson",
        rtol: float = 1e-5,
        atol: float = 1e-5,
        context_shape: Sequence[int] | None = None,
        **kwargs,
    ):
        super().__init__(context_shape=context_shape, **kwargs)
        if trace not in _TRACES:
            raise ValueError(f"Expected trace to be one of {_TRACES}, Received: trace={trace!r}.")
        if not (rtol > 0 and atol > 0):
            raise ValueError(f"Expected positive solver tolerances, Received: rtol={rtol!r}, atol={atol!r}.")
        self.hidden_units = tuple(int(h) for h in hidden_units)
        self.activation = activation
        self.trace = trace
        self.rtol = float(rtol)
        self.atol = float(atol)
        self.seed_generator = keras.random.SeedGenerator() if trace == "hutchinson" else None
        self.vector_field = None

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"Expected inputs of shape [batch, features], Received: shape {tuple(input_shape)}.")
        super().build(input_shape)
        self.vector_field = ODENet(
            self.hidden_units, self.activation, context_size=self.context_size, dtype=self.dtype_policy
        )
        self.vector_field.build(input_shape)

    def _probes(self, state_shape, dtype) -> list:
        if self.trace == "exact":
            size = self.event_shape[-1]
            return [tf.broadcast_to(tf.one_hot(i, size, dtype=dtype), state_shape) for i in range(size)]
        signs = random.uniform(state_shape, 0, 2, tf.int32, self.seed_generator)
        return [tf.cast(2 * signs - 1, dtype)]

    def bijector(self, context=None) -> tfb.Bijector:
        context = self.flat_context(context)
        dtype = self.compute_dtype
        solver = tfp.math.ode.DormandPrince(rtol=self.rtol, atol=self.atol)
        return tfb.FFJORD(
            lambda time, state: self.vector_field(state, time, context),
            ode_solve_fn=_padded(solver.solve),
            trace_augmentation_fn=_trace_augmentation(self._probes),
            initial_time=tf.constant(0.0, dtype),
            final_time=tf.constant(1.0, dtype),
            dtype=dtype,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_units": list(self.hidden_units),
            "activation": self.activation,
            "trace": self.trace,
            "rtol": self.rtol,
            "atol": self.atol,
        }
