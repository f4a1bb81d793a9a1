"""The counterweight trebuchet with a sling (the model of Trebuchet.jl / virtualtrebuchet.com).

Three phases, each solved by diffrax and ended by a root-found event: the projectile slides
along the ground until the sling lifts it, swings in the sling until its velocity points at
the release angle, then flies with quadratic drag relative to the wind until it lands.
Equations: see ../shared/TREBUCHET.md (the equations of virtualtrebuchet.com as used by
Trebuchet.jl). Units are SI throughout; angles in radians.
"""


import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, ArrayLike

import difsci as ds

from ._sincos import sincos
from ._solve import SolverSettings, raise_on_failure, solve_phases

FOOT = 0.3048  # m
POUND = 0.45359237  # kg

FAILURES = (
    "Trebuchet: the counterweight is too light to lift the projectile (the sling would have to "
    "push it: normal force < 0 at the first instant); use a heavier `counterweight_mass`",
    "Trebuchet: the projectile never lifted off the ground; check the geometry and the counterweight",
    "Trebuchet: the release angle was never reached while the projectile swung in the sling; "
    "choose a `release_angle` the sling actually passes through (typically 0 to pi/2)",
    "Trebuchet: the projectile never landed (or the flight solve ran out of steps); check the wind "
    "and the settings, or raise SolverSettings.max_steps",
)


class TrebuchetState(eqx.Module):
    """Angles (rad) and rates (rad/s): arm, weight (relative to arm), sling (relative to arm)."""

    arm: Float[Array, ""]
    weight: Float[Array, ""]
    sling: Float[Array, ""]
    arm_rate: Float[Array, ""]
    weight_rate: Float[Array, ""]
    sling_rate: Float[Array, ""]


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


class Shot(eqx.Module):
    """A whole shot, for plotting and analysis (see `Trebuchet.simulate`).

    Times in s, positions in m relative to the pivot (ground at y = -pivot_height).
    `arm_times`/`arm_states` sample the ground and sling phases; `flight_times`/`flight`
    sample the flight as rows (x, y, vx, vy).
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
    failure: Array


class Trebuchet(eqx.Module):
    """A hinged-counterweight trebuchet with a sling; every constant is differentiable.

    **Fields** (SI units): `pivot_height` a (m), `long_arm` b (m), `short_arm` c (m),
    `weight_arm` d (hinge to counterweight centre, m), `sling_length` e (m),
    `projectile_radius` (m), `arm_mass`, `projectile_mass` (kg), `arm_inertia`,
    `weight_inertia` (kg m^2), `air_density` (kg/m^3), `drag_coefficient`, `gravity` (m/s^2),
    and `trebuchet_jl_inertias` (static): bind the two inertias the way Trebuchet.jl does.

    `Trebuchet()` uses Trebuchet.jl's constants with the inertias bound correctly;
    `Trebuchet.from_trebuchet_jl()` reproduces Trebuchet.jl's numbers.
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
            return ds.check(value, jnp.isfinite(value) & (jnp.asarray(value) > 0), f"Trebuchet: `{name}` must be > 0 and finite")

        self.pivot_height = positive("pivot_height", jnp.asarray(pivot_height, float))
        self.long_arm = positive("long_arm", jnp.asarray(long_arm, float))
        self.long_arm = ds.check(
            self.long_arm, self.long_arm > self.pivot_height, "Trebuchet: `long_arm` must be longer than `pivot_height`"
        )
        self.short_arm = positive("short_arm", jnp.asarray(short_arm, float))
        self.weight_arm = positive("weight_arm", jnp.asarray(weight_arm, float))
        self.sling_length = positive("sling_length", jnp.asarray(sling_length, float))
        self.projectile_radius = positive("projectile_radius", jnp.asarray(projectile_radius, float))
        self.arm_mass = positive("arm_mass", jnp.asarray(arm_mass, float))
        self.projectile_mass = positive("projectile_mass", jnp.asarray(projectile_mass, float))
        if arm_inertia is None:
            arm_inertia = self.arm_mass * (self.long_arm + self.short_arm) ** 2 / 12
        self.arm_inertia = positive("arm_inertia", jnp.asarray(arm_inertia, float))
        self.weight_inertia = positive("weight_inertia", jnp.asarray(weight_inertia, float))
        self.air_density = ds.check(jnp.asarray(air_density, float), jnp.asarray(air_density) >= 0, "Trebuchet: `air_density` must be >= 0")
        self.drag_coefficient = ds.check(jnp.asarray(drag_coefficient, float), jnp.asarray(drag_coefficient) >= 0, "Trebuchet: `drag_coefficient` must be >= 0")
        self.gravity = positive("gravity", jnp.asarray(gravity, float))
        self.trebuchet_jl_inertias = trebuchet_jl_inertias
        self.settings = settings

    @classmethod
    def from_trebuchet_jl(cls, **overrides) -> "Trebuchet":
        """Trebuchet.jl's preset: its constants, and its binding of the two inertias."""
        return cls(trebuchet_jl_inertias=True, **overrides)

    # --- equations of motion -----------------------------------------------------------

    def _inertias(self):
        # Trebuchet.jl passes the weight's inertia where the arm's belongs and vice versa.
        if self.trebuchet_jl_inertias:
            return self.weight_inertia, self.arm_inertia
        return self.arm_inertia, self.weight_inertia

    def _constants(self):
        """(b, c, d, e, g, m_A, m_P, I_A, I_W, L_cg) in the notation of the equations."""
        i_a, i_w = self._inertias()
        return (
            self.long_arm, self.short_arm, self.weight_arm, self.sling_length, self.gravity,
            self.arm_mass, self.projectile_mass, i_a, i_w, self.arm_centre,
        )

    @property
    def arm_centre(self) -> Float[Array, ""]:
        """Distance from the pivot to the arm's centre of mass (m)."""
        return (self.long_arm - self.short_arm) / 2

    def initial_state(self) -> TrebuchetState:
        theta0 = jnp.arcsin(self.pivot_height / self.long_arm)
        arm = jnp.pi / 2 + theta0
        zero = jnp.zeros_like(arm)
        return TrebuchetState(arm, -arm, jnp.pi - theta0, zero, zero, zero)

    def projectile_position(self, s: TrebuchetState) -> Float[Array, "2"]:
        b, e = self.long_arm, self.sling_length
        (sin_a, sin_as), (cos_a, cos_as) = sincos(jnp.stack([s.arm, s.arm + s.sling]))
        return jnp.stack([-b * sin_a - e * sin_as, b * cos_a + e * cos_as])

    def projectile_velocity(self, s: TrebuchetState) -> Float[Array, "2"]:
        b, e = self.long_arm, self.sling_length
        total = s.sling_rate + s.arm_rate
        (sin_a, sin_as), (cos_a, cos_as) = sincos(jnp.stack([s.arm, s.arm + s.sling]))
        return jnp.stack([-e * total * cos_as - b * s.arm_rate * cos_a, -e * total * sin_as - b * s.arm_rate * sin_a])

    def _ground_accelerations(self, s: TrebuchetState, m_w):
        """Phase 1: (dAw, dWw, dSw) with the projectile constrained to the ground."""
        b, c, d, e, g, m_a, m_p, i_a, i_w, l_cg = self._constants()
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
        k = t.cos_as * sw * (sw + 2 * aw) / s_as + (t.cos_as / s_as + b * t.cos_a / (e * s_as)) * aw**2
        r1 = (
            g * l_cg * m_a * t.sin_a
            + b * e * m_p * (t.sin_s * (aw + sw) ** 2 + t.cos_s * k)
            + b * m_p * t.sin_a * (b * t.sin_s * aw**2 - e * k) / s_as
            - g * m_w * (c * t.sin_a + d * t.sin_aw)
            - c * d * m_w * t.sin_w * (aw**2 - (aw + ww) ** 2)
        )
        r2 = -d * m_w * (g * t.sin_aw + c * t.sin_w * aw**2)
        det = m11 * m22 - m12**2
        daw = (m22 * r1 - m12 * r2) / det
        dww = (m11 * r2 - m12 * r1) / det
        dsw = -k - (b * t.sin_a + e * s_as) * daw / (e * s_as)
        return daw, dww, dsw

    def _swing_accelerations(self, s: TrebuchetState, m_w):
        """Phase 2: (dAw, dWw, dSw) with the projectile swinging freely in the sling."""
        b, c, d, e, g, m_a, m_p, i_a, i_w, l_cg = self._constants()
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

    def _ground_field(self, t, s: TrebuchetState, m_w):
        daw, dww, dsw = self._ground_accelerations(s, m_w)
        return TrebuchetState(s.arm_rate, s.weight_rate, s.sling_rate, daw, dww, dsw)

    def _swing_field(self, t, s: TrebuchetState, m_w):
        daw, dww, dsw = self._swing_accelerations(s, m_w)
        return TrebuchetState(s.arm_rate, s.weight_rate, s.sling_rate, daw, dww, dsw)

    def _normal_force(self, s: TrebuchetState, m_w):
        """(T_n, lift-off function m_P g - T_n cos(theta_s)) in phase 1."""
        b, e = self.long_arm, self.sling_length
        daw, _, dsw = self._ground_accelerations(s, m_w)
        t = _Trig.of(s)
        aw, sw = s.arm_rate, s.sling_rate
        total = aw + sw
        a_x = b * aw**2 * t.sin_a - b * daw * t.cos_a + e * total**2 * t.sin_as - e * (daw + dsw) * t.cos_as
        # The sling's angle to the ground is theta_s = arm + sling - pi: sin, cos = -sin_as, -cos_as.
        t_n = a_x * self.projectile_mass / t.sin_as
        return t_n, self.projectile_mass * self.gravity + t_n * t.cos_as

    def _flight_field(self, t, y, wind):
        k = self.air_density * self.drag_coefficient * jnp.pi * self.projectile_radius**2 / (2 * self.projectile_mass)
        x, h, vx, vy = y
        speed = jnp.sqrt(vy**2 + (wind - vx) ** 2)
        return jnp.stack([vx, vy, -k * (vx - wind) * speed, -self.gravity - k * vy * speed])

    def energy(self, s: TrebuchetState, counterweight_mass: ArrayLike) -> Float[Array, ""]:
        """Kinetic + potential energy (J) of arm, counterweight and projectile on the arm."""
        b, c, d, e, g, m_a, m_p, i_a, i_w, l_cg = self._constants()
        m_w = counterweight_mass
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

    # --- the shot -----------------------------------------------------------------------

    def _validate_settings(self, counterweight_mass, release_angle, wind):
        m_w = ds.check(
            jnp.asarray(counterweight_mass, float),
            jnp.isfinite(counterweight_mass) & (jnp.asarray(counterweight_mass) > 0),
            "Trebuchet: `counterweight_mass` (kg) must be > 0 and finite",
        )
        r = ds.check(
            jnp.asarray(release_angle, float),
            jnp.abs(jnp.asarray(release_angle)) < jnp.pi / 2,
            "Trebuchet: `release_angle` (rad) must lie in (-pi/2, pi/2)",
        )
        w = ds.check(jnp.asarray(wind, float), jnp.isfinite(wind), "Trebuchet: `wind` (m/s) must be finite")
        return m_w, r, w

    def _state(self, y: Float[Array, "6"]) -> TrebuchetState:
        return TrebuchetState(*y)

    def _phase_fields(self):
        """The three phases on one 6-vector: angles and rates, then (x, y, vx, vy, 0, 0) in flight."""

        def ground(t, y, a):
            s = self._state(y)
            return jnp.stack([s.arm_rate, s.weight_rate, s.sling_rate, *self._ground_accelerations(s, a[0])])

        def swing(t, y, a):
            s = self._state(y)
            return jnp.concatenate([jnp.stack([s.arm_rate, s.weight_rate, s.sling_rate]), self._swing_accelerations(s, a[0])])

        def flight(t, y, a):
            return jnp.concatenate([self._flight_field(t, y[:4], a[2]), jnp.zeros(2)])

        def lift_off(t, y, a):
            return self._normal_force(self._state(y), a[0])[1]

        def release(t, y, a):
            v = self.projectile_velocity(self._state(y))
            sin_r, cos_r = sincos(a[1])
            return (v[1] * cos_r - v[0] * sin_r) / jnp.sqrt(v[0] ** 2 + v[1] ** 2 + 1e-30)

        def landing(t, y, a):
            return y[1] + self.pivot_height

        def keep(t, y, a):
            return y

        def let_go(t, y, a):
            s = self._state(y)
            return jnp.concatenate([self.projectile_position(s), self.projectile_velocity(s), jnp.zeros(2)])

        return (ground, swing, flight), (lift_off, release, landing), (keep, let_go, keep)

    def _run(self, counterweight_mass, release_angle, wind, dense):
        m_w, r, w = self._validate_settings(counterweight_mass, release_angle, wind)
        s0 = self.initial_state()
        t_n0, _ = self._normal_force(s0, m_w)
        fields, events, transitions = self._phase_fields()
        y0 = jnp.stack([s0.arm, s0.weight, s0.sling, s0.arm_rate, s0.weight_rate, s0.sling_rate])
        phases = solve_phases(
            fields, events, transitions, y0, 0.0, (5.0, 5.0, 60.0), (m_w, r, w), settings=self.settings, dense=dense
        )
        # The release condition also vanishes moving the opposite way (angle r + pi): that is no release.
        v = self.projectile_velocity(self._state(phases.y_end[1]))
        forward = v[0] * jnp.cos(r) + v[1] * jnp.sin(r) > 0
        ok = phases.ok & jnp.array([True, True, True]).at[1].set(forward).at[2].set(forward)
        failure = jnp.where(t_n0 < 0, 1, jnp.where(~ok[0], 2, jnp.where(~ok[1], 3, jnp.where(~ok[2], 4, 0))))
        return phases, failure

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
        of steps) raises an error with its cause; with `throw=False` it returns NaN instead,
        so that e.g. a sampler can reject it.
        """
        distance, failure = self._landing(counterweight_mass, release_angle, wind)
        return distance * _failure_scale(failure, throw)

    def _landing(self, counterweight_mass, release_angle, wind) -> tuple[Array, Array]:
        """(distance m, failure code) of a shot.

        A shot has one output and few inputs (three settings, thirteen constants), so its
        derivatives are forward sensitivities: a custom JVP solves the shot once more in
        diffrax's forward mode with one tangent per input being differentiated (symbolic zeros
        tell which), and returns the Jacobian-vector product, which JAX transposes for reverse
        mode. A gradient with respect to the settings costs under 3x the shot instead of the
        12x of diffrax's checkpointed reverse pass (`python benchmarks/trebuchet.py`).
        With `SolverSettings(mode="forward" | "both")` diffrax's own adjoints are used instead.
        """
        if self.settings.mode != "reverse":
            phases, failure = self._run(counterweight_mass, release_angle, wind, dense=False)
            return phases.y_end[2, 0], failure
        params, static = eqx.partition(self, eqx.is_inexact_array)
        dtype = jnp.result_type(float)
        settings = tuple(jnp.asarray(x, dtype) for x in (counterweight_mass, release_angle, wind))

        def solve(params, m_w, r, w, mode=None):
            trebuchet = eqx.combine(params, static)
            if mode is not None:
                s = trebuchet.settings
                trebuchet = eqx.tree_at(lambda t: t.settings, trebuchet,
                                        SolverSettings(s.rtol, s.atol, s.max_steps, None, mode, s.solver))
            phases, failure = trebuchet._run(m_w, r, w, dense=False)
            return phases.y_end[2, 0], failure

        @jax.custom_jvp
        def landing(params, m_w, r, w):
            return solve(params, m_w, r, w)

        def landing_jvp(primals, tangents):
            flat, treedef = jax.tree_util.tree_flatten(primals)
            flat_tangents = treedef.flatten_up_to(tangents)
            active = [i for i, t in enumerate(flat_tangents) if not isinstance(t, jax.custom_derivatives.SymbolicZero)]
            if not active:
                distance, failure = solve(*primals)
                return (distance, failure), (jnp.zeros_like(distance), np.zeros(failure.shape, jax.dtypes.float0))

            def distance_of(values):
                leaves = list(flat)
                for i, v in zip(active, values):
                    leaves[i] = v
                distance, failure = solve(*jax.tree_util.tree_unflatten(treedef, leaves), mode="forward")
                return distance, (distance, failure)

            jacobian, (distance, failure) = jax.jacfwd(distance_of, has_aux=True)([flat[i] for i in active])
            tangent = sum(jnp.sum(j * flat_tangents[i]) for j, i in zip(jacobian, active))
            return (distance, failure), (tangent, np.zeros(failure.shape, jax.dtypes.float0))

        landing.defjvp(landing_jvp, symbolic_zeros=True)
        return landing(params, *settings)

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
        phases, failure = self._run(counterweight_mass, release_angle, wind, dense=True)
        sols = [jax.tree_util.tree_map(lambda x: x[i], phases.solution) for i in range(3)]
        t_lift, t_release, t_land = phases.t_end
        frac = jnp.linspace(0.0, 1.0, num_points)
        t_ground = t_lift * frac
        t_swing = t_lift + (t_release - t_lift) * frac
        arm_times = jnp.concatenate([t_ground, t_swing])
        evaluate = lambda sol, ts: jnp.stack(jax.vmap(sol.evaluate)(ts), axis=1)  # noqa: E731
        ys = jnp.concatenate([evaluate(sols[0], t_ground), evaluate(sols[1], t_swing)])
        states = TrebuchetState(*ys.T)
        flight_times = t_release + (t_land - t_release) * frac
        path = evaluate(sols[2], flight_times)[:, :4]
        v = self.projectile_velocity(self._state(phases.y_end[1]))
        distance = phases.y_end[2, 0] * _failure_scale(failure, throw)
        return Shot(
            distance=distance,
            lift_off_time=t_lift,
            release_time=t_release,
            landing_time=t_land,
            release_speed=jnp.sqrt(v @ v),
            release_direction=jnp.arctan2(v[1], v[0]),
            arm_times=arm_times,
            arm_states=states,
            flight_times=flight_times,
            flight=path,
            ok=failure == 0,
            failure=failure,
        )


def _failure_scale(failure, throw: bool) -> Array:
    """1 for a shot that succeeded, NaN (or, with `throw`, an error) for one that failed.

    A shot's distance is multiplied by it rather than replaced with `jnp.where`: a `where`
    would give a failed shot a zero (finite) derivative, and an error attached to the distance
    itself is dropped under `jax.grad`, which never uses the primal distance. The scale is a
    residual of the product's derivative, so its error is kept and its NaN reaches the gradient.
    """
    scale = jnp.where(failure == 0, 1.0, jnp.nan).astype(jnp.result_type(float))
    if throw:
        scale = raise_on_failure(scale, failure, FAILURES)
    return scale


def pounds(mass_lb: ArrayLike) -> Array:
    """Pounds to kilograms."""
    return jnp.asarray(mass_lb) * POUND


def degrees(angle_deg: ArrayLike) -> Array:
    """Degrees to radians."""
    return jnp.deg2rad(jnp.asarray(angle_deg))


