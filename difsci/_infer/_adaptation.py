"""Warm-up and sampling of one chain in a single loop around a single HMC/NUTS kernel.

Stan's window adaptation (Hoffman & Gelman 2014 dual averaging for the step size; Welford
variance windows doubling in size for the inverse mass matrix, with Stan's shrinkage), built
from BlackJAX's adaptation pieces. Running warm-up and sampling through one kernel call (the
phase only changes which parameters it gets) halves what XLA compiles compared with a
warm-up loop followed by a sampling loop.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

FAST, SLOW, SAMPLING = 0, 1, 2

# `dense_mass="auto"`: a dense metric when some pair of coordinates is this correlated in a
# window's draws (below it the diagonal metric's cheaper leapfrog steps win), for at most
# AUTO_DENSE_MAX_DIM coordinates (a dense leapfrog step costs dim^2 operations).
AUTO_DENSE_CORRELATION = 0.5
AUTO_DENSE_MAX_DIM = 200


def uses_dense(dense, dim: int) -> bool:
    """Whether the inverse mass matrix is a (dim, dim) matrix (for "auto": may be dense)."""
    return dense is True or (dense == "auto" and dim <= AUTO_DENSE_MAX_DIM)


def choose_metric(inverse_mass_matrix: jax.Array) -> jax.Array:
    """For `dense_mass="auto"`: a window's dense estimate where some |correlation| exceeds
    `AUTO_DENSE_CORRELATION`, else its diagonal (still as a matrix, so shapes stay fixed)."""
    var = jnp.diagonal(inverse_mass_matrix)
    sd = jnp.sqrt(var)
    corr = inverse_mass_matrix / jnp.outer(sd, sd)
    strong = jnp.max(jnp.abs(corr - jnp.eye(var.size))) > AUTO_DENSE_CORRELATION
    return jnp.where(strong, inverse_mass_matrix, jnp.diag(var))


class AdaptState(NamedTuple):
    step_size_state: tuple
    mass_state: tuple
    step_size: jax.Array
    inverse_mass_matrix: jax.Array


def schedule(num_warmup: int, num_samples: int) -> jax.Array:
    """Per iteration: (stage, ends a slow window) with stage FAST, SLOW or SAMPLING."""
    from blackjax.adaptation.window_adaptation import build_schedule  # see _mcmc on lazy imports

    warm = build_schedule(num_warmup) if num_warmup > 0 else jnp.zeros((0, 2), int)
    sampling = jnp.stack([jnp.full(num_samples, SAMPLING), jnp.zeros(num_samples, int)], axis=1)
    return jnp.concatenate([jnp.asarray(warm, int).reshape(-1, 2), sampling], axis=0)


def window_adaptation(dim: int, dense: bool | str, target_accept: float, initial_step_size: float):
    """`(init, update)`: `update(state, stage, window_end, position, acceptance, last_warmup)`.

    `dense`: False (diagonal), True (dense), or "auto" (dense Welford estimates, each window's
    reduced to its diagonal by `choose_metric` unless correlations are strong; diagonal above
    `AUTO_DENSE_MAX_DIM` coordinates)."""
    from blackjax.adaptation.mass_matrix import mass_matrix_adaptation
    from blackjax.adaptation.step_size import dual_averaging_adaptation

    auto = dense == "auto" and uses_dense(dense, dim)
    mm_init, mm_update, mm_final = mass_matrix_adaptation(not uses_dense(dense, dim))
    da_init, da_update, da_final = dual_averaging_adaptation(target_accept)

    def init() -> AdaptState:
        mass = mm_init(dim)
        return AdaptState(da_init(initial_step_size), mass, jnp.asarray(initial_step_size, float),
                          mass.inverse_mass_matrix)

    def fast(state, flat, acceptance):
        ss = da_update(state.step_size_state, acceptance)
        return AdaptState(ss, state.mass_state, jnp.exp(ss.log_step_size), state.inverse_mass_matrix)

    def slow(state, flat, acceptance):
        ss = da_update(state.step_size_state, acceptance)
        return AdaptState(ss, mm_update(state.mass_state, flat), jnp.exp(ss.log_step_size),
                          state.inverse_mass_matrix)

    def none(state, flat, acceptance):
        return state

    def end_window(state):
        mass = mm_final(state.mass_state)
        if auto:
            mass = mass._replace(inverse_mass_matrix=choose_metric(mass.inverse_mass_matrix))
        ss = da_init(da_final(state.step_size_state))
        return AdaptState(ss, mass, jnp.exp(ss.log_step_size), mass.inverse_mass_matrix)

    def end_warmup(state):
        return state._replace(step_size=da_final(state.step_size_state))

    def update(state, stage, window_end, position, acceptance, last_warmup):
        flat = ravel_pytree(position)[0]
        acceptance = jnp.where(jnp.isfinite(acceptance), acceptance, 0.0)
        state = jax.lax.switch(stage, (fast, slow, none), state, flat, acceptance)
        state = jax.lax.cond(window_end, end_window, lambda s: s, state)
        return jax.lax.cond(last_warmup, end_warmup, lambda s: s, state)

    return init, update
