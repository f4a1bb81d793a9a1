"""Stiff problems through the same settings: Robertson's kinetics against scipy's Radau and BDF."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import physics


class Robertson(physics.AbstractODE):
    """Robertson's (1966) three-species kinetics, rate constants 0.04, 3e7, 1e4 (Hairer & Wanner, II.10)."""

    k1: jax.Array
    k2: jax.Array
    k3: jax.Array
    settings: physics.SolverSettings

    def initial_state(self, inputs):
        return jnp.array([1.0, 0.0, 0.0])

    def vector_field(self, t, y, inputs):
        a, b, c = y[0], y[1], y[2]
        return jnp.stack([-self.k1 * a + self.k3 * b * c, self.k1 * a - self.k3 * b * c - self.k2 * b**2, self.k2 * b**2])


def _scipy(method, ts):
    def f(t, y):
        a, b, c = y
        return [-0.04 * a + 1e4 * b * c, 0.04 * a - 1e4 * b * c - 3e7 * b**2, 3e7 * b**2]

    def jac(t, y):
        a, b, c = y
        return [[-0.04, 1e4 * c, 1e4 * b], [0.04, -1e4 * c - 6e7 * b, -1e4 * b], [0.0, 6e7 * b, 0.0]]

    sol = solve_ivp(f, (0.0, ts[-1]), [1.0, 0.0, 0.0], method=method, t_eval=ts, rtol=1e-12, atol=1e-20, jac=jac)
    assert sol.success
    return sol.y.T


TS = np.array([0.0, 0.4, 4.0, 40.0, 400.0, 4e3, 4e4])
ROBERTSON = Robertson(jnp.asarray(0.04), jnp.asarray(3e7), jnp.asarray(1e4), physics.SolverSettings.stiff(rtol=1e-10, atol=1e-20, max_steps=4096))


def test_robertson_matches_scipy_radau_and_bdf_to_1e_6():
    ours = np.asarray(eqx.filter_jit(lambda s: physics.observe(s, ts=TS))(ROBERTSON))
    radau, bdf = _scipy("Radau", TS), _scipy("BDF", TS)
    # The references agree with each other first, so the comparison below is meaningful.
    np.testing.assert_allclose(bdf[1:], radau[1:], rtol=1e-6)
    np.testing.assert_allclose(ours[1:], radau[1:], rtol=1e-6)
    np.testing.assert_allclose(ours.sum(axis=1), 1.0, rtol=1e-12)  # mass is conserved


def test_an_explicit_solver_runs_out_of_steps_with_a_message_that_says_what_to_do():
    explicit = eqx.tree_at(lambda s: s.settings, ROBERTSON, physics.SolverSettings(max_steps=200))
    with pytest.raises(Exception, match="SolverSettings.stiff"):
        jax.block_until_ready(eqx.filter_jit(lambda s: physics.observe(s, ts=TS))(explicit))
