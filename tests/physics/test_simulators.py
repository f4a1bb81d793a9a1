"""The projectile, pendulum and cart-pole against closed forms and conservation laws."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import physics

TIGHT = physics.SolverSettings(rtol=1e-10, atol=1e-10, max_steps=4096)


def test_projectile_in_vacuum_matches_closed_form():
    p = physics.Projectile(air_density=0.0, settings=TIGHT)
    f = eqx.filter_jit(lambda v, a, h: p.range(v, a, 0.0, h))
    g = 9.80665
    for v, a, h in [(20.0, 0.7, 0.0), (30.0, 0.3, 5.0)]:
        exact = v * math.cos(a) / g * (v * math.sin(a) + math.sqrt((v * math.sin(a)) ** 2 + 2 * g * h))
        np.testing.assert_allclose(f(v, a, h), exact, rtol=1e-9)
    # d range / d speed in vacuum from the ground: 2 v sin(2a) / g.
    np.testing.assert_allclose(jax.grad(lambda v: f(v, 0.7, 0.0))(20.0), 2 * 20.0 * math.sin(1.4) / g, rtol=1e-7)


def test_projectile_drag_and_wind():
    p = physics.Projectile()
    f = eqx.filter_jit(lambda w: p.range(30.0, 0.7, w))
    vacuum = eqx.filter_jit(lambda: physics.Projectile(air_density=0.0).range(30.0, 0.7))()
    assert float(f(-5.0)) < float(f(0.0)) < float(f(5.0)) < float(vacuum)
    with pytest.raises(ValueError, match="angle"):
        p.range(30.0, 2.0)
    with pytest.raises(ValueError, match="mass"):
        physics.Projectile(mass=0.0)


def test_pendulum_energy_conserved_without_damping_and_lost_with_it():
    ts = jnp.linspace(0.0, 10.0, 41)
    free = eqx.filter_jit(lambda p: p.rollout(jnp.array([2.0, 0.0]), ts))
    conserved = physics.Pendulum(settings=TIGHT)
    e = conserved.energy(free(conserved))
    np.testing.assert_allclose(e, e[0], rtol=1e-8)
    damped = physics.Pendulum(damping=0.3, settings=TIGHT)
    e = damped.energy(free(damped))
    assert np.all(np.diff(np.asarray(e)) < 0)
    # Small oscillations have period 2 pi sqrt(L / g): back to the start after one period.
    period = 2 * math.pi * math.sqrt(1.0 / 9.80665)
    small = eqx.filter_jit(lambda: conserved.rollout(jnp.array([1e-4, 0.0]), jnp.array([0.0, period])))()
    np.testing.assert_allclose(small[-1], [1e-4, 0.0], atol=1e-9)


def test_pendulum_gradient_to_controller_against_finite_differences():
    p = physics.Pendulum(damping=0.1, settings=TIGHT)
    ts = jnp.linspace(0.0, 2.0, 5)

    def final_angle(gain):
        return p.rollout(jnp.array([0.5, 0.0]), ts, lambda t, y: -gain * y[1])[-1, 0]

    f = jax.jit(final_angle)
    g = jax.jit(jax.grad(final_angle))(0.7)
    np.testing.assert_allclose(g, (f(0.7 + 1e-5) - f(0.7 - 1e-5)) / 2e-5, rtol=1e-6)


def test_cartpole_conserves_energy_and_momentum_changes_by_the_force():
    cp = physics.CartPole(settings=TIGHT)
    ts = jnp.linspace(0.0, 2.0, 21)
    s = eqx.filter_jit(lambda: cp.rollout(jnp.array([0.0, 0.3, 0.0, 0.0]), ts))()
    e = cp.energy(s)
    np.testing.assert_allclose(e, e[0], rtol=1e-8)
    # Horizontal momentum (m_c + m_p) v + m_p l cos(th) om grows at the applied force's rate.
    pushed = eqx.filter_jit(lambda: cp.rollout(jnp.array([0.0, 0.3, 0.0, 0.0]), ts, lambda t, y: jnp.asarray(2.0)))()
    momentum = (cp.cart_mass + cp.pole_mass) * pushed[:, 2] + cp.pole_mass * cp.half_length * jnp.cos(pushed[:, 1]) * pushed[:, 3]
    np.testing.assert_allclose(momentum, 2.0 * ts, atol=1e-7)
    # The force is clipped to max_force.
    clipped = eqx.filter_jit(lambda: cp.rollout(jnp.zeros(4), ts, lambda t, y: jnp.asarray(1e3)))()
    capped = eqx.filter_jit(lambda: cp.rollout(jnp.zeros(4), ts, lambda t, y: cp.max_force))()
    np.testing.assert_allclose(clipped, capped, rtol=1e-10)
    with pytest.raises(ValueError, match="pole_mass"):
        physics.CartPole(pole_mass=-1.0)


@pytest.mark.parametrize(
    "make, size, words",
    [
        (lambda v: physics.CartPole(cart_mass=v), 4, "cart_mass"),
        (lambda v: physics.CartPole(half_length=v), 4, "half_length"),
        (lambda v: physics.Pendulum(drive_amplitude=v * jnp.inf), 2, "drive_amplitude"),
    ],
)
def test_bad_constants_are_errors_eagerly_and_under_jit(make, size, words):
    with pytest.raises(ValueError, match=words):
        make(-1.0)
    rollout = eqx.filter_jit(lambda v: make(v).rollout(jnp.zeros(size), jnp.linspace(0.0, 0.1, 3)))
    with pytest.raises(Exception, match=words):
        jax.block_until_ready(rollout(-1.0))
