"""The trebuchet's equations of motion: on the ground, in the sling, in flight, and its energy.

Equations: ../shared/TREBUCHET.md (those of virtualtrebuchet.com as used by Trebuchet.jl).
Every function takes the bound `Constants` and a counterweight mass `m_w` (kg).
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._sincos import sincos
from ._state import Constants, TrebuchetState


class _Trig(eqx.Module):
    """Sines and cosines of the angles the equations of motion use, each computed once.

    Three `sincos` calls and the angle-sum identities give all nine values. A vmapped ground
    phase field went from 36 libm calls per state (XLA copied each `sin` into every fused
    consumer) to this, 3x faster.
    """

    sin_a: Array
    cos_a: Array
    sin_w: Array
    cos_w: Array
    sin_s: Array
    cos_s: Array
    sin_as: Array
    cos_as: Array
    sin_aw: Array

    @classmethod
    def of(cls, s: TrebuchetState) -> "_Trig":
        (sa, sw, ss), (ca, cw, cs) = sincos(jnp.stack([s.arm, s.weight, s.sling]))
        return cls(sa, ca, sw, cw, ss, cs, sa * cs + ca * ss, ca * cs - sa * ss, sa * cw + ca * sw)


def projectile_position(k: Constants, s: TrebuchetState) -> Float[Array, "2"]:
    """(x, y) of the projectile in the sling (m, from the pivot)."""
    (sin_a, sin_as), (cos_a, cos_as) = sincos(jnp.stack([s.arm, s.arm + s.sling]))
    return jnp.stack([-k.b * sin_a - k.e * sin_as, k.b * cos_a + k.e * cos_as])


def projectile_velocity(k: Constants, s: TrebuchetState) -> Float[Array, "2"]:
    """(vx, vy) of the projectile in the sling (m/s)."""
    total = s.sling_rate + s.arm_rate
    (sin_a, sin_as), (cos_a, cos_as) = sincos(jnp.stack([s.arm, s.arm + s.sling]))
    return jnp.stack([-k.e * total * cos_as - k.b * s.arm_rate * cos_a, -k.e * total * sin_as - k.b * s.arm_rate * sin_a])


def ground_accelerations(k: Constants, s: TrebuchetState, m_w) -> tuple[Array, Array, Array]:
    """Phase 1: (dAw, dWw, dSw) with the projectile constrained to the ground."""
    b, c, d, e, g, m_a, m_p, i_a, i_w, l_cg = k.b, k.c, k.d, k.e, k.g, k.m_a, k.m_p, k.i_a, k.i_w, k.l_cg
    aw, ww, sw = s.arm_rate, s.weight_rate, s.sling_rate
    t = _Trig.of(s)
    s_as = t.sin_as
    m11 = (
        -m_p * b**2 * (-1 + 2 * t.sin_a * t.cos_s / s_as)
        + i_a + i_w + m_a * l_cg**2
        + m_p * b**2 * t.sin_a**2 / s_as**2
        + m_w * (c**2 + d**2 + 2 * c * d * t.cos_w)
    )
    m12 = i_w + d * m_w * (d + c * t.cos_w)
    m22 = i_w + m_w * d**2
    kk = t.cos_as * sw * (sw + 2 * aw) / s_as + (t.cos_as / s_as + b * t.cos_a / (e * s_as)) * aw**2
    r1 = (
        g * l_cg * m_a * t.sin_a
        + b * e * m_p * (t.sin_s * (aw + sw) ** 2 + t.cos_s * kk)
        + b * m_p * t.sin_a * (b * t.sin_s * aw**2 - e * kk) / s_as
        - g * m_w * (c * t.sin_a + d * t.sin_aw)
        - c * d * m_w * t.sin_w * (aw**2 - (aw + ww) ** 2)
    )
    r2 = -d * m_w * (g * t.sin_aw + c * t.sin_w * aw**2)
    det = m11 * m22 - m12**2
    daw = (m22 * r1 - m12 * r2) / det
    dww = (m11 * r2 - m12 * r1) / det
    dsw = -kk - (b * t.sin_a + e * s_as) * daw / (e * s_as)
    return daw, dww, dsw


def swing_accelerations(k: Constants, s: TrebuchetState, m_w) -> Float[Array, "3"]:
    """Phase 2: (dAw, dWw, dSw) with the projectile swinging freely in the sling."""
    b, c, d, e, g, m_a, m_p, i_a, i_w, l_cg = k.b, k.c, k.d, k.e, k.g, k.m_a, k.m_p, k.i_a, k.i_w, k.l_cg
    aw, ww, sw = s.arm_rate, s.weight_rate, s.sling_rate
    t = _Trig.of(s)
    m11 = i_a + i_w + m_a * l_cg**2 + m_p * (b**2 + e**2 + 2 * b * e * t.cos_s) + m_w * (c**2 + d**2 + 2 * c * d * t.cos_w)
    m12 = i_w + d * m_w * (d + c * t.cos_w)
    m13 = e * m_p * (e + b * t.cos_s)
    m22 = i_w + m_w * d**2
    m33 = m_p * e**2
    r1 = (
        g * l_cg * m_a * t.sin_a
        + g * m_p * (b * t.sin_a + e * t.sin_as)
        - g * m_w * (c * t.sin_a + d * t.sin_aw)
        - b * e * m_p * t.sin_s * (aw**2 - (aw + sw) ** 2)
        - c * d * m_w * t.sin_w * (aw**2 - (aw + ww) ** 2)
    )
    r2 = -d * m_w * (g * t.sin_aw + c * t.sin_w * aw**2)
    r3 = e * m_p * (g * t.sin_as - b * t.sin_s * aw**2)
    # The mass matrix has M23 = M32 = 0: eliminate the weight and sling rows into the arm's.
    daw = (r1 - m12 * r2 / m22 - m13 * r3 / m33) / (m11 - m12**2 / m22 - m13**2 / m33)
    return jnp.stack([daw, (r2 - m12 * daw) / m22, (r3 - m13 * daw) / m33])


def ground_field(k: Constants, s: TrebuchetState, m_w) -> TrebuchetState:
    daw, dww, dsw = ground_accelerations(k, s, m_w)
    return TrebuchetState(s.arm_rate, s.weight_rate, s.sling_rate, daw, dww, dsw)


def swing_field(k: Constants, s: TrebuchetState, m_w) -> TrebuchetState:
    daw, dww, dsw = swing_accelerations(k, s, m_w)
    return TrebuchetState(s.arm_rate, s.weight_rate, s.sling_rate, daw, dww, dsw)


def normal_force(k: Constants, s: TrebuchetState, m_w) -> tuple[Array, Array]:
    """(T_n, lift-off function m_P g - T_n cos(theta_s)) in phase 1."""
    daw, _, dsw = ground_accelerations(k, s, m_w)
    t = _Trig.of(s)
    aw, sw = s.arm_rate, s.sling_rate
    total = aw + sw
    a_x = k.b * aw**2 * t.sin_a - k.b * daw * t.cos_a + k.e * total**2 * t.sin_as - k.e * (daw + dsw) * t.cos_as
    # The sling's angle to the ground is theta_s = arm + sling - pi: sin, cos = -sin_as, -cos_as.
    t_n = a_x * k.m_p / t.sin_as
    return t_n, k.m_p * k.g + t_n * t.cos_as


def flight_field(k: Constants, y: Float[Array, "4"], wind) -> Float[Array, "4"]:
    """d(x, y, vx, vy)/dt in flight, with quadratic drag relative to the wind (m/s)."""
    x, h, vx, vy = y
    speed = jnp.sqrt(vy**2 + (wind - vx) ** 2)
    return jnp.stack([vx, vy, -k.drag * (vx - wind) * speed, -k.g - k.drag * vy * speed])


def energy(k: Constants, s: TrebuchetState, m_w) -> Float[Array, ""]:
    """Kinetic + potential energy (J) of arm, counterweight and projectile on the arm."""
    b, c, d, e, g, m_a, m_p, i_a, i_w, l_cg = k.b, k.c, k.d, k.e, k.g, k.m_a, k.m_p, k.i_a, k.i_w, k.l_cg
    aq, wq, sq = s.arm, s.weight, s.sling
    C = jnp.cos
    m11 = i_a + i_w + m_a * l_cg**2 + m_p * (b**2 + e**2 + 2 * b * e * C(sq)) + m_w * (c**2 + d**2 + 2 * c * d * C(wq))
    m12 = i_w + d * m_w * (d + c * C(wq))
    m13 = e * m_p * (e + b * C(sq))
    m22 = i_w + m_w * d**2
    m33 = m_p * e**2
    w = jnp.stack([s.arm_rate, s.weight_rate, s.sling_rate])
    mass = jnp.array([[m11, m12, m13], [m12, m22, 0.0 * m12], [m13, 0.0 * m13, m33]])
    kinetic = 0.5 * w @ mass @ w
    potential = g * (m_a * l_cg * C(aq) - m_w * (c * C(aq) + d * C(aq + wq)) + m_p * (b * C(aq) + e * C(aq + sq)))
    return kinetic + potential
