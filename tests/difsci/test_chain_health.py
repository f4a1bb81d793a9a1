"""Chain health: stuck, unmixed and cut-short runs are reported (warning and `diagnose()`),
healthy runs are not, and the start search refuses points with an exploding gradient."""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import difsci as ds
from difsci._infer._density import unconstrained_log_density
from difsci._infer._health import MAX_START_GRADIENT, warn_unhealthy
from difsci._infer._mcmc import _find_start

ARMA = Path(__file__).parent / "data" / "posteriordb" / "arma.json"


def result_from(draws, step_size=None, tree_depth=None, kernel="nuts", max_tree_depth=10):
    """An MCMCResult around given `(chains, draws)` draws of one real site."""
    draws = jnp.asarray(draws)
    chains, n = draws.shape
    zeros = jnp.zeros((chains, n))
    return ds.MCMCResult(
        samples={"x": draws}, unconstrained={"x": draws}, log_density=zeros, divergences=zeros.astype(bool),
        tree_depth=jnp.full((chains, n), 3) if tree_depth is None else jnp.asarray(tree_depth),
        num_integration_steps=jnp.full((chains, n), 7), acceptance_rate=zeros + 0.8, energy=zeros,
        step_size=jnp.full(chains, 0.7) if step_size is None else jnp.asarray(step_size),
        inverse_mass_matrix=jnp.ones((chains, 1)), kernel=kernel, max_tree_depth=max_tree_depth,
    )


def kinds(result):
    return {f.kind for f in result.diagnose()}


@pytest.fixture
def iid():
    return np.random.default_rng(0).normal(size=(4, 500))


def test_healthy_draws_have_no_findings(iid):
    assert result_from(iid).diagnose() == ()
    warn_unhealthy(result_from(iid).diagnose(), "ds.nuts", 1)  # no warning (pytest turns one into an error)


def test_unmixed_chains_are_reported(iid):
    shifted = iid.copy()
    shifted[3] += 3.0  # one chain in another mode
    (finding,) = [f for f in result_from(shifted).diagnose() if f.kind == "r_hat"]
    assert finding.value > 1.3 and "num_warmup" in finding.message
    assert finding.value == pytest.approx(float(ds.split_rhat(shifted)))


def test_autocorrelated_chains_report_low_ess():
    rng = np.random.default_rng(1)
    x = np.zeros((4, 500))
    for t in range(1, 500):  # AR(1) with coefficient 0.99: ~2,000 draws worth ~10
        x[:, t] = 0.99 * x[:, t - 1] + rng.normal(size=4)
    findings = {f.kind: f for f in result_from(x).diagnose()}
    assert findings["ess_bulk"].value < 100 and "num_samples" in findings["ess_bulk"].message
    assert findings["ess_bulk"].value == pytest.approx(float(ds.ess_bulk(x)))


def test_a_stuck_chain_with_a_tiny_step_size_is_named(iid):
    stuck = iid.copy()
    stuck[2] = 1.7 + 1e-9 * iid[2]  # the ARMA failure: step size 3e-9, the chain barely moves
    findings = {f.kind: f for f in result_from(stuck, step_size=[0.7, 0.8, 3e-9, 0.75]).diagnose()}
    assert findings["stuck"].chains == (2,) and findings["step_size"].chains == (2,)
    assert "init_params" in findings["step_size"].message and findings["step_size"].value == 3e-9
    constant = iid.copy()
    constant[0] = 0.3  # never moves at all
    assert {f.chains for f in result_from(constant).diagnose() if f.kind == "stuck"} == {(0,)}
    assert "stuck" not in kinds(result_from(iid[:1]))  # one moving chain alone is fine


def test_tree_depth_saturation_over_ten_percent_is_reported(iid):
    depth = np.full(iid.shape, 4)
    depth[:, :40] = 10  # 8 % of draws at the limit: fine
    assert "tree_depth" not in kinds(result_from(iid, tree_depth=depth))
    depth[:, :60] = 10  # 12 %
    (finding,) = [f for f in result_from(iid, tree_depth=depth).diagnose() if f.kind == "tree_depth"]
    assert finding.value == pytest.approx(0.12) and "max_tree_depth" in finding.message
    assert "tree_depth" not in kinds(result_from(iid, tree_depth=depth, kernel="hmc"))


def test_the_warning_lists_every_finding_and_says_what_to_do(iid):
    shifted = iid.copy()
    shifted[0] += 5.0
    with pytest.warns(ds.ChainHealthWarning, match="unhealthy.*diagnose") as record:
        warn_unhealthy(result_from(shifted).diagnose(), "ds.nuts", 1)
    assert "R-hat" in str(record[0].message) and "num_warmup" in str(record[0].message)
    assert issubclass(ds.ChainHealthWarning, UserWarning)


@pytest.mark.filterwarnings("ignore:ds.nuts.*divergent transitions:RuntimeWarning")
def test_an_improper_flat_density_warns():
    # Issue 21: draws of 1e16 with R-hat 2.4 used to come back silently.
    with pytest.warns(ds.ChainHealthWarning, match="R-hat|bulk ESS"):
        result = ds.sample_log_density(lambda x: 0.0 * jnp.sum(x), jax.random.key(0), jnp.zeros(2),
                                       num_warmup=50, num_samples=100, num_chains=2)
    assert {"r_hat", "ess_bulk"} & kinds(result)


def arma_log_density():
    """ARMA(1,1) as posteriordb's arma11 (mu ~ N(0, 10), phi, theta ~ N(0, 2), sigma ~ Cauchy+(0, 5))."""
    y = jnp.asarray(json.loads(ARMA.read_text())["y"])

    def model():
        mu = ds.sample("mu", ds.Normal(0.0, 10.0))
        phi = ds.sample("phi", ds.Normal(0.0, 2.0))
        theta = ds.sample("theta", ds.Normal(0.0, 2.0))
        sigma = ds.sample("sigma", ds.HalfCauchy(5.0))
        first = y[0] - (mu + phi * mu)

        def step(err, t):  # the error recursion grows like theta**t when |theta| > 1
            err = y[t] - (mu + phi * y[t - 1] + theta * err)
            return err, err

        _, rest = jax.lax.scan(step, first, jnp.arange(1, y.shape[0]))
        ds.factor("likelihood", jnp.sum(ds.Normal(0.0, sigma).log_prob(jnp.concatenate([first[None], rest]))))

    return unconstrained_log_density(model)


def test_start_search_refuses_the_exploding_arma_start():
    log_density = arma_log_density()
    point = lambda theta: {"mu": jnp.array(0.0), "phi": jnp.array(0.5), "sigma": jnp.array(0.0),  # noqa: E731
                           "theta": jnp.array(theta)}
    scale = {"mu": 10.0, "phi": 2.0, "sigma": 5.0, "theta": 2.0}
    grad = jax.grad(log_density)(point(1.08))
    assert np.isfinite(log_density(point(1.08))) and abs(float(grad["theta"])) > 1e15  # the start

    search = jax.jit(lambda base, k: _find_start(log_density, k, base, scale, 0, 20, 0.0))
    u0, value, _, size, ok, first = search(point(1.08), jax.random.key(0))
    assert bool(ok) and not bool(first) and float(size) <= MAX_START_GRADIENT and abs(float(u0["theta"])) < 1.0
    assert np.isfinite(float(value))
    good, *_, first = search(point(0.3), jax.random.key(0))  # a sane start is kept as it is
    assert float(good["theta"]) == 0.3 and bool(first)


@pytest.mark.filterwarnings("ignore:ds.nuts.*divergent transitions:RuntimeWarning")
def test_a_start_with_an_enormous_gradient_everywhere_is_reported():
    # Gradient > 1e10 away from |x| < 0.005: the best of two candidates is used (and named), not the given one.
    steep = lambda x: -1e12 * jnp.sum(x ** 2)  # noqa: E731
    with pytest.warns(ds.ChainHealthWarning) as record:
        result = ds.sample_log_density(steep, jax.random.key(1), jnp.full(3, 2.0), num_warmup=20, num_samples=20,
                                       num_chains=2, max_init_tries=2)
    messages = " ".join(str(r.message) for r in record)
    assert "did not start at `initial_position`" in messages and "started where" in messages
    assert "start" in kinds(result) and np.all(np.asarray(result.start_gradient) > MAX_START_GRADIENT)
