"""Hamiltonian Monte Carlo on a target log density, plainly or in a fitted flow's base space (NeuTra)."""

from collections.abc import Callable
from typing import NamedTuple

import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability import bijectors as tfb

from kerasflows.model import FlowModel, _stateless_seed

_KERNELS = ("hmc", "nuts")


class MCMCResult(NamedTuple):
    """The draws of `hmc` or `neutra` and how they were made.

    Attributes:
        samples: `[num_results, num_chains, *event_shape]`, in data space.
        acceptance_rate: mean acceptance probability over the kept draws
            (NUTS: mean Metropolis acceptance of its trajectories).
        step_size: the (adapted) leapfrog step size at the end.
        num_gradient_evaluations: gradient evaluations of the target per
            chain over the kept draws (leapfrog steps; burn-in excluded).
    """

    samples: tf.Tensor
    acceptance_rate: float
    step_size: float
    num_gradient_evaluations: int

    def effective_sample_size(self) -> tf.Tensor:
        """Cross-chain ESS of every coordinate, `event_shape` (Gelman et al. 2013; needs 2+ chains)."""
        return tfp.mcmc.effective_sample_size(self.samples, cross_chain_dims=1)


def _check(kernel, num_results, num_burnin_steps, num_leapfrog_steps, step_size):
    if kernel not in _KERNELS:
        raise ValueError(f"Expected kernel to be one of {_KERNELS}, Received: {kernel!r}.")
    if num_results < 1 or num_burnin_steps < 0 or num_leapfrog_steps < 1 or not step_size > 0:
        raise ValueError(
            "Expected num_results >= 1, num_burnin_steps >= 0, num_leapfrog_steps >= 1 and step_size > 0, "
            f"Received: {num_results=}, {num_burnin_steps=}, {num_leapfrog_steps=}, {step_size=}."
        )


def _sample_chain(
    target_log_prob_fn,
    initial_state,
    make_bijector,
    num_results,
    num_burnin_steps,
    kernel,
    step_size,
    num_leapfrog_steps,
    target_accept_prob,
    seed,
    jit_compile,
) -> MCMCResult:
    """HMC or NUTS with dual-averaging step sizes, through `make_bijector()` (identity when None)."""
    _check(kernel, num_results, num_burnin_steps, num_leapfrog_steps, step_size)
    initial_state = tf.convert_to_tensor(initial_state)
    step_size = tf.cast(step_size, initial_state.dtype)

    def run(state, seed):
        if kernel == "hmc":
            inner = tfp.mcmc.HamiltonianMonteCarlo(target_log_prob_fn, step_size, num_leapfrog_steps)
        else:
            inner = tfp.mcmc.NoUTurnSampler(target_log_prob_fn, step_size, max_tree_depth=10)
        if make_bijector is not None:
            inner = tfp.mcmc.TransformedTransitionKernel(inner, make_bijector())
        adaptive = tfp.mcmc.DualAveragingStepSizeAdaptation(
            inner, num_adaptation_steps=int(0.8 * num_burnin_steps), target_accept_prob=target_accept_prob
        )

        def trace(_, results):
            sampler = results.inner_results  # HMC's or NUTS' results, under the change of variables if any
            if make_bijector is not None:
                sampler = sampler.inner_results
            accept = tf.exp(tf.minimum(sampler.log_accept_ratio, 0.0))
            if kernel == "hmc":
                leapfrogs = tf.fill(tf.shape(accept), num_leapfrog_steps)
            else:
                leapfrogs = sampler.leapfrogs_taken
            return accept, tf.cast(leapfrogs, tf.int64), results.new_step_size

        return tfp.mcmc.sample_chain(
            num_results,
            state,
            kernel=adaptive,
            num_burnin_steps=num_burnin_steps,
            trace_fn=trace,
            seed=seed,
        )

    samples, (accept, leapfrogs, step_sizes) = tf.function(run, jit_compile=jit_compile)(
        initial_state, _stateless_seed(seed)
    )
    return MCMCResult(
        samples=samples,
        acceptance_rate=float(tf.reduce_mean(accept)),
        step_size=float(tf.reduce_mean(step_sizes[-1])),
        num_gradient_evaluations=int(tf.reduce_sum(leapfrogs) // tf.cast(tf.size(leapfrogs[0]), tf.int64)),
    )


def hmc(
    target_log_prob_fn: Callable[[tf.Tensor], tf.Tensor],
    initial_state,
    num_results: int = 1000,
    num_burnin_steps: int = 500,
    kernel: str = "hmc",
    step_size: float = 0.1,
    num_leapfrog_steps: int = 8,
    target_accept_prob: float = 0.75,
    seed=None,
    jit_compile: bool = True,
) -> MCMCResult:
    """Plain HMC (or NUTS) on `target_log_prob_fn`, chains in parallel; the baseline for `neutra`.

    The step size adapts by dual averaging over the first 80% of burn-in to
    reach `target_accept_prob`. References: Neal, "MCMC using Hamiltonian
    dynamics", 2011; Hoffman and Gelman, "The No-U-Turn Sampler", JMLR 2014.

    Args:
        target_log_prob_fn: `x [num_chains, *event_shape] -> [num_chains]`,
            unnormalised, differentiable.
        initial_state: `[num_chains, *event_shape]` starting points.
        num_results: draws kept per chain.
        num_burnin_steps: draws discarded first (step size adaptation).
        kernel: "hmc" (fixed `num_leapfrog_steps`) or "nuts".
        step_size: initial leapfrog step size.
        num_leapfrog_steps: leapfrog steps per HMC proposal.
        target_accept_prob: the acceptance rate the adaptation aims at.
        seed: None, an int or an int32 `[2]` tensor.
        jit_compile: run the chain under XLA.

    Returns:
        An `MCMCResult`.

    Raises:
        ValueError: for an unknown `kernel` or non-positive counts.
    """
    return _sample_chain(
        target_log_prob_fn,
        initial_state,
        None,
        num_results,
        num_burnin_steps,
        kernel,
        step_size,
        num_leapfrog_steps,
        target_accept_prob,
        seed,
        jit_compile,
    )


def neutra(
    flow: FlowModel,
    target_log_prob_fn: Callable[[tf.Tensor], tf.Tensor],
    num_chains: int = 4,
    num_results: int = 1000,
    num_burnin_steps: int = 500,
    kernel: str = "hmc",
    step_size: float = 0.5,
    num_leapfrog_steps: int = 4,
    target_accept_prob: float = 0.75,
    seed=None,
    jit_compile: bool = True,
) -> MCMCResult:
    """NeuTra HMC: HMC (or NUTS) in the base space of a flow fitted to the target, draws mapped to data.

    With `x = f(z)`, the chain targets `log p~(f(z)) + log|det df/dz|`, which
    is close to the base density when `q` fits `p`: curved or badly scaled
    targets become near-isotropic and take long, cheap steps. The flow only
    preconditions: the chain stays exact for `p` however well `q` fits.
    `tfp.mcmc.TransformedTransitionKernel` does the change of variables with
    the flow's bijector; chains start at `num_chains` draws of the flow.
    Fit the flow first, e.g. with `kf.VariationalFlow`. Reference: Hoffman
    et al., "NeuTra-lizing Bad Geometry in Hamiltonian Monte Carlo Using
    Neural Transport", 2019.

    Args:
        flow: an unconditional `FlowModel` fitted to the target.
        target_log_prob_fn: `x [num_chains, *event_shape] -> [num_chains]`.
        num_chains: independent chains run in parallel.
        num_results: draws kept per chain.
        num_burnin_steps: draws discarded first (step size adaptation).
        kernel: "hmc" or "nuts".
        step_size: initial leapfrog step size, in base space.
        num_leapfrog_steps: leapfrog steps per HMC proposal.
        target_accept_prob: the acceptance rate the adaptation aims at.
        seed: None, an int or an int32 `[2]` tensor.
        jit_compile: run the chain under XLA.

    Returns:
        An `MCMCResult` with samples in data space.

    Raises:
        ValueError: for a conditional flow, an unknown `kernel` or
            non-positive counts.
    """
    if not isinstance(flow, FlowModel) or flow.context_shape is not None:
        raise ValueError(f"Expected an unconditional kf.FlowModel, Received: {flow!r}.")
    seed = _stateless_seed(seed)
    start_seed, chain_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    initial_state = flow.sample(int(num_chains), seed=start_seed)

    def make_bijector() -> tfb.Bijector:
        return flow.distribution().bijector

    return _sample_chain(
        target_log_prob_fn,
        initial_state,
        make_bijector,
        num_results,
        num_burnin_steps,
        kernel,
        step_size,
        num_leapfrog_steps,
        target_accept_prob,
        chain_seed,
        jit_compile,
    )
