"""`ds.factor` (Stan's `target +=`) and `ds.deterministic` (derived quantities)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.stats as st

import difsci as ds


def tilted(y):
    # N(0, 1) prior and a likelihood N(y; x, 1) written as a factor: posterior N(y / 2, 1 / 2).
    x = ds.sample("x", ds.Normal(0.0, 1.0))
    ds.factor("lik", ds.Normal(x, 1.0).log_prob(y))
    ds.deterministic("x_squared", x**2)
    return x


def test_factor_adds_to_log_joint_and_deterministic_adds_nothing():
    lj = ds.log_joint(tilted)
    for x in [-1.0, 0.3, 2.0]:
        expected = st.norm(0, 1).logpdf(x) + st.norm(x, 1).logpdf(1.5)
        np.testing.assert_allclose(lj({"x": x}, 1.5), expected, rtol=1e-12)
    # A posterior draw carries derived quantities; log_joint accepts and recomputes them.
    np.testing.assert_allclose(lj({"x": 0.3, "x_squared": 123.0}, 1.5), lj({"x": 0.3}, 1.5), rtol=1e-12)


def test_factor_sums_array_weights_and_appears_in_trace(key):
    def model():
        x = ds.sample("x", ds.Normal(0.0, 1.0))
        ds.factor("f", jnp.array([x, 2 * x, 1.0]))
        return ds.deterministic("double", 2 * x)

    rvs = ds.trace(model, key)()
    x = rvs["x"].value
    assert rvs["f"].observed and not rvs["f"].deterministic
    np.testing.assert_allclose(rvs["f"].log_prob, 3 * x + 1.0, rtol=1e-12)
    assert rvs["double"].deterministic and rvs["double"].log_prob == 0
    np.testing.assert_allclose(rvs["double"].value, 2 * x)
    np.testing.assert_allclose(ds.seed(model, key)(), 2 * x)
    np.testing.assert_allclose(ds.log_joint(model)({"x": 0.5}), st.norm.logpdf(0.5) + 2.5, rtol=1e-12)
    # Outside any handler the statements are transparent.
    assert ds.deterministic("d", 3.0) == 3.0


def test_duplicate_names_are_errors(key):
    def model():
        x = ds.sample("x", ds.Normal(0.0, 1.0))
        ds.deterministic("x", x)

    with pytest.raises(ValueError, match="'x' is used twice"):
        ds.trace(model, key)()


def test_nuts_honours_factor_and_reports_deterministic():
    result = ds.nuts(tilted, jax.random.key(3), 2.0, num_warmup=300, num_samples=1000, num_chains=4)
    x = np.asarray(result.samples["x"])
    assert result.samples["x_squared"].shape == x.shape
    np.testing.assert_allclose(result.samples["x_squared"], x**2, rtol=1e-12)
    np.testing.assert_allclose(x.mean(), 1.0, atol=0.12)  # posterior N(1, 1/2)
    np.testing.assert_allclose(x.var(), 0.5, rtol=0.2)


def test_vi_honours_factor():
    guide = ds.vi.AutoNormal(tilted, jax.random.key(0), 2.0)
    result = ds.vi.fit(tilted, guide, jax.random.key(1), 2.0, num_steps=800, num_particles=4,
                       optimizer=optax.adam(optax.cosine_decay_schedule(5e-2, 800, alpha=0.01)))
    np.testing.assert_allclose(result.guide.loc, [1.0], atol=0.05)
    np.testing.assert_allclose(result.guide.scale, [np.sqrt(0.5)], rtol=0.1)


def test_predictive_recomputes_deterministic(key):
    draws = {"x": jnp.array([0.5, -1.0, 2.0])}
    out = ds.predictive(tilted, draws, key, 1.0)
    np.testing.assert_allclose(out["x_squared"], draws["x"] ** 2)


Y = jnp.linspace(-2.0, 3.0, 12)


def minibatched(key=None, subsample_size=4):
    mu = ds.sample("mu", ds.Normal(0.0, 1.0))
    with ds.plate("data", Y.shape[0], subsample_size=subsample_size, key=key) as idx:
        ds.sample("y", ds.Normal(mu, 1.5), obs=Y[idx])


def test_plate_subsampled_log_likelihood_is_unbiased():
    full = float(ds.log_joint(minibatched)({"mu": 0.4}, subsample_size=12))
    np.testing.assert_allclose(full, st.norm(0, 1).logpdf(0.4) + st.norm(0.4, 1.5).logpdf(np.asarray(Y)).sum(), rtol=1e-12)
    estimates = jax.vmap(lambda k: ds.log_joint(minibatched)({"mu": 0.4}, k))(jax.random.split(jax.random.key(0), 4000))
    estimates = np.asarray(estimates)
    assert np.std(estimates) > 0  # the minibatches differ
    np.testing.assert_allclose(estimates.mean(), full, atol=4 * estimates.std() / np.sqrt(4000))


def test_plate_indices_and_errors(key):
    with ds.plate("p", 5) as idx:
        np.testing.assert_array_equal(idx, np.arange(5))
    rvs = ds.trace(minibatched, key)()  # the subsample key comes from the trace's key
    assert rvs["y"].value.shape == (4,)
    np.testing.assert_allclose(rvs["y"].log_prob, 3 * np.sum(st.norm(rvs["mu"].value, 1.5).logpdf(rvs["y"].value)),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="subsample_size"):
        ds.plate("p", 5, subsample_size=6)
    with pytest.raises(ValueError, match="key"):
        ds.log_joint(minibatched)({"mu": 0.0})
