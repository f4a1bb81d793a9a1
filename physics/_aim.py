"""Inverse problems: find the settings that land the trebuchet on a target.

The unknown settings are mapped from unconstrained coordinates into their bounds with a
sigmoid, and the miss (distance - target) is driven to zero by Levenberg-Marquardt
(optimistix), with Jacobians by reverse mode through the simulator. It vmaps over targets.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array, ArrayLike, Bool, Float

import difsci as ds

from ._trebuchet import POUND, Trebuchet


class AimResult(eqx.Module):
    """Settings that aim a trebuchet, and how well they do.

    **Fields:** `counterweight_mass` (kg), `release_angle` (rad), `wind` (m/s), `distance`
    (m, where the shot lands), `target` (m), `miss` (|distance - target|, m), `reachable`
    (miss <= tolerance), `steps` (solver iterations).
    """

    counterweight_mass: Float[Array, "*b"]
    release_angle: Float[Array, "*b"]
    wind: Float[Array, "*b"]
    distance: Float[Array, "*b"]
    target: Float[Array, "*b"]
    miss: Float[Array, "*b"]
    reachable: Bool[Array, "*b"]
    steps: Array


DEFAULT_MASS_BOUNDS = (50 * POUND, 500 * POUND)
DEFAULT_ANGLE_BOUNDS = (0.1, 1.45)


def _into(u, low, high):
    return low + (high - low) * jax.nn.sigmoid(u)


def _out_of(x, low, high):
    z = (x - low) / (high - low)
    return jnp.log(z) - jnp.log1p(-z)


def aim(
    trebuchet: Trebuchet,
    target: Float[ArrayLike, ""],
    wind: Float[ArrayLike, ""] = 0.0,
    *,
    counterweight_mass: Float[ArrayLike, ""] | None = None,
    release_angle: Float[ArrayLike, ""] | None = None,
    mass_bounds: tuple[float, float] = DEFAULT_MASS_BOUNDS,
    angle_bounds: tuple[float, float] = DEFAULT_ANGLE_BOUNDS,
    tolerance: float = 0.01,
    max_steps: int = 64,
    throw: bool = False,
) -> AimResult:
    """Find a counterweight (kg) and/or release angle (rad) that land on `target` (m) in `wind` (m/s).

    Give `counterweight_mass` or `release_angle` to hold that one fixed; by default both are
    adjusted, starting from the middle of their bounds. `reachable` is False when no setting
    within the bounds lands within `tolerance` metres; with `throw=True` that is an error
    naming the closest distance reached. Works under `jit` and `vmap` (many targets at once).
    """
    if not isinstance(trebuchet, Trebuchet):
        raise TypeError(f"aim: `trebuchet` must be a physics.Trebuchet, got {type(trebuchet).__name__}")
    if not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 1:
        raise ValueError(f"aim: `max_steps` must be an integer >= 1, got {max_steps!r}")
    for name, bounds in [("mass_bounds", mass_bounds), ("angle_bounds", angle_bounds)]:
        if not (isinstance(bounds, (tuple, list)) and len(bounds) == 2
                and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)):
            raise ValueError(f"aim: `{name}` must be a pair of numbers (low, high), got {bounds!r}")
    if not isinstance(tolerance, (int, float)) or isinstance(tolerance, bool):
        raise ValueError(f"aim: `tolerance` (m) must be a number, got {tolerance!r}")
    if counterweight_mass is not None and release_angle is not None:
        raise ValueError("aim: nothing to adjust; leave `counterweight_mass` or `release_angle` as None")
    for name, (lo, hi) in [("mass_bounds", mass_bounds), ("angle_bounds", angle_bounds)]:
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"aim: `{name}` must be finite (low, high) with low < high, got {(lo, hi)}")
    if not -math.pi / 2 < angle_bounds[0] < angle_bounds[1] < math.pi / 2:
        raise ValueError(f"aim: `angle_bounds` (rad) must lie in (-pi/2, pi/2), got {tuple(angle_bounds)}")
    if not mass_bounds[0] > 0:
        raise ValueError(f"aim: `mass_bounds` (kg) must be positive, got {tuple(mass_bounds)}")
    if not (math.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"aim: `tolerance` (m) must be > 0 and finite, got {tolerance}")
    target = ds.as_real("aim target", target, ndim=0, dtype=float)
    target = ds.check(target, jnp.isfinite(target) & (target > 0), "aim: `target` (m) must be > 0 and finite")
    wind = ds.as_real("aim wind", wind, ndim=0, dtype=float)
    wind = ds.check(wind, jnp.isfinite(wind), "aim: `wind` (m/s) must be finite")

    def settings(u):
        m = _into(u[0], *mass_bounds) if counterweight_mass is None else jnp.asarray(counterweight_mass, float)
        i = 1 if counterweight_mass is None else 0
        r = _into(u[i], *angle_bounds) if release_angle is None else jnp.asarray(release_angle, float)
        return m, r

    def residual(u, args):
        m, r = settings(u)
        return jnp.reshape((trebuchet.shoot(m, r, wind, throw=False) - target) / target, (1,))

    size = (counterweight_mass is None) + (release_angle is None)
    u0 = jnp.zeros(size)
    solver = optx.LevenbergMarquardt(rtol=1e-10, atol=1e-3 * tolerance / 100.0)
    sol = optx.least_squares(residual, solver, u0, max_steps=max_steps, throw=False, options={"jac": "bwd"})
    m, r = settings(sol.value)
    distance = trebuchet.shoot(m, r, wind, throw=False)
    miss = jnp.abs(distance - target)
    reachable = jnp.isfinite(miss) & (miss <= tolerance)
    result = AimResult(m, r, wind, distance, target, miss, reachable, sol.stats["num_steps"])
    if throw:
        result = eqx.error_if(
            result, ~reachable, "aim: the target is unreachable within the bounds (the closest shot misses by more than `tolerance`); widen `mass_bounds`/`angle_bounds` or move the target"
        )
    return result
