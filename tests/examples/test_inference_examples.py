"""NUTS through ODE solvers: the Lotka-Volterra and trebuchet examples on small budgets."""

import dataclasses
import runpy
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

EXAMPLES = Path(__file__).parents[2] / "examples"


def _lotka_volterra_scipy(theta, z0, times):
    a, b, g, d = theta
    field = lambda t, z: [(a - b * z[1]) * z[0], (-g + d * z[0]) * z[1]]  # noqa: E731
    return integrate.solve_ivp(field, (0.0, times[-1]), z0, "DOP853", t_eval=times, rtol=1e-12, atol=1e-10).y.T


def test_lotka_volterra_populations_and_their_forward_sensitivities():
    # The solve NUTS differentiates: values against scipy; the forward-sensitivity gradient against
    # diffrax's reverse pass over the same steps and against finite differences of a tight solve.
    ex = runpy.run_path(str(EXAMPLES / "lotka_volterra.py"))
    populations, settings = ex["populations"], ex["SETTINGS"]
    times = jnp.arange(1.0, 21.0)
    params = jnp.array([0.55, 0.028, 0.80, 0.024, 33.0, 6.0])
    weights = jax.random.normal(jax.random.key(0), (20, 2))

    def score(settings):
        return lambda p: jnp.sum(weights * jnp.log(populations(p[:4], p[4:], times, settings)))

    tight = dataclasses.replace(settings, rtol=1e-12, atol=1e-12)
    short = dataclasses.replace(settings, max_steps=4)  # runs out of steps
    steps = 1e-5 * jnp.eye(6)

    @jax.jit  # one program for every check: compiling dominates this test
    def checks(p):
        z = populations(p[:4], p[4:], times)
        grad = jax.grad(score(settings))(p)
        reverse = jax.grad(score(settings.with_mode("recursive_checkpoint")))(p)
        f = jax.vmap(score(tight))
        fd = (f(p + steps) - f(p - steps)) / 2e-5
        return z, grad, reverse, fd, jax.value_and_grad(score(short))(p)

    z, grad, reverse, fd, (failed, failed_grad) = checks(params)
    want = _lotka_volterra_scipy(np.asarray(params[:4]), np.asarray(params[4:]), np.asarray(times))
    np.testing.assert_allclose(z, want, rtol=3e-5)
    np.testing.assert_allclose(grad, reverse, rtol=1e-8)
    np.testing.assert_allclose(grad, fd, rtol=1e-3)
    # A solve that runs out of steps is NaN, value and gradient, so that NUTS rejects it.
    assert np.isnan(failed) and np.all(np.isnan(failed_grad))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:ds.nuts.*divergent transitions:RuntimeWarning")
# Short chains are reported as unmixed (tested in tests/difsci/test_chain_health.py); here they only run.
@pytest.mark.filterwarnings("ignore::difsci.ChainHealthWarning")
def test_lotka_volterra_recovers_the_published_posterior(tmp_path):
    main = runpy.run_path(str(EXAMPLES / "lotka_volterra.py"))["main"]
    out = main(["--warmup", "150", "--samples", "150", "--chains", "2", "--out", str(tmp_path)])
    for name, published in out["published_means"].items():
        assert abs(out["posterior_means"][name] - published) < 0.1 * published, name
    assert out["max_r_hat"] < 1.1
    assert out["divergences"] <= 0.05 * 300  # a short warm-up may leave a few; not more
    assert (tmp_path / "lotka_volterra.png").stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:ds.nuts.*divergent transitions:RuntimeWarning")
# Short chains are reported as unmixed (tested in tests/difsci/test_chain_health.py); here they only run.
@pytest.mark.filterwarnings("ignore::difsci.ChainHealthWarning")
def test_trebuchet_wind_and_counterweight_are_recovered():
    main = runpy.run_path(str(EXAMPLES / "infer_trebuchet.py"))["main"]
    out = main(["--warmup", "100", "--samples", "100", "--chains", "2"])
    mean, sd = out["posterior_mean"], out["posterior_sd"]
    for name, truth in out["true"].items():
        assert abs(mean[name] - truth) < 3 * sd[name] + 1e-3 * abs(truth), name
    assert sd["wind"] < 0.5  # five shots pin the wind down to a fraction of its 5 m/s prior


@pytest.mark.slow  # the library under it is tested in tests/models
def test_bayesian_nn_example_runs_tiny(tmp_path):
    main = runpy.run_path(str(EXAMPLES / "bayesian_nn.py"))["main"]
    out = main(["--train", "40", "--vi-steps", "200", "--warmup", "60", "--samples", "60", "--chains", "2",
                "--width", "4", "--out", str(tmp_path)])
    assert 0.0 < out["vi"]["coverage_90"] <= 1.0 and 0.0 < out["nuts"]["coverage_90"] <= 1.0
    assert (tmp_path / "bayesian_nn.png").stat().st_size > 10_000
