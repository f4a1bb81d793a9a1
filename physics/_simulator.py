"""One vocabulary for every simulator: state, parameters, vector field, events, observation.

A simulator is an `eqx.Module` whose fields are its parameters (every float differentiable).
It says where a run starts (`initial_state`), how the state moves in each phase (`phases`:
a vector field, the event that ends it, the jump into the next phase) and what is measured
(`observation`). `simulate` solves it; `observe` measures it, raising on a failed run (or
returning NaN with `throw=False`) and choosing derivatives by `SolverSettings.mode`. Both
work under `jit`, `vmap`, `difsci.sharded_vmap`, `jax.grad` and `jax.jacfwd`.
"""

import abc
from collections.abc import Callable
from typing import ClassVar

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float, Int, PyTree

import difsci as ds

from ._derivatives import forward_sensitivities
from ._solve import SolverSettings, _component_term, _components, raise_on_failure, solve_phases


class Phase(eqx.Module):
    """One phase of a run: `dy/dt = vector_field(t, y, inputs)` until `event(t, y, inputs)` crosses 0.

    **Fields:** `vector_field`; `event` (None: no event, the run ends at the last saved time;
    only for a one-phase simulator); `transition(t, y, inputs)` the next phase's start state
    (None: unchanged); `t_max` (s, the longest the phase may last); `direction` (True: only
    upward crossings of the event count, False: only downward, None: both); `starts(t, y,
    inputs)` (None or a boolean: may the phase begin here?) and `accept(t, y, inputs)` (None or
    a boolean: does this event count?); `cannot_start`, `never_ends`: the messages of those
    failures.
    """

    vector_field: Callable
    event: Callable | None = None
    transition: Callable | None = None
    t_max: float = eqx.field(static=True, default=1e4)
    direction: bool | None = eqx.field(static=True, default=None)
    starts: Callable | None = None
    accept: Callable | None = None
    cannot_start: str = eqx.field(static=True, default="the run cannot start from this state")
    never_ends: str = eqx.field(static=True, default="the event never happened (or the solver ran out of steps)")


class Trajectory(eqx.Module):
    """A solved run.

    **Fields:** `ts`, `ys` (saved times (s) and states, None when no times were asked for);
    `event_times` (the end of each phase), `event_states` (the state there, before the
    transition); `ok` (per phase: started, ended by its event, and counted); `failure` (0 for
    success; `2 i + 1` phase i could not start, `2 i + 2` phase i did not end, see
    `failure_messages`); `solution` (diffrax's dense solutions, stacked per phase, when asked).
    """

    ts: Float[Array, " k"] | None
    ys: Float[Array, "k n"] | None
    event_times: Float[Array, " p"]
    event_states: Float[Array, "p n"]
    ok: Bool[Array, " p"]
    failure: Int[Array, ""]
    solution: dfx.Solution | None = None


class AbstractSimulator(eqx.Module):
    """A simulator: its fields are parameters; write `initial_state`, `phases` and `observation`.

    `default_mode` is the derivative mode that `SolverSettings(mode="auto")` means here.
    """

    settings: eqx.AbstractVar[SolverSettings]
    default_mode: ClassVar[str] = "recursive_checkpoint"

    @abc.abstractmethod
    def initial_state(self, inputs: PyTree) -> Float[Array, " n"]:
        """The state vector at the start of the run, given the run's `inputs`."""

    @abc.abstractmethod
    def phases(self) -> tuple[Phase, ...]:
        """The phases of a run, in order."""

    @abc.abstractmethod
    def observation(self, trajectory: Trajectory, inputs: PyTree) -> PyTree:
        """What is measured: a pytree of float arrays computed from a trajectory."""

    def failure_messages(self) -> tuple[str, ...]:
        """The message of each failure code >= 1 (see `Trajectory.failure`)."""
        name = type(self).__name__
        return tuple(f"{name}: {m}" for p in self.phases() for m in (p.cannot_start, p.never_ends))


class AbstractODE(AbstractSimulator):
    """A one-phase simulator, the template for a user's own model.

    Write `vector_field(t, y, inputs)` and `initial_state(inputs)`; optionally set `event`
    (a method `(t, y, inputs) -> scalar`; the run stops where it crosses 0) and override
    `observation` (default: the saved states `ys`, or the final state without saved times).
    """

    event: ClassVar[Callable | None] = None
    t_max: ClassVar[float] = 1e4

    @abc.abstractmethod
    def vector_field(self, t: Float[Array, ""], y: Float[Array, " n"], inputs: PyTree) -> Float[Array, " n"]:
        """dy/dt."""

    def phases(self) -> tuple[Phase, ...]:
        if self.event is None:
            failed = "the solver failed before the last saved time (out of steps: raise SolverSettings.max_steps, or a stiff problem: try SolverSettings.stiff())"
            return (Phase(self.vector_field, t_max=self.t_max, never_ends=failed),)
        return (Phase(self.vector_field, self.event, t_max=self.t_max),)

    def observation(self, trajectory: Trajectory, inputs: PyTree) -> PyTree:
        return trajectory.ys if trajectory.ys is not None else trajectory.event_states[-1]


def _resolved(simulator: AbstractSimulator) -> SolverSettings:
    settings = simulator.settings
    return settings.with_mode(type(simulator).default_mode) if settings.mode == "auto" else settings


def _check_times(ts) -> Array:
    ts = ds.as_real("simulate ts", ts, dtype=float)
    if ts.ndim != 1 or ts.shape[0] < 2:
        raise ValueError(f"simulate: `ts` must be a 1-D array of at least 2 times (s), got shape {ts.shape}")
    return ds.check(ts, jnp.all(jnp.isfinite(ts)) & jnp.all(jnp.diff(ts) > 0), "simulate: `ts` (s) must be finite and strictly increasing")


def _run(simulator, inputs, ts, t0, dense, settings) -> Trajectory:
    phases = simulator.phases()
    y0 = jnp.asarray(simulator.initial_state(inputs))
    if phases[0].event is None:
        if len(phases) != 1:
            raise ValueError(f"{type(simulator).__name__}: only a one-phase simulator may have a phase without an event")
        if ts is None:
            raise ValueError(f"{type(simulator).__name__} has no event to end its run: give the times `ts` to save")
        sol = dfx.diffeqsolve(
            _component_term(phases[0].vector_field), settings.solver, ts[0], ts[-1], None, _components(y0), inputs,
            saveat=dfx.SaveAt(ts=ts, dense=dense), stepsize_controller=settings.controller(y0.dtype),
            max_steps=settings.max_steps, adjoint=settings.adjoint(), throw=False,
        )
        ys = jnp.stack(sol.ys, axis=1)
        ok = jnp.reshape(sol.result == dfx.RESULTS.successful, (1,))
        failure = jnp.where(ok[0], 0, 2)
        return Trajectory(ts, ys, ts[-1:], ys[-1:], ok, failure, sol if dense else None)
    if any(p.event is None for p in phases):
        raise ValueError(f"{type(simulator).__name__}: every phase of a many-phase simulator needs an event")
    keep = lambda t, y, a: y  # noqa: E731
    transitions = tuple(keep if p.transition is None else p.transition for p in phases)
    result = solve_phases(
        tuple(p.vector_field for p in phases), tuple(p.event for p in phases), transitions, y0, t0,
        tuple(p.t_max for p in phases), inputs, settings=settings, dense=dense or ts is not None,
        directions=tuple(p.direction for p in phases),
    )
    # Start and acceptance conditions, evaluated on the ends the chain reached.
    starts, ends = [], []
    t_start, y_start = jnp.asarray(t0, float), y0
    for i, p in enumerate(phases):
        starts.append(jnp.asarray(True) if p.starts is None else jnp.asarray(p.starts(t_start, y_start, inputs)))
        t_end, y_end = result.t_end[i], result.y_end[i]
        ends.append(result.ok[i] & (True if p.accept is None else jnp.asarray(p.accept(t_end, y_end, inputs))))
        t_start, y_start = t_end, transitions[i](t_end, y_end, inputs)
    ok, failure, so_far = [], jnp.asarray(0), jnp.asarray(True)
    for i in reversed(range(len(phases))):
        failure = jnp.where(~ends[i], 2 * i + 2, failure)
        failure = jnp.where(~starts[i], 2 * i + 1, failure)
    for i in range(len(phases)):
        so_far = so_far & starts[i] & ends[i]
        ok.append(so_far)
    ok = jnp.stack(ok)
    failure = jnp.where(ok[-1], 0, failure)
    ys = None
    if ts is not None:
        # Each saved time is read from the dense solution of the phase it falls in.
        sols = [jax.tree_util.tree_map(lambda x: x[i], result.solution) for i in range(len(phases))]
        which = jnp.clip(jnp.searchsorted(result.t_end, ts), 0, len(phases) - 1)

        def at(t, i):
            starts_at = jnp.where(i == 0, t0, result.t_end[jnp.maximum(i - 1, 0)])
            t = jnp.clip(t, starts_at, result.t_end[i])
            return jax.lax.switch(i, [lambda t, s=s: jnp.stack(s.evaluate(t)) for s in sols], t)

        ys = jax.vmap(at)(ts, which)
    return Trajectory(ts, ys, result.t_end, result.y_end, ok, failure, result.solution if dense else None)


def simulate(
    simulator: AbstractSimulator,
    inputs: PyTree = None,
    *,
    ts: Float[ArrayLike, " k"] | None = None,
    t0: float = 0.0,
    dense: bool = False,
) -> Trajectory:
    """Solve `simulator` for `inputs`: phase after phase, each until its event.

    `ts` (s, increasing) are the times to save the state at; a simulator without events needs
    them and runs from `ts[0]` to `ts[-1]`, one with events runs from `t0` until its last
    event. A failed run is reported in `Trajectory.failure`, not raised (see `observe`).
    Derivatives follow `simulator.settings.mode` (`forward_sensitivities`: diffrax's
    `RecursiveCheckpointAdjoint` for a whole trajectory).
    """
    ts = None if ts is None else _check_times(ts)
    settings = _resolved(simulator)
    if settings.mode == "forward_sensitivities":
        settings = settings.with_mode("recursive_checkpoint")
    return _run(simulator, inputs, ts, t0, dense, settings)


def observe(
    simulator: AbstractSimulator,
    inputs: PyTree = None,
    *,
    ts: Float[ArrayLike, " k"] | None = None,
    t0: float = 0.0,
    observation: Callable | None = None,
    throw: bool = True,
) -> PyTree:
    """`simulator.observation(simulate(simulator, inputs, ts=ts), inputs)`, or `observation(...)`.

    A failed run raises its cause (under `jit` too); with `throw=False` its observation is
    NaN instead, and so are its derivatives, so that e.g. a sampler can reject it.
    Derivatives follow `simulator.settings.mode` (see `SolverSettings`).
    """
    ts = None if ts is None else _check_times(ts)
    measure = simulator.observation if observation is None else observation
    settings = _resolved(simulator)

    def run(simulator, inputs, ts, forward=False):
        mode = "forward" if forward else settings.mode
        if mode == "forward_sensitivities":
            mode = "recursive_checkpoint"
        trajectory = _run(simulator, inputs, ts, t0, False, settings.with_mode(mode))
        return measure(trajectory, inputs), trajectory.failure

    if settings.mode == "forward_sensitivities":
        value, failure = forward_sensitivities(run, simulator, inputs, ts)
    else:
        value, failure = run(simulator, inputs, ts)
    scale = failure_scale(failure, simulator.failure_messages() if throw else None)
    return jax.tree_util.tree_map(lambda v: v * scale.astype(v.dtype), value)


def failure_scale(failure: Int[ArrayLike, ""], messages: tuple[str, ...] | None) -> Float[Array, ""]:
    """1 for a run that succeeded, NaN for one that failed; with `messages`, an error instead.

    An observation is multiplied by it rather than replaced with `jnp.where`: a `where` would
    give a failed run a zero (finite) derivative, and an error attached to the observation
    itself is dropped under `jax.grad`, which never uses the primal value. The scale is a
    residual of the product's derivative, so its error is kept and its NaN reaches the gradient.
    """
    failure = jnp.asarray(failure)
    scale = jnp.where(failure == 0, 1.0, jnp.nan).astype(jnp.result_type(float))
    if messages is not None:
        scale = raise_on_failure(scale, failure, messages)
    return scale
