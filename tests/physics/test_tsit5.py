"""The unrolled Tsit5 and the polynomial sincos against the diffrax and libm originals."""

import diffrax as dfx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import physics
from physics._sincos import sincos
from physics._tsit5 import Tsit5


def _van_der_pol(t, y, mu):
    x, v = y
    return jnp.stack([v, mu * (1 - x**2) * v - x])


def _solve(solver, mu, y0, saveat):
    return dfx.diffeqsolve(
        dfx.ODETerm(_van_der_pol), solver, 0.0, 6.0, None, y0, mu, saveat=saveat,
        stepsize_controller=dfx.PIDController(rtol=1e-8, atol=1e-8), max_steps=4096,
    )


def test_one_step_equals_diffrax():
    term, y0, mu = dfx.ODETerm(_van_der_pol), jnp.array([2.0, 0.3]), 1.5
    for made_jump in (False, True):
        outs = []
        for solver in (Tsit5(), dfx.Tsit5()):
            state = solver.init(term, 0.0, 0.1, y0, mu)
            y1, _, _, state, _ = solver.step(term, 0.0, 0.1, y0, mu, state, made_jump)
            outs.append(solver.step(term, 0.1, 0.25, y1, mu, state, made_jump))
        (y_a, err_a, dense_a, (_, f_a), res_a), (y_b, err_b, dense_b, (_, f_b), res_b) = outs
        np.testing.assert_allclose(y_a, y_b, rtol=1e-15)
        np.testing.assert_allclose(err_a, err_b, rtol=1e-9, atol=1e-18)
        np.testing.assert_allclose(dense_a["k"], dense_b["k"], rtol=1e-14, atol=1e-17)
        np.testing.assert_allclose(f_a, f_b, rtol=1e-15)
        assert res_a == res_b == dfx.RESULTS.successful


def test_same_solution_and_dense_output_as_diffrax():
    y0 = jnp.array([2.0, 0.0])
    saveat = dfx.SaveAt(steps=True, dense=True)
    ours, theirs = (jax.jit(lambda mu, s=s: _solve(s, mu, y0, saveat))(1.5) for s in (Tsit5(), dfx.Tsit5()))
    # Rounding in the error estimate moves step sizes by ~1e-10 relative; the steps are the same.
    assert int(ours.stats["num_steps"]) == int(theirs.stats["num_steps"]) > 20
    finite = np.isfinite(np.asarray(theirs.ts))
    np.testing.assert_allclose(np.asarray(ours.ts)[finite], np.asarray(theirs.ts)[finite], rtol=1e-8)
    for t in np.linspace(0.1, 5.9, 7):
        np.testing.assert_allclose(ours.evaluate(t), theirs.evaluate(t), rtol=1e-8, atol=1e-9)


def test_vmapped_and_differentiated_like_diffrax():
    y0 = jnp.array([2.0, 0.0])
    saveat = dfx.SaveAt(t1=True)

    def end(solver):
        return jax.jit(jax.vmap(jax.grad(lambda mu: _solve(solver, mu, y0, saveat).ys[-1, 0])))

    mus = jnp.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(end(Tsit5())(mus), end(dfx.Tsit5())(mus), rtol=1e-9)


def test_is_the_default_solver():
    assert type(physics.SolverSettings().solver) is Tsit5


def test_sincos_against_libm():
    x = np.concatenate([np.linspace(-40.0, 40.0, 100_001), [0.0, -0.0, np.pi / 4, np.pi / 2, 1e4, -3e4, 1e-300]])
    sin, cos = jax.jit(sincos)(jnp.asarray(x))
    tolerance = 4e-16 * np.maximum(1.0, np.abs(x) / 100)
    assert np.all(np.abs(np.asarray(sin) - np.sin(x)) <= tolerance)
    assert np.all(np.abs(np.asarray(cos) - np.cos(x)) <= tolerance)
    # Near 0 the error is relative; near the other zeros it is the reduction's, ~1e-20 absolute.
    small = np.array([1e-8, 3e-5, 1e-300])
    np.testing.assert_allclose(jax.jit(sincos)(jnp.asarray(small))[0], np.sin(small), rtol=1e-15)
    near_pi = np.array([np.pi - 1e-9, 2 * np.pi + 1e-12])
    np.testing.assert_allclose(jax.jit(sincos)(jnp.asarray(near_pi))[0], np.sin(near_pi), rtol=0, atol=1e-20)


def test_sincos_derivatives():
    x = jnp.linspace(-7.0, 7.0, 11)
    ds, dc = jax.vmap(jax.grad(lambda v: sincos(v)[0])), jax.vmap(jax.grad(lambda v: sincos(v)[1]))
    np.testing.assert_allclose(ds(x), np.cos(x), atol=1e-15)
    np.testing.assert_allclose(dc(x), -np.sin(x), atol=1e-15)
    np.testing.assert_allclose(jax.grad(jax.grad(lambda v: sincos(v)[0]))(0.3), -np.sin(0.3), atol=1e-15)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float16])
def test_sincos_in_lower_precision_is_libm(dtype):
    x = jnp.linspace(-10.0, 10.0, 101, dtype=dtype)
    sin, cos = sincos(x)
    assert sin.dtype == cos.dtype == dtype
    np.testing.assert_array_equal(sin, jnp.sin(x))
    np.testing.assert_array_equal(cos, jnp.cos(x))
