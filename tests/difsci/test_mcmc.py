"""NUTS/HMC: closed-form posteriors, eight schools, robustness, devices, bad input."""

import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import difsci as ds
from tests.helpers import run_with_devices

Y_NORMAL = jnp.array([1.2, 0.3, 2.1, 1.5, 0.9])
COUNTS = jnp.array([3.0, 5.0, 2.0, 4.0])
FLIPS = jnp.array([1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0])


def conjugate_model():
    """Three independent conjugate pairs: real, positive and interval-constrained latents."""
    mu = ds.sample("mu", ds.Normal(0.0, 2.0))
    ds.sample("y", ds.Normal(mu, 1.0), obs=Y_NORMAL)
    rate = ds.sample("rate", ds.Gamma(2.0, 1.0))
    ds.sample("counts", ds.Poisson(rate * jnp.ones(4)), obs=COUNTS)
    p = ds.sample("p", ds.Beta(2.0, 2.0))
    ds.sample("flips", ds.Bernoulli(probs=p * jnp.ones(7)), obs=FLIPS)


def exact_conjugate():
    n = Y_NORMAL.size
    var = 1.0 / (1.0 / 4.0 + n)
    a, b = 2.0 + COUNTS.sum(), 1.0 + COUNTS.size
    al, be = 2.0 + FLIPS.sum(), 2.0 + FLIPS.size - FLIPS.sum()
    return {
        "mu": (var * Y_NORMAL.sum(), np.sqrt(var)),
        "rate": (a / b, np.sqrt(a) / b),
        "p": (al / (al + be), np.sqrt(al * be / ((al + be) ** 2 * (al + be + 1)))),
    }


@pytest.fixture(scope="module")
def conjugate_run():
    return ds.nuts(conjugate_model, jax.random.key(0), num_warmup=400, num_samples=1000, num_chains=4)


def test_nuts_matches_closed_form_posteriors(conjugate_run):
    table = conjugate_run.summary()
    for name, (mean, sd) in exact_conjugate().items():
        draws = np.asarray(conjugate_run.samples[name])
        assert draws.shape == (4, 1000)
        ess = table[name]["ess_bulk"]
        # Monte Carlo error of the mean is sd / sqrt(ESS); allow 4 of them.
        assert abs(draws.mean() - mean) < 4 * sd / np.sqrt(ess), name
        assert abs(draws.std() - sd) < 0.1 * sd, name
        assert table[name]["r_hat"] < 1.02
    assert conjugate_run.num_divergences == 0
    assert conjugate_run.step_size.shape == (4,)
    assert conjugate_run.inverse_mass_matrix.shape == (4, 3)
    assert conjugate_run.tree_depth.shape == (4, 1000)
    assert np.all(np.asarray(conjugate_run.samples["rate"]) > 0)
    assert np.all((np.asarray(conjugate_run.samples["p"]) > 0) & (np.asarray(conjugate_run.samples["p"]) < 1))


def test_print_summary_and_arviz_export(conjugate_run, capsys, monkeypatch):
    text = conjugate_run.print_summary()
    assert "mu" in text and "r_hat" in text and "Number of divergences: 0" in text
    calls = {}
    fake = types.SimpleNamespace(from_dict=lambda **kw: calls.update(kw) or "idata")
    monkeypatch.setitem(sys.modules, "arviz", fake)
    assert conjugate_run.to_arviz() == "idata"
    assert set(calls["posterior"]) == {"mu", "rate", "p"}
    assert calls["posterior"]["mu"].shape == (4, 1000)
    assert calls["sample_stats"]["diverging"].shape == (4, 1000)


SCHOOLS_Y = jnp.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SCHOOLS_SIGMA = jnp.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def schools(sigma, y):
    mu = ds.sample("mu", ds.Normal(0.0, 5.0))
    tau = ds.sample("tau", ds.HalfCauchy(5.0))
    theta_raw = ds.sample("theta_raw", ds.Normal(jnp.zeros(8), 1.0))
    ds.sample("y", ds.Normal(mu + tau * theta_raw, sigma), obs=y)


def test_eight_schools_noncentred():
    # Reference (posteriordb eight_schools_noncentered; Gelman et al. BDA3 5.5): mu ~ 4.4 +- 3.3,
    # tau ~ 3.6 +- 3.2, theta_1 ~ 6.2.
    result = ds.nuts(schools, jax.random.key(1), SCHOOLS_SIGMA, SCHOOLS_Y, num_warmup=500, num_samples=1000,
                     num_chains=4, target_accept=0.9)
    mu, tau = np.asarray(result.samples["mu"]), np.asarray(result.samples["tau"])
    assert abs(mu.mean() - 4.4) < 0.5 and abs(mu.std() - 3.3) < 0.4
    assert abs(tau.mean() - 3.6) < 0.5 and abs(tau.std() - 3.2) < 0.6
    theta1 = mu + tau * np.asarray(result.samples["theta_raw"])[..., 0]
    assert abs(theta1.mean() - 6.2) < 0.8
    assert result.samples["theta_raw"].shape == (4, 1000, 8)
    assert np.max(result.summary()["theta_raw"]["r_hat"]) < 1.02


def tiny(y):
    mu = ds.sample("mu", ds.Normal(0.0, 1.0))
    ds.sample("y", ds.Normal(mu, 1.0), obs=y)


@pytest.mark.filterwarnings("ignore::difsci.ChainHealthWarning")  # a short run: too few draws to mix
def test_same_key_same_draws():
    run = lambda k: ds.nuts(tiny, jax.random.key(k), Y_NORMAL, num_warmup=50, num_samples=30, num_chains=2)  # noqa: E731
    a, b = run(3), run(3)
    np.testing.assert_array_equal(a.samples["mu"], b.samples["mu"])
    assert not np.array_equal(a.samples["mu"][0], a.samples["mu"][1])  # chains differ


def test_hmc_and_plain_log_density():
    cov = jnp.array([[1.0, 0.8], [0.8, 1.0]])
    prec = jnp.linalg.inv(cov)
    log_density = lambda x: -0.5 * x["z"] @ prec @ x["z"]  # noqa: E731
    # Static-length HMC can resonate (key 2: a trajectory near a half period, R-hat 1.47, which the
    # health check reports); this key gives a healthy run, and the run would fail here if it warned.
    result = ds.sample_log_density(log_density, jax.random.key(3), {"z": jnp.zeros(2)}, kernel="hmc",
                                   num_warmup=300, num_samples=1500, num_chains=2, num_integration_steps=8,
                                   dense_mass=True)
    draws = np.asarray(result.samples["position"]["z"])
    z = draws.reshape(-1, 2)
    np.testing.assert_allclose(np.cov(z.T), cov, atol=0.2)
    assert np.all(np.abs(z.mean(0)) < 4 / np.sqrt(ds.ess_bulk(draws)))
    assert result.inverse_mass_matrix.shape == (2, 2, 2)
    hmc = ds.hmc(tiny, jax.random.key(2), Y_NORMAL, num_warmup=200, num_samples=600, num_chains=2)
    assert abs(float(hmc.samples["mu"].mean()) - float(Y_NORMAL.sum() / 6)) < 0.1


@pytest.mark.filterwarnings("ignore::difsci.ChainHealthWarning")  # a short run: too few draws to mix
def test_non_finite_density_rejects_the_proposal_instead_of_crashing():
    def model():
        mu = ds.sample("mu", ds.Normal(0.0, 1.0))
        # A "simulator" that fails (NaN) whenever mu > 0.5; its failures must be rejected.
        ds.sample("y", ds.Normal(jnp.where(mu > 0.5, jnp.nan, mu), 1.0), obs=0.0)

    with pytest.warns(RuntimeWarning, match="divergent transitions"):
        result = ds.nuts(model, jax.random.key(5), num_warmup=200, num_samples=300, num_chains=2)
    mu = np.asarray(result.samples["mu"])
    assert np.all(np.isfinite(mu)) and np.all(mu <= 0.5)
    assert result.num_divergences > 0


def test_scale_underflow_inside_sampling_is_not_a_runtime_error():
    # sigma = exp(u) underflows to 0 far out in unconstrained space; Normal's scale check must not
    # abort the run from inside the compiled sampler.
    def model():
        sigma = ds.sample("sigma", ds.LogNormal(0.0, 30.0))
        ds.sample("y", ds.Normal(0.0, sigma), obs=jnp.array([0.1, -0.2]))

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = ds.nuts(model, jax.random.key(6), num_warmup=100, num_samples=100, num_chains=2)
    assert np.all(np.isfinite(np.asarray(result.samples["sigma"])))


def test_initialisation_failure_says_what_to_do():
    def model():
        mu = ds.sample("mu", ds.Normal(0.0, 1.0))
        ds.sample("y", ds.Normal(mu * jnp.nan, 1.0), obs=0.0)

    with pytest.raises(RuntimeError, match="no initial point.*init_params"):
        ds.nuts(model, jax.random.key(0), num_warmup=10, num_samples=10, num_chains=2, max_init_tries=3)


def test_init_params_are_used():
    result = ds.sample_log_density(lambda x: -0.5 * jnp.sum(x ** 2), jax.random.key(0), jnp.full(3, 5.0),
                                   num_warmup=0, num_samples=1, num_chains=2)
    assert result.samples["position"].shape == (2, 1, 3)
    with pytest.raises(ValueError, match="init_params.*lacks"):
        ds.nuts(tiny, jax.random.key(0), Y_NORMAL, init_params={"nu": 1.0})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_chains": 0}, "num_chains"),
        ({"num_samples": 0}, "num_samples"),
        ({"num_warmup": -1}, "num_warmup"),
        ({"target_accept": 1.5}, "target_accept"),
        ({"max_tree_depth": 0}, "max_tree_depth"),
        ({"chain_method": "sequential"}, "chain_method"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ds.nuts(tiny, jax.random.key(0), Y_NORMAL, **kwargs)


def test_bad_models():
    def discrete():
        ds.sample("k", ds.Poisson(3.0))

    def duplicate():
        ds.sample("a", ds.Normal(0.0, 1.0))
        ds.sample("a", ds.Normal(0.0, 1.0))

    def unnamed():
        ds.sample("", ds.Normal(0.0, 1.0))

    def all_observed():
        ds.sample("y", ds.Normal(0.0, 1.0), obs=1.0)

    with pytest.raises(ValueError, match="'k' is discrete.*Marginalise"):
        ds.nuts(discrete, jax.random.key(0))
    with pytest.raises(ValueError, match="'a' is used twice"):
        ds.nuts(duplicate, jax.random.key(0))
    with pytest.raises(ValueError, match="non-empty string name"):
        ds.nuts(unnamed, jax.random.key(0))
    with pytest.raises(ValueError, match="no latent sites"):
        ds.nuts(all_observed, jax.random.key(0))


@pytest.mark.filterwarnings("ignore::difsci.ChainHealthWarning")  # a short run: too few draws to mix
def test_progress_bar_reaches_the_end(capsys):
    ds.nuts(tiny, jax.random.key(0), Y_NORMAL, num_warmup=20, num_samples=30, num_chains=2, progress_bar=True)
    err = capsys.readouterr().err
    assert "50/50" in err


def test_chains_spread_over_devices_match_one_device():
    code = """
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
import difsci as ds
def model():
    mu = ds.sample("mu", ds.Normal(0.0, 1.0))
    s = ds.sample("s", ds.LogNormal(0.0, 0.5))
    ds.sample("y", ds.Normal(mu, s), obs=jnp.array([0.5, 1.0, 1.5]))
r = ds.nuts(model, jax.random.key(0), num_warmup=60, num_samples=40, num_chains=4)
print("parallel", len(r.samples["mu"].sharding.device_set), repr(np.asarray(r.samples["mu"]).tolist()))
"""
    four = run_with_devices(code, 4).split("\n")
    one = run_with_devices(code, 1).split("\n")
    assert four[0].startswith("parallel 4") and one[0].startswith("parallel 1")
    values = lambda line: np.array(eval(line.split(" ", 2)[2]))  # noqa: E731
    # Same chains, same draws: only where they run differs (up to float rounding of vmap widths).
    np.testing.assert_allclose(values(four[0]), values(one[0]), rtol=1e-6, atol=1e-6)


def test_invalid_init_params_are_an_error_naming_the_site():
    # Issue 21: a negative start for a HalfNormal scale was silently replaced by a random one.
    def model():
        s = ds.sample("s", ds.HalfNormal(1.0))
        ds.sample("y", ds.Normal(0.0, s), obs=jnp.array([0.3, -0.1]))

    with pytest.raises(ValueError, match=r"init_params\['s'\].*-1.0.*support of latent site 's'.*HalfNormal"):
        ds.nuts(model, jax.random.key(0), init_params={"s": -1.0}, num_warmup=5, num_samples=5)
    with pytest.raises(ValueError, match=r"init_params\['s'\].*not finite"):
        ds.nuts(model, jax.random.key(0), init_params={"s": jnp.inf}, num_warmup=5, num_samples=5)
    with pytest.raises(ValueError, match=r"init_params\['mu'\]` has shape \(3,\).*site 'mu' has shape \(\)"):
        ds.nuts(tiny, jax.random.key(0), Y_NORMAL, init_params={"mu": jnp.zeros(3)}, num_warmup=5, num_samples=5)


@pytest.mark.filterwarnings("ignore::difsci.ChainHealthWarning")  # a short run: too few draws to mix
def test_a_users_jitted_function_keeps_its_checks_after_nuts():
    # Issue 21: checks used to be switched off (a thread-local flag) while NUTS traced the model, so a
    # jitted function first traced there kept an unchecked trace afterwards.
    log_prob = jax.jit(lambda scale: ds.Normal(0.0, scale).log_prob(0.5))

    def model():
        s = ds.sample("s", ds.LogNormal(0.0, 1.0))
        ds.factor("lik", log_prob(s))

    result = ds.nuts(model, jax.random.key(0), num_warmup=10, num_samples=10, num_chains=1)
    assert np.all(np.asarray(result.samples["s"]) > 0)
    with pytest.raises(Exception, match="scale"):
        jax.block_until_ready(log_prob(jnp.asarray(-1.0)))


def test_healthy_runs_are_quiet(conjugate_run):
    # Under filterwarnings=error the fixture's run would have failed on a warning; the data agree.
    assert conjugate_run.diagnose() == ()
    assert np.all(np.asarray(conjugate_run.start_gradient) <= 1e10)
