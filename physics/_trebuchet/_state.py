"""The trebuchet's state, the settings of a shot, its constants in the equations' notation, and units."""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

import difsci as ds

FOOT = 0.3048  # m
POUND = 0.45359237  # kg


def pounds(mass_lb: ArrayLike) -> Array:
    """Pounds to kilograms."""
    return jnp.asarray(mass_lb) * POUND


def degrees(angle_deg: ArrayLike) -> Array:
    """Degrees to radians."""
    return jnp.deg2rad(jnp.asarray(angle_deg))


class TrebuchetState(eqx.Module):
    """Angles (rad) and rates (rad/s): arm, weight (relative to arm), sling (relative to arm)."""

    arm: Float[Array, ""]
    weight: Float[Array, ""]
    sling: Float[Array, ""]
    arm_rate: Float[Array, ""]
    weight_rate: Float[Array, ""]
    sling_rate: Float[Array, ""]

    @classmethod
    def of_vector(cls, y: Float[Array, "6"]) -> "TrebuchetState":
        return cls(*(y[i] for i in range(6)))

    def vector(self) -> Float[Array, "6"]:
        return jnp.stack([self.arm, self.weight, self.sling, self.arm_rate, self.weight_rate, self.sling_rate])


class ShotSettings(eqx.Module):
    """What the operator chooses for one shot, checked on construction.

    **Fields:** `counterweight_mass` (kg, > 0), `release_angle` (rad, direction of the
    projectile's velocity above the horizontal at release, in (-pi/2, pi/2)), `wind` (m/s,
    + = tailwind).
    """

    counterweight_mass: Float[Array, ""]
    release_angle: Float[Array, ""]
    wind: Float[Array, ""]

    def __init__(self, counterweight_mass: ArrayLike, release_angle: ArrayLike, wind: ArrayLike = 0.0):
        m_w, r, w = (ds.as_real(f"Trebuchet {n}", x, ndim=0, dtype=float) for n, x in
                     (("counterweight_mass", counterweight_mass), ("release_angle", release_angle), ("wind", wind)))
        self.counterweight_mass = ds.check(
            m_w, jnp.isfinite(m_w) & (m_w > 0), "Trebuchet: `counterweight_mass` (kg) must be > 0 and finite"
        )
        self.release_angle = ds.check(r, jnp.abs(r) < jnp.pi / 2, "Trebuchet: `release_angle` (rad) must lie in (-pi/2, pi/2)")
        self.wind = ds.check(w, jnp.isfinite(w), "Trebuchet: `wind` (m/s) must be finite")


class Constants(eqx.Module):
    """The constants in the notation of ../shared/TREBUCHET.md, with the inertias already bound.

    `a` pivot height, `b` long arm, `c` short arm, `d` weight arm, `e` sling (m); `g` (m/s^2);
    `m_a`, `m_p` arm and projectile masses (kg); `i_a`, `i_w` inertias (kg m^2); `l_cg` pivot to
    the arm's centre of mass (m); `drag` = rho C_d pi r^2 / (2 m_p) (1/m).
    """

    a: Float[Array, ""]
    b: Float[Array, ""]
    c: Float[Array, ""]
    d: Float[Array, ""]
    e: Float[Array, ""]
    g: Float[Array, ""]
    m_a: Float[Array, ""]
    m_p: Float[Array, ""]
    i_a: Float[Array, ""]
    i_w: Float[Array, ""]
    l_cg: Float[Array, ""]
    drag: Float[Array, ""]
