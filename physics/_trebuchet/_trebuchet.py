"""The counterweight trebuchet with a sling (the model of Trebuchet.jl / virtualtrebuchet.com).

This file holds the simulator: its constants and their checks, and the shot. The state and
units are in `_state`, the equations of motion in `_motion`, the phases and failures in
`_phases`, the sampled shot in `_shot`. Units are SI throughout; angles in radians.
"""

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

import difsci as ds

from .._simulator import AbstractSimulator, Phase, Trajectory, failure_scale, observe, simulate
from .._solve import SolverSettings
from . import _motion
from ._phases import phases
from ._shot import Shot, shot_of
from ._state import FOOT, POUND, Constants, ShotSettings, TrebuchetState
from .. import _constants


class Trebuchet(AbstractSimulator):
    """A hinged-counterweight trebuchet with a sling; every constant is differentiable.

    **Fields** (SI units): `pivot_height` a (m), `long_arm` b (m), `short_arm` c (m),
    `weight_arm` d (hinge to counterweight centre, m), `sling_length` e (m),
    `projectile_radius` (m), `arm_mass`, `projectile_mass` (kg), `arm_inertia`,
    `weight_inertia` (kg m^2), `air_density` (kg/m^3), `drag_coefficient`, `gravity` (m/s^2),
    and `trebuchet_jl_inertias` (static): bind the two inertias the way Trebuchet.jl does.

    `Trebuchet()` uses Trebuchet.jl's constants with the inertias bound correctly;
    `Trebuchet.from_trebuchet_jl()` reproduces Trebuchet.jl's numbers. As a simulator its
    inputs are `ShotSettings` and its observation the landing distance; `mode="auto"` means
    `forward_sensitivities` (see `SolverSettings`).
    """

    pivot_height: Float[Array, ""]
    long_arm: Float[Array, ""]
    short_arm: Float[Array, ""]
    weight_arm: Float[Array, ""]
    sling_length: Float[Array, ""]
    projectile_radius: Float[Array, ""]
    arm_mass: Float[Array, ""]
    projectile_mass: Float[Array, ""]
    arm_inertia: Float[Array, ""]
    weight_inertia: Float[Array, ""]
    air_density: Float[Array, ""]
    drag_coefficient: Float[Array, ""]
    gravity: Float[Array, ""]
    trebuchet_jl_inertias: bool = eqx.field(static=True)
    settings: SolverSettings
    default_mode: ClassVar[str] = "forward_sensitivities"

    def __init__(
        self,
        *,
        pivot_height: ArrayLike = 5.0 * FOOT,
        long_arm: ArrayLike = 6.792 * FOOT,
        short_arm: ArrayLike = 1.75 * FOOT,
        weight_arm: ArrayLike = 2.0 * FOOT,
        sling_length: ArrayLike = 6.833 * FOOT,
        projectile_radius: ArrayLike = 0.1245 * FOOT,
        arm_mass: ArrayLike = 10.65 * POUND,
        projectile_mass: ArrayLike = 0.328 * POUND,
        arm_inertia: ArrayLike | None = None,
        weight_inertia: ArrayLike = 1.0 * POUND * FOOT**2,
        air_density: ArrayLike = 1.0,
        drag_coefficient: ArrayLike = 1.0,
        gravity: ArrayLike = 9.80665,
        trebuchet_jl_inertias: bool = False,
        settings: SolverSettings = SolverSettings(),
    ):
        def positive(name, value):
            return _constants.positive("Trebuchet", name, value)

        def nonnegative(name, value):
            return _constants.nonnegative("Trebuchet", name, value)

        self.pivot_height = positive("pivot_height", pivot_height)
        long_arm = positive("long_arm", long_arm)
        self.long_arm = ds.check(long_arm, long_arm > self.pivot_height, "Trebuchet: `long_arm` must be longer than `pivot_height`")
        self.short_arm = positive("short_arm", short_arm)
        self.weight_arm = positive("weight_arm", weight_arm)
        self.sling_length = positive("sling_length", sling_length)
        self.projectile_radius = positive("projectile_radius", projectile_radius)
        self.arm_mass = positive("arm_mass", arm_mass)
        self.projectile_mass = positive("projectile_mass", projectile_mass)
        if arm_inertia is None:
            arm_inertia = self.arm_mass * (self.long_arm + self.short_arm) ** 2 / 12
        self.arm_inertia = positive("arm_inertia", arm_inertia)
        self.weight_inertia = positive("weight_inertia", weight_inertia)
        self.air_density = nonnegative("air_density", air_density)
        self.drag_coefficient = nonnegative("drag_coefficient", drag_coefficient)
        self.gravity = positive("gravity", gravity)
        self.trebuchet_jl_inertias = trebuchet_jl_inertias
        self.settings = settings

    @classmethod
    def from_trebuchet_jl(cls, **overrides) -> "Trebuchet":
        """Trebuchet.jl's preset: its constants, and its binding of the two inertias."""
        return cls(trebuchet_jl_inertias=True, **overrides)

    @property
    def arm_centre(self) -> Float[Array, ""]:
        """Distance from the pivot to the arm's centre of mass (m)."""
        return (self.long_arm - self.short_arm) / 2

    def constants(self) -> Constants:
        """The constants in the equations' notation, the inertias bound as `trebuchet_jl_inertias` says."""
        i_a, i_w = self.arm_inertia, self.weight_inertia
        if self.trebuchet_jl_inertias:
            # Trebuchet.jl passes the weight's inertia where the arm's belongs and vice versa.
            i_a, i_w = i_w, i_a
        drag = self.air_density * self.drag_coefficient * jnp.pi * self.projectile_radius**2 / (2 * self.projectile_mass)
        return Constants(
            self.pivot_height, self.long_arm, self.short_arm, self.weight_arm, self.sling_length, self.gravity,
            self.arm_mass, self.projectile_mass, i_a, i_w, self.arm_centre, drag,
        )

    # --- the simulator vocabulary ---------------------------------------------------------

    def initial_state(self, inputs: ShotSettings | None = None) -> Float[Array, "6"]:
        """The arm at rest with its long end down, the projectile on the ground (`TrebuchetState` as a 6-vector)."""
        theta0 = jnp.arcsin(self.pivot_height / self.long_arm)
        arm = jnp.pi / 2 + theta0
        zero = jnp.zeros_like(arm)
        return TrebuchetState(arm, -arm, jnp.pi - theta0, zero, zero, zero).vector()

    def phases(self) -> tuple[Phase, Phase, Phase]:
        return phases(self.constants())

    def observation(self, trajectory: Trajectory, inputs: ShotSettings) -> Float[Array, ""]:
        """The landing distance (m, from the pivot)."""
        return trajectory.event_states[2, 0]

    # --- the state ----------------------------------------------------------------------

    def projectile_position(self, s: TrebuchetState) -> Float[Array, "2"]:
        """(x, y) of the projectile in the sling (m, from the pivot)."""
        return _motion.projectile_position(self.constants(), s)

    def projectile_velocity(self, s: TrebuchetState) -> Float[Array, "2"]:
        """(vx, vy) of the projectile in the sling (m/s)."""
        return _motion.projectile_velocity(self.constants(), s)

    def energy(self, s: TrebuchetState, counterweight_mass: ArrayLike) -> Float[Array, ""]:
        """Kinetic + potential energy (J) of arm, counterweight and projectile on the arm."""
        return _motion.energy(self.constants(), s, counterweight_mass)

    # --- the shot -----------------------------------------------------------------------

    def shoot(
        self,
        counterweight_mass: Float[ArrayLike, ""],
        release_angle: Float[ArrayLike, ""],
        wind: Float[ArrayLike, ""] = 0.0,
        *,
        throw: bool = True,
    ) -> Float[Array, ""]:
        """Landing distance (m, from the pivot) for a counterweight (kg), release angle (rad,
        direction of the projectile's velocity above the horizontal) and wind (m/s, + = tailwind).

        A shot that cannot be made (counterweight too light, release never reached, solver out
        of steps) raises an error with its cause (`TrebuchetFailure`); with `throw=False` it
        returns NaN instead, so that e.g. a sampler can reject it. Derivatives: `SolverSettings.mode`.
        """
        return observe(self, ShotSettings(counterweight_mass, release_angle, wind), throw=throw)

    def simulate(
        self,
        counterweight_mass: Float[ArrayLike, ""],
        release_angle: Float[ArrayLike, ""],
        wind: Float[ArrayLike, ""] = 0.0,
        *,
        num_points: int = 200,
        throw: bool = True,
    ) -> Shot:
        """The whole shot: event times, release speed and direction, sampled trajectories."""
        trajectory = simulate(self, ShotSettings(counterweight_mass, release_angle, wind), dense=True)
        scale = failure_scale(trajectory.failure, self.failure_messages() if throw else None)
        return shot_of(self.constants(), trajectory, scale, num_points)
