"""A whole shot for plotting and analysis: event times, release, sampled trajectories."""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from .._simulator import Trajectory
from ._motion import projectile_velocity
from ._state import Constants, TrebuchetState


class Shot(eqx.Module):
    """A whole shot (see `Trebuchet.simulate`).

    Times in s, positions in m relative to the pivot (ground at y = -pivot_height).
    `arm_times`/`arm_states` sample the ground and sling phases; `flight_times`/`flight`
    sample the flight as rows (x, y, vx, vy). `failure` is a `TrebuchetFailure` value.
    """

    distance: Float[Array, ""]
    lift_off_time: Float[Array, ""]
    release_time: Float[Array, ""]
    landing_time: Float[Array, ""]
    release_speed: Float[Array, ""]
    release_direction: Float[Array, ""]
    arm_times: Float[Array, " n"]
    arm_states: TrebuchetState
    flight_times: Float[Array, " n"]
    flight: Float[Array, "n 4"]
    ok: Bool[Array, ""]
    failure: Int[Array, ""]


def shot_of(k: Constants, trajectory: Trajectory, scale: Float[Array, ""], num_points: int) -> Shot:
    """Sample a dense three-phase `trajectory` at `num_points` times per phase; `scale` the distance's
    failure scale (1, or NaN / an error for a failed shot)."""
    sols = [jax.tree_util.tree_map(lambda x: x[i], trajectory.solution) for i in range(3)]
    t_lift, t_release, t_land = trajectory.event_times
    frac = jnp.linspace(0.0, 1.0, num_points)
    t_ground = t_lift * frac
    t_swing = t_lift + (t_release - t_lift) * frac
    evaluate = lambda sol, ts: jnp.stack(jax.vmap(sol.evaluate)(ts), axis=1)  # noqa: E731
    ys = jnp.concatenate([evaluate(sols[0], t_ground), evaluate(sols[1], t_swing)])
    flight_times = t_release + (t_land - t_release) * frac
    v = projectile_velocity(k, TrebuchetState.of_vector(trajectory.event_states[1]))
    return Shot(
        distance=trajectory.event_states[2, 0] * scale,
        lift_off_time=t_lift,
        release_time=t_release,
        landing_time=t_land,
        release_speed=jnp.sqrt(v @ v),
        release_direction=jnp.arctan2(v[1], v[0]),
        arm_times=jnp.concatenate([t_ground, t_swing]),
        arm_states=TrebuchetState(*ys.T),
        flight_times=flight_times,
        flight=evaluate(sols[2], flight_times)[:, :4],
        ok=trajectory.failure == 0,
        failure=trajectory.failure,
    )
