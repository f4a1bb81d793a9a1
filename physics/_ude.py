"""Universal differential equations: known terms plus a network, fitted to trajectory data.

`dy/dt = known(t, y) + network(y)` (Rackauckas et al. 2020, "Universal differential equations
for scientific machine learning", arXiv:2001.04385). The network stands for the terms nobody
wrote down; once fitted, `sindy` recovers them as equations. Two losses fit it: the whole
trajectory from the first state, or multiple shooting (Bock & Plitt 1984): the window is cut
into segments, each solved from its own (fitted) start, with a penalty tying each segment's
end to the next one's start, which keeps long or oscillating windows from trapping the fit.
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ._simulator import AbstractODE, observe
from ._solve import SolverSettings


class UniversalODE(AbstractODE):
    """`dy/dt = known(t, y) + network(y)`; inputs: the start state y0.

    **Fields:** `known(t, y)` (a function or Equinox module: the terms you know; its arrays are
    parameters too), `network(y)` (an Equinox module: the terms you do not; None for none),
    `settings`.
    """

    known: Callable | None
    network: Callable | None
    settings: SolverSettings = SolverSettings()

    def initial_state(self, inputs: Float[Array, " n"]) -> Float[Array, " n"]:
        return jnp.asarray(inputs)

    def vector_field(self, t, y, inputs) -> Float[Array, " n"]:
        out = jnp.zeros_like(y)
        if self.known is not None:
            out = out + self.known(t, y)
        if self.network is not None:
            out = out + self.network(y)
        return out


def _check_data(ts, data):
    ts, data = jnp.asarray(ts, float), jnp.asarray(data, float)
    if ts.ndim != 1 or data.ndim != 2 or data.shape[0] != ts.shape[0]:
        raise ValueError(f"`ts` must have shape (k,) and `data` shape (k, n), got {ts.shape} and {data.shape}")
    return ts, data


def trajectory_loss(model: AbstractODE, ts: Float[ArrayLike, " k"], data: Float[ArrayLike, "k n"]) -> Float[Array, ""]:
    """Mean squared error of the run from `data[0]` against `data` at `ts` (s)."""
    ts, data = _check_data(ts, data)
    return jnp.mean((observe(model, data[0], ts=ts) - data) ** 2)


def shooting_starts(data: Float[ArrayLike, "k n"], segment: int) -> Float[Array, "s n"]:
    """Initial guesses for the segments' starts: the data at each segment's first time."""
    data = jnp.asarray(data, float)
    _check_segments(data.shape[0], segment)
    return data[:-1:segment]


def _check_segments(k, segment):
    if not (isinstance(segment, int) and segment >= 1 and (k - 1) % segment == 0):
        raise ValueError(f"`segment` (steps per segment) must be an int >= 1 dividing len(ts) - 1 = {k - 1}, got {segment}")


def multiple_shooting_loss(
    model: AbstractODE,
    starts: Float[Array, "s n"],
    ts: Float[ArrayLike, " k"],
    data: Float[ArrayLike, "k n"],
    segment: int,
    continuity: float = 10.0,
) -> Float[Array, ""]:
    """Multiple-shooting loss: segment i runs from `starts[i]` over `ts[i*segment : (i+1)*segment + 1]`.

    Returns the mean squared error against `data` over all segments plus `continuity` times
    the mean squared jump between each segment's end and the next segment's start. Fit
    `starts` along with the model (begin from `shooting_starts(data, segment)`).
    """
    ts, data = _check_data(ts, data)
    _check_segments(ts.shape[0], segment)
    num = (ts.shape[0] - 1) // segment
    if starts.shape != (num, data.shape[1]):
        raise ValueError(f"`starts` must have shape {(num, data.shape[1])} (one start per segment), got {starts.shape}")
    index = jnp.arange(num)[:, None] * segment + jnp.arange(segment + 1)[None, :]
    predicted = jax.vmap(lambda y0, t: observe(model, y0, ts=t))(starts, ts[index])
    misfit = jnp.mean((predicted - data[index]) ** 2)
    if num == 1:
        return misfit
    jumps = predicted[:-1, -1] - starts[1:]
    return misfit + continuity * jnp.mean(jumps**2)
