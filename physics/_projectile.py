"""A point projectile with quadratic drag relative to the wind, launched from a height."""

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

import difsci as ds

from ._simulator import AbstractSimulator, Phase, Trajectory, observe
from ._solve import SolverSettings
from ._constants import checked_constant


class Launch(eqx.Module):
    """A shot: `speed` (m/s, > 0), `angle` (rad above the horizontal, in (0, pi/2)), `wind`
    (m/s, + = tailwind), `height` (m above the ground, >= 0)."""

    speed: Float[Array, ""]
    angle: Float[Array, ""]
    wind: Float[Array, ""]
    height: Float[Array, ""]

    def __init__(self, speed: ArrayLike, angle: ArrayLike, wind: ArrayLike = 0.0, height: ArrayLike = 0.0):
        speed, angle, wind, height = (ds.as_real(f"Projectile {n}", x, ndim=0, dtype=float) for n, x in
                                      (("speed", speed), ("angle", angle), ("wind", wind), ("height", height)))
        self.speed = ds.check(speed, jnp.isfinite(speed) & (speed > 0), "Projectile: `speed` (m/s) must be > 0 and finite")
        self.angle = ds.check(angle, (angle > 0) & (angle < jnp.pi / 2), "Projectile: `angle` (rad) must lie in (0, pi/2)")
        self.wind = ds.check(wind, jnp.isfinite(wind), "Projectile: `wind` (m/s) must be finite")
        self.height = ds.check(height, jnp.isfinite(height) & (height >= 0), "Projectile: `height` (m) must be >= 0 and finite")


class Projectile(AbstractSimulator):
    """A sphere of `mass` (kg) and `radius` (m) with drag coefficient `drag_coefficient` in air of
    `air_density` (kg/m^3) under `gravity` (m/s^2). Zero air density gives the vacuum parabola.

    As a simulator its inputs are a `Launch`, its state (x, y, vx, vy) (m, m/s), its event the
    landing and its observation the range; `mode="auto"` means `forward_sensitivities`.
    """

    mass: Float[Array, ""]
    radius: Float[Array, ""]
    drag_coefficient: Float[Array, ""]
    air_density: Float[Array, ""]
    gravity: Float[Array, ""]
    settings: SolverSettings
    default_mode: ClassVar[str] = "forward_sensitivities"

    def __init__(self, mass=0.1488, radius=0.03795, drag_coefficient=1.0, air_density=1.0, gravity=9.80665, settings=SolverSettings()):
        def checked(name, value, ok, rule):
            return checked_constant("Projectile", name, value, ok, rule)

        self.mass = checked("mass", mass, lambda v: v > 0, "(kg) must be > 0 and finite")
        self.radius = checked("radius", radius, lambda v: v > 0, "(m) must be > 0 and finite")
        self.drag_coefficient = checked("drag_coefficient", drag_coefficient, lambda v: v >= 0, "must be >= 0 and finite")
        self.air_density = checked("air_density", air_density, lambda v: v >= 0, "must be >= 0 and finite")
        self.gravity = checked("gravity", gravity, lambda v: v > 0, "must be > 0 and finite")
        self.settings = settings

    def initial_state(self, inputs: Launch) -> Float[Array, "4"]:
        u = inputs
        return jnp.stack([jnp.zeros_like(u.speed), u.height, u.speed * jnp.cos(u.angle), u.speed * jnp.sin(u.angle)])

    def vector_field(self, t, y, inputs: Launch) -> Float[Array, "4"]:
        k = self.air_density * self.drag_coefficient * jnp.pi * self.radius**2 / (2 * self.mass)
        speed = jnp.sqrt(y[3] ** 2 + (inputs.wind - y[2]) ** 2)
        return jnp.stack([y[2], y[3], -k * (y[2] - inputs.wind) * speed, -self.gravity - k * y[3] * speed])

    def phases(self) -> tuple[Phase]:
        # Only a downward crossing of the ground ends the flight, so a launch from it does not.
        landing = lambda t, y, inputs: y[1]  # noqa: E731
        return (Phase(self.vector_field, landing, direction=False, never_ends="the shot never came down (or ran out of solver steps)"),)

    def observation(self, trajectory: Trajectory, inputs: Launch) -> Float[Array, ""]:
        """The range (m)."""
        return trajectory.event_states[0, 0]

    def range(
        self,
        speed: Float[ArrayLike, ""],
        angle: Float[ArrayLike, ""],
        wind: Float[ArrayLike, ""] = 0.0,
        height: Float[ArrayLike, ""] = 0.0,
        *,
        throw: bool = True,
    ) -> Float[Array, ""]:
        """Horizontal distance (m) where a shot at `speed` (m/s) and `angle` (rad above the
        horizontal) from `height` (m) comes down to the ground, in `wind` (m/s, + = tailwind)."""
        return observe(self, Launch(speed, angle, wind, height), throw=throw)
