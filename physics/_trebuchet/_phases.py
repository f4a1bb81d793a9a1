"""The trebuchet's three phases, the events between them, and the ways a shot fails.

On the ground the projectile slides until the sling lifts it (the normal force vanishes);
in the sling it swings until its velocity points at the release angle; in flight it meets
quadratic drag relative to the wind until it lands. All three share one 6-vector state:
angles and rates, then (x, y, vx, vy, 0, 0) in flight.
"""

import enum

import jax.numpy as jnp

from .._simulator import Phase
from .._sincos import sincos
from ._motion import flight_field, ground_accelerations, normal_force, projectile_position, projectile_velocity, swing_accelerations
from ._state import Constants, ShotSettings, TrebuchetState


class TrebuchetFailure(enum.IntEnum):
    """Why a shot failed: the value of `Shot.failure` (`Trajectory.failure` numbering)."""

    SUCCESS = 0
    TOO_LIGHT = 1
    NO_LIFT_OFF = 2
    NO_RELEASE = 4
    NO_LANDING = 6

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    TrebuchetFailure.SUCCESS: "the shot succeeded",
    TrebuchetFailure.TOO_LIGHT: "the counterweight is too light to lift the projectile (the sling would have to "
    "push it: normal force < 0 at the first instant); use a heavier `counterweight_mass`",
    TrebuchetFailure.NO_LIFT_OFF: "the projectile never lifted off the ground; check the geometry and the counterweight",
    TrebuchetFailure.NO_RELEASE: "the release angle was never reached while the projectile swung in the sling; "
    "choose a `release_angle` the sling actually passes through (typically 0 to pi/2)",
    TrebuchetFailure.NO_LANDING: "the projectile never landed (or the flight solve ran out of steps); check the "
    "wind and the settings, or raise SolverSettings.max_steps",
}

_UNUSED = "(unused failure code)"

# The longest each phase may last (s).
T_MAX = (5.0, 5.0, 60.0)


def _arm_state(y) -> TrebuchetState:
    return TrebuchetState.of_vector(y)


def phases(k: Constants) -> tuple[Phase, Phase, Phase]:
    """Ground, sling and flight, for inputs `ShotSettings`."""

    def ground(t, y, u: ShotSettings):
        s = _arm_state(y)
        return jnp.stack([s.arm_rate, s.weight_rate, s.sling_rate, *ground_accelerations(k, s, u.counterweight_mass)])

    def swing(t, y, u: ShotSettings):
        s = _arm_state(y)
        rates = jnp.stack([s.arm_rate, s.weight_rate, s.sling_rate])
        return jnp.concatenate([rates, swing_accelerations(k, s, u.counterweight_mass)])

    def flight(t, y, u: ShotSettings):
        return jnp.concatenate([flight_field(k, y[:4], u.wind), jnp.zeros(2, y.dtype)])

    def can_lift(t, y, u: ShotSettings):
        return normal_force(k, _arm_state(y), u.counterweight_mass)[0] >= 0

    def lift_off(t, y, u: ShotSettings):
        return normal_force(k, _arm_state(y), u.counterweight_mass)[1]

    def release(t, y, u: ShotSettings):
        v = projectile_velocity(k, _arm_state(y))
        sin_r, cos_r = sincos(u.release_angle)
        return (v[1] * cos_r - v[0] * sin_r) / jnp.sqrt(v[0] ** 2 + v[1] ** 2 + 1e-30)

    def moving_forward(t, y, u: ShotSettings):
        # The release condition also vanishes moving the opposite way (angle r + pi): no release.
        v = projectile_velocity(k, _arm_state(y))
        return v[0] * jnp.cos(u.release_angle) + v[1] * jnp.sin(u.release_angle) > 0

    def landing(t, y, u: ShotSettings):
        return y[1] + k.a

    def let_go(t, y, u: ShotSettings):
        s = _arm_state(y)
        return jnp.concatenate([projectile_position(k, s), projectile_velocity(k, s), jnp.zeros(2, y.dtype)])

    F = TrebuchetFailure
    return (
        Phase(ground, lift_off, t_max=T_MAX[0], starts=can_lift, cannot_start=F.TOO_LIGHT.message, never_ends=F.NO_LIFT_OFF.message),
        Phase(swing, release, let_go, t_max=T_MAX[1], accept=moving_forward, cannot_start=_UNUSED, never_ends=F.NO_RELEASE.message),
        Phase(flight, landing, t_max=T_MAX[2], cannot_start=_UNUSED, never_ends=F.NO_LANDING.message),
    )
