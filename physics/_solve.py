"""The pieces every simulator is built from: one phase of an ODE solved until an event.

A multi-phase simulator (a trebuchet: on the ground, swinging, flying) is a chain of
`solve_phase` calls, each starting where the last one's event fired. Failures are not
exceptions inside `jit`: each phase returns `ok`, and simulators turn the flags into one
clear error (`throw=True`) or NaN results that a sampler can reject (`throw=False`).
"""

import dataclasses
from collections.abc import Callable

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array, Bool, Float, PyTree

from ._tsit5 import Tsit5


MODES = ("auto", "recursive_checkpoint", "direct", "forward", "forward_sensitivities")


class SolverSettings(eqx.Module):
    """How phases are integrated and differentiated.

    **Fields:** `rtol`, `atol` (the PID controller's tolerances, raised to 100 ulp of the
    working precision), `max_steps` (per phase), `solver` (any diffrax solver: the default is
    Tsit5 with its stages unrolled, `physics._tsit5`; an implicit one such as
    `diffrax.Kvaerno5()` for stiff problems, see `SolverSettings.stiff`), `pcoeff`, `icoeff`
    (the PID controller's coefficients), `checkpoints` (stored steps for
    `recursive_checkpoint`, default `max_steps`), and `mode`, how derivatives are taken:

    - `"recursive_checkpoint"`: diffrax's `RecursiveCheckpointAdjoint`; reverse mode only
      (`jax.grad`, `jax.jacrev`).
    - `"direct"`: diffrax's `DirectAdjoint`; forward and reverse mode, slower than either
      specialist.
    - `"forward"`: diffrax's `ForwardMode`; forward mode only (`jax.jvp`, `jax.jacfwd`).
    - `"forward_sensitivities"`: `observe` (so `Trebuchet.shoot`, `Projectile.range`) gets a
      custom JVP that solves once more in diffrax's `ForwardMode` with one tangent per input
      being differentiated, which JAX transposes for reverse mode: both modes, and the
      cheapest when an observation has few inputs. A full `simulate` trajectory in this mode
      is differentiated by `RecursiveCheckpointAdjoint`.
    - `"auto"` (default): the simulator's choice, `forward_sensitivities` for the trebuchet
      and the projectile (a few numbers from a few inputs), `recursive_checkpoint` for the
      rest (a trajectory, from a controller with many parameters).

    Event times are root-found and differentiated implicitly in every mode.
    """

    rtol: float = eqx.field(static=True, default=1e-7)
    atol: float = eqx.field(static=True, default=1e-7)
    max_steps: int = eqx.field(static=True, default=512)
    checkpoints: int | None = eqx.field(static=True, default=None)
    mode: str = eqx.field(static=True, default="auto")
    solver: dfx.AbstractSolver = Tsit5()
    pcoeff: float = eqx.field(static=True, default=0.0)
    icoeff: float = eqx.field(static=True, default=1.0)

    def __check_init__(self):
        if self.mode in ("reverse", "both"):
            new = "'forward_sensitivities' or 'recursive_checkpoint'" if self.mode == "reverse" else "'direct'"
            raise ValueError(f"SolverSettings: `mode` {self.mode!r} was renamed after diffrax's adjoints: use {new}")
        if self.mode not in MODES:
            raise ValueError(f"SolverSettings: `mode` must be one of {MODES}, got {self.mode!r}")
        if not (self.rtol > 0 and self.atol > 0):
            raise ValueError(f"SolverSettings: `rtol` and `atol` must be > 0, got {self.rtol}, {self.atol}")
        if not self.max_steps >= 1:
            raise ValueError(f"SolverSettings: `max_steps` must be >= 1, got {self.max_steps}")

    @classmethod
    def stiff(cls, rtol: float = 1e-8, atol: float = 1e-8, max_steps: int = 4096, mode: str = "auto") -> "SolverSettings":
        """Settings for stiff problems: diffrax's L-stable ESDIRK `Kvaerno5` with a PID
        controller (coefficients 0.3, 0.4, as diffrax's documentation suggests for it)."""
        return cls(rtol, atol, max_steps, None, mode, dfx.Kvaerno5(), 0.3, 0.4)

    def with_mode(self, mode: str) -> "SolverSettings":
        return dataclasses.replace(self, mode=mode)

    def adjoint(self) -> dfx.AbstractAdjoint:
        """diffrax's adjoint for `mode` (`auto` and `forward_sensitivities` solve with
        `RecursiveCheckpointAdjoint`; `observe` applies its own rule around them)."""
        if self.mode == "forward":
            return dfx.ForwardMode()
        if self.mode == "direct":
            return dfx.DirectAdjoint()
        checkpoints = self.max_steps if self.checkpoints is None else self.checkpoints
        return dfx.RecursiveCheckpointAdjoint(checkpoints=checkpoints)

    def controller(self, dtype) -> dfx.PIDController:
        # Tolerances below the working precision cannot be met: in float32, stop at ~100 ulp.
        eps = float(jnp.finfo(dtype).eps)
        return dfx.PIDController(
            rtol=max(self.rtol, 100 * eps), atol=max(self.atol, 100 * eps), pcoeff=self.pcoeff, icoeff=self.icoeff
        )


class PhaseResult(eqx.Module):
    """End of one phase: its event time, the state there, and whether it really ended there.

    `ok` is False when the solver failed (e.g. ran out of steps) or the event did not fire
    before `t_max`. `solution` is diffrax's, with a dense interpolant for plotting; its state
    is the tuple of the state vector's components (`jnp.stack(solution.evaluate(t))` is the
    vector at time `t`).
    """

    t_end: Float[Array, ""]
    y_end: PyTree
    ok: Bool[Array, ""]
    solution: dfx.Solution


def solve_phase(
    vector_field: Callable,
    y0: PyTree,
    t0: Float[Array, ""] | float,
    t_max: float,
    args: PyTree,
    event: Callable,
    *,
    settings: SolverSettings = SolverSettings(),
    direction: bool | None = None,
    dense: bool = False,
) -> PhaseResult:
    """Integrate `dy/dt = vector_field(t, y, args)` from `t0` until `event(t, y, args)` crosses 0.

    The event time is root-found (Newton), so the end state is a smooth function of every
    input and gradients flow through it. The phase fails (`ok = False`) if the event does not
    fire within `t_max` seconds or the solver gives up.
    """
    dtype = jnp.result_type(*jax.tree_util.tree_leaves(y0))
    eps = float(jnp.finfo(dtype).eps)
    root_tol = max(1e-12, 50 * eps)
    sol = dfx.diffeqsolve(
        _component_term(vector_field),
        settings.solver,
        t0,
        t0 + t_max,
        None,
        _components(y0),
        args,
        saveat=dfx.SaveAt(t1=True, dense=dense),
        stepsize_controller=settings.controller(dtype),
        event=dfx.Event(lambda t, y, args, **kw: event(t, jnp.stack(y), args), optx.Newton(root_tol, root_tol), direction),
        max_steps=settings.max_steps,
        adjoint=settings.adjoint(),
        throw=False,
    )
    ok = (sol.result == dfx.RESULTS.event_occurred) & jnp.asarray(sol.event_mask)
    y_end = jnp.stack([x[-1] for x in sol.ys])
    return PhaseResult(sol.ts[-1], y_end, ok, sol)


def _component_term(vector_field: Callable) -> dfx.ODETerm:
    """`vector_field` on a state vector, as a term on the tuple of its components."""
    return dfx.ODETerm(lambda t, y, args: _components(vector_field(t, jnp.stack(y), args)))


def _components(y: Float[Array, " n"]) -> tuple[Float[Array, ""], ...]:
    # diffrax solves a tuple of scalars as n separate arrays: vmapped, each component is then
    # one contiguous array of lanes, where a (lanes, n) state is transposed back and forth
    # around every vector-field call (10-15 % of a batched trebuchet shot).
    return tuple(y[i] for i in range(y.shape[0]))


def raise_on_failure(value: Array, codes, messages: tuple[str, ...]) -> Array:
    """Attach an error to `value`: code 0 is success, code i >= 1 raises `messages[i - 1]`."""
    codes = jnp.asarray(codes)
    return eqx.branched_error_if(value, codes > 0, jnp.maximum(codes - 1, 0), messages)


class PhasesResult(eqx.Module):
    """Ends of a chain of phases: one row per phase (see `solve_phases`)."""

    t_end: Float[Array, " p"]
    y_end: Float[Array, "p n"]
    ok: Bool[Array, " p"]
    solution: dfx.Solution


def solve_phases(
    vector_fields: tuple[Callable, ...],
    events: tuple[Callable, ...],
    transitions: tuple[Callable, ...],
    y0: Float[Array, " n"],
    t0: float,
    t_max: tuple[float, ...],
    args: PyTree,
    *,
    settings: SolverSettings = SolverSettings(),
    dense: bool = False,
    directions: tuple[bool | None, ...] | None = None,
) -> PhasesResult:
    """Solve phase after phase, each until its event, all on one state vector.

    Phase i integrates `vector_fields[i](t, y, args)` until `events[i](t, y, args)` crosses
    zero (root-found), then `transitions[i](t, y, args)` gives the next phase's start state.
    The phases run as one `lax.scan` over a single `diffeqsolve`, so a many-phase simulator
    compiles (and differentiates) like a one-phase one. A phase only starts if the previous
    one ended well; `ok[i]` says whether phase i did. `directions` (one per phase, all equal:
    the phases share one solve) says which crossings count, as in `solve_phase`.
    """
    num = len(vector_fields)
    if not (len(events) == len(transitions) == len(t_max) == num):
        raise ValueError("solve_phases: need one event, transition and t_max per vector field")
    directions = (None,) * num if directions is None else tuple(directions)
    if len(set(directions)) != 1 or len(directions) != num:
        raise ValueError(f"solve_phases: `directions` must be one value repeated for every phase, got {directions}")
    durations = jnp.asarray(t_max, float)

    def field(t, y, a):
        phase, user_args = a
        return jax.lax.switch(phase, vector_fields, t, y, user_args)

    def event(t, y, a):
        phase, user_args = a
        return jax.lax.switch(phase, events, t, y, user_args)

    def body(carry, phase):
        t, y, still_ok = carry
        result = solve_phase(
            field, y, t, durations[phase], (phase, args), event, settings=settings, dense=dense, direction=directions[0]
        )
        ok = still_ok & result.ok
        y_next = jax.lax.switch(phase, transitions, result.t_end, result.y_end, args)
        return (result.t_end, y_next, ok), (result.t_end, result.y_end, ok, result.solution)

    _, (t_end, y_end, ok, solution) = jax.lax.scan(body, (jnp.asarray(t0, float), y0, jnp.asarray(True)), jnp.arange(num))
    return PhasesResult(t_end, y_end, ok, solution)


def rollout(
    vector_field: Callable,
    y0: Float[Array, " n"],
    ts: Float[Array, " k"],
    args: PyTree,
    *,
    settings: SolverSettings = SolverSettings(),
) -> Float[Array, "k n"]:
    """States at times `ts` (ts[0] is the start) of `dy/dt = vector_field(t, y, args)`.

    `args` may hold a controller (an Equinox module) so gradients flow to its parameters,
    which is how a policy is trained through a simulated closed loop.
    """
    sol = dfx.diffeqsolve(
        _component_term(vector_field),
        settings.solver, ts[0], ts[-1], None, _components(y0), args,
        saveat=dfx.SaveAt(ts=ts),
        stepsize_controller=settings.controller(jnp.result_type(y0)),
        max_steps=settings.max_steps, adjoint=settings.adjoint(),
    )
    return jnp.stack(sol.ys, axis=1)
