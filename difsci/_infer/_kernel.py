"""One NUTS/HMC chain as a pure `init`/`step` pair over named state (as optax and BlackJAX do).

`step` runs one iteration, warm-up or sampling: the iteration's stage in Stan's window
schedule is looked up from `state.step`, and its random key is `fold_in(state.key, state.step)`.
So the state is all there is: a run stopped after any iteration and continued from its saved
state draws exactly what the uninterrupted run draws.
"""

from collections.abc import Callable
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Bool, Float, Int, PyTree, UInt

from ._adaptation import SAMPLING, AdaptState, schedule, window_adaptation


class ChainState(eqx.Module):
    """Everything one chain carries from one iteration to the next."""

    position: PyTree
    log_density: Float[Array, ""]
    log_density_grad: PyTree
    adaptation: AdaptState
    step: Int[Array, ""]  # iterations done, warm-up included
    key: UInt[Array, " 2"]  # raw key data (`jax.random.key_data`), so the state serialises as plain arrays


class ChainInfo(eqx.Module):
    """What one iteration reports."""

    log_density: Float[Array, ""]
    is_divergent: Bool[Array, ""]
    tree_depth: Int[Array, ""]
    num_integration_steps: Int[Array, ""]
    acceptance_rate: Float[Array, ""]
    energy: Float[Array, ""]


def chain_kernel(
    log_density: Callable[[PyTree], Float[Array, ""]],
    *,
    kind: Literal["nuts", "hmc"],
    num_warmup: int,
    num_samples: int,
    target_accept: float,
    max_tree_depth: int,
    num_integration_steps: int,
    dense_mass: bool | str,
    initial_step_size: float = 1.0,
    progress=None,
):
    """`(init, step)` for one chain of `num_warmup + num_samples` iterations.

    `init(position, log_density, grad, key) -> ChainState` (a start and its density and gradient,
    as the start search found them); `step(state) -> (state, ChainInfo)`. Past the last
    iteration `step` leaves the state unchanged.
    """
    # Imported here: importing blackjax starts JAX's backends, and `import difsci` must not.
    import blackjax
    from blackjax.mcmc.hmc import HMCState

    if kind == "nuts":
        kernel, extra = blackjax.nuts.build_kernel(), {"max_num_doublings": max_tree_depth}
    else:
        kernel, extra = blackjax.hmc.build_kernel(), {"num_integration_steps": num_integration_steps}
    stages = schedule(num_warmup, num_samples)
    total = num_warmup + num_samples
    every = max(1, total // 100)

    def init(position, value, grad, key) -> ChainState:
        dim = ravel_pytree(position)[0].size
        adapt_init, _ = window_adaptation(dim, dense_mass, target_accept, initial_step_size)
        adaptation = jax.tree_util.tree_map(jnp.asarray, adapt_init())  # BlackJAX starts some fields as floats
        return ChainState(position, value, grad, adaptation, jnp.asarray(0, jnp.int32), jax.random.key_data(key))

    def step(state: ChainState) -> tuple[ChainState, ChainInfo]:
        dim = ravel_pytree(state.position)[0].size
        _, adapt_update = window_adaptation(dim, dense_mass, target_accept, initial_step_size)
        i = jnp.minimum(state.step, total - 1)
        stage, window_end = stages[i, 0], stages[i, 1].astype(bool)
        key = jax.random.fold_in(jax.random.wrap_key_data(state.key), state.step)
        adapt = state.adaptation
        hmc, info = kernel(key, HMCState(state.position, state.log_density, state.log_density_grad), log_density,
                           adapt.step_size, adapt.inverse_mass_matrix, **extra)
        adapt = adapt_update(adapt, stage, window_end, hmc.position, info.acceptance_rate, state.step == num_warmup - 1)
        if progress is not None:
            progress.report(state.step, stage == SAMPLING, every)
        depth = info.num_trajectory_expansions if kind == "nuts" else jnp.zeros((), jnp.int32)
        new = ChainState(hmc.position, hmc.logdensity, hmc.logdensity_grad, adapt, state.step + 1, state.key)
        active = state.step < total
        new = jax.tree_util.tree_map(lambda a, b: jnp.where(active, a, b), new, state)
        return new, ChainInfo(hmc.logdensity, info.is_divergent, depth, info.num_integration_steps,
                              info.acceptance_rate, info.energy)

    return init, step
