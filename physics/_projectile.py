"""A point projectile with quadratic drag relative to the wind, launched from a height."""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

import difsci as ds

from ._solve import SolverSettings, raise_on_failure, solve_phase


class Projectile(eqx.Module):
    """A sphere of `mass` (kg) and `radius` (m) with drag coefficient `drag_coefficient` in air of
    `air_density` (kg/m^3) under `gravity` (m/s^2). Zero air density gives the vacuum parabola."""

    mass: Float[Array, ""]
    radius: Float[Array, ""]
    drag_coefficient: Float[Array, ""]
    air_density: Float[Array, ""]
    gravity: Float[Array, ""]
    settings: SolverSettings

    def __init__(self, mass=0.1488, radius=0.03795, drag_coefficient=1.0, air_density=1.0, gravity=9.80665, settings=SolverSettings()):
        self.mass = ds.check(jnp.asarray(mass, float), jnp.asarray(mass) > 0, "Projectile: `mass` (kg) must be > 0")
        self.radius = ds.check(jnp.asarray(radius, float), jnp.asarray(radius) > 0, "Projectile: `radius` (m) must be > 0")
        self.drag_coefficient = ds.check(jnp.asarray(drag_coefficient, float), jnp.asarray(drag_coefficient) >= 0, "Projectile: `drag_coefficient` must be >= 0")
        self.air_density = ds.check(jnp.asarray(air_density, float), jnp.asarray(air_density) >= 0, "Projectile: `air_density` must be >= 0")
        self.gravity = ds.check(jnp.asarray(gravity, float), jnp.asarray(gravity) > 0, "Projectile: `gravity` must be > 0")
        self.settings = settings

    def _field(self, t, y, wind):
        k = self.air_density * self.drag_coefficient * jnp.pi * self.radius**2 / (2 * self.mass)
        speed = jnp.sqrt(y[3] ** 2 + (wind - y[2]) ** 2)
        return jnp.stack([y[2], y[3], -k * (y[2] - wind) * speed, -self.gravity - k * y[3] * speed])

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
        speed = ds.check(jnp.asarray(speed, float), jnp.asarray(speed) > 0, "Projectile: `speed` (m/s) must be > 0")
        angle = ds.check(jnp.asarray(angle, float), (jnp.asarray(angle) > 0) & (jnp.asarray(angle) < jnp.pi / 2), "Projectile: `angle` (rad) must lie in (0, pi/2)")
        height = ds.check(jnp.asarray(height, float), jnp.asarray(height) >= 0, "Projectile: `height` (m) must be >= 0")
        y0 = jnp.stack([jnp.zeros_like(speed), height, speed * jnp.cos(angle), speed * jnp.sin(angle)])
        # Only a downward crossing of the ground ends the flight, so a launch from it does not.
        phase = solve_phase(self._field, y0, 0.0, 1e4, jnp.asarray(wind, float), lambda t, y, w: y[1], settings=self.settings, direction=False)
        distance = phase.y_end[0]
        failure = jnp.where(phase.ok, 0, 1)
        if throw:
            return raise_on_failure(distance, failure, ("Projectile: the shot never came down (or ran out of solver steps)",))
        return jnp.where(phase.ok, distance, jnp.nan)
