"""Random variables in model functions and the handlers that run them."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

import difsci as ds

FLIPS = jnp.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1] * 5)  # 50 flips, 35 heads


def beta_bernoulli(n=50):
    """Edward2 paper's model: p ~ Beta(1, 1), n flips x ~ Bernoulli(p)."""
    p = ds.sample("p", ds.Beta(1.0, 1.0))
    return ds.sample("x", ds.Bernoulli(probs=p), sample_shape=(n,))


def test_beta_bernoulli_log_joint_is_closed_form():
    log_joint = ds.log_joint(beta_bernoulli)
    heads = int(FLIPS.sum())
    for p in [0.1, 0.5, 0.7, 0.93]:
        expected = heads * np.log(p) + (50 - heads) * np.log1p(-p)  # Beta(1, 1) density is 1
        np.testing.assert_allclose(log_joint({"p": p, "x": FLIPS}), expected, rtol=1e-12)
    # ... and its gradient: k / p - (n - k) / (1 - p).
    g = jax.grad(lambda p: log_joint({"p": p, "x": FLIPS}))(0.6)
    np.testing.assert_allclose(g, heads / 0.6 - (50 - heads) / 0.4, rtol=1e-12)


def test_conditioned_log_joint_matches_unconditioned():
    joint = ds.log_joint(beta_bernoulli)({"p": 0.4, "x": FLIPS})
    conditioned = ds.log_joint(ds.condition(beta_bernoulli, {"x": FLIPS}))({"p": 0.4})
    np.testing.assert_allclose(conditioned, joint, rtol=1e-12)


def test_trace_records_sites_in_order(key):
    tr = ds.trace(beta_bernoulli, key)(50)
    assert list(tr) == ["p", "x"]
    p, x = tr["p"], tr["x"]
    assert isinstance(p, ds.RandomVariable) and not p.observed and not x.observed
    assert x.value.shape == (50,)
    np.testing.assert_allclose(p.log_prob, st.beta(1, 1).logpdf(float(p.value)), atol=1e-12)
    expected = st.bernoulli(float(p.value)).logpmf(np.asarray(x.value)).sum()
    np.testing.assert_allclose(x.log_prob, expected, rtol=1e-10)
    # seed returns the model's value for the very same draws.
    np.testing.assert_array_equal(ds.seed(beta_bernoulli, key)(50), x.value)


def test_same_key_same_trace_and_different_keys_differ(key):
    a = ds.trace(beta_bernoulli, key)()
    b = ds.trace(beta_bernoulli, key)()
    c = ds.trace(beta_bernoulli, jax.random.fold_in(key, 7))()
    assert a["p"].value == b["p"].value
    assert a["p"].value != c["p"].value


def test_condition_inside_trace_inside_jit_inside_vmap(key):
    conditioned = ds.condition(beta_bernoulli, {"x": FLIPS})

    @jax.jit
    def one(k):
        tr = ds.trace(conditioned, k)()
        return tr["p"].value, tr["x"].log_prob, tr["x"].observed

    keys = jax.random.split(key, 8)
    ps, lps, _ = jax.vmap(one)(keys)
    assert ps.shape == (8,)
    heads = int(FLIPS.sum())
    np.testing.assert_allclose(lps, heads * np.log(ps) + (50 - heads) * np.log1p(-ps), rtol=1e-10)
    # The same, without any transform, key by key.
    for k, p in zip(keys, ps):
        np.testing.assert_allclose(ds.trace(conditioned, k)()["p"].value, p, rtol=1e-12)
    assert ds.trace(conditioned, key)()["x"].observed


def test_grad_through_trace_of_reparameterised_model(key):
    def model(mu):
        return ds.sample("z", ds.Normal(mu, 1.0), sample_shape=(20_000,))

    # d/dmu mean(z^2) = 2 mu.
    g = jax.grad(lambda mu: jnp.mean(ds.trace(model, key)(mu)["z"].value ** 2))(0.8)
    np.testing.assert_allclose(g, 1.6, rtol=0.03)


def test_substitute_fixes_latent_without_observing(key):
    tr = ds.trace(ds.substitute(beta_bernoulli, {"p": 0.25}), key)(10)
    assert float(tr["p"].value) == 0.25 and not tr["p"].observed
    np.testing.assert_allclose(tr["p"].log_prob, 0.0, atol=1e-12)


def test_obs_keyword_and_native_control_flow():
    def model(data, hierarchical):
        mu = ds.sample("mu", ds.Normal(0.0, 10.0))
        scale = ds.sample("scale", ds.HalfNormal(2.0)) if hierarchical else 1.0
        for i, y in enumerate(data):
            ds.sample(f"y{i}", ds.Normal(mu, scale), obs=y)
        return mu

    data = [0.3, -0.2, 1.1]
    lj = ds.log_joint(model)
    flat = lj({"mu": 0.5}, data, False)
    expected = st.norm(0, 10).logpdf(0.5) + st.norm(0.5, 1.0).logpdf(data).sum()
    np.testing.assert_allclose(flat, expected, rtol=1e-12)
    hier = lj({"mu": 0.5, "scale": 0.7}, data, True)
    expected = st.norm(0, 10).logpdf(0.5) + st.halfnorm(scale=2).logpdf(0.7) + st.norm(0.5, 0.7).logpdf(data).sum()
    np.testing.assert_allclose(hier, expected, rtol=1e-12)


class Prior(eqx.Module):
    weight: ds.Normal
    bias: ds.Normal
    activation_scale: float = 2.0


def test_modules_with_distribution_fields(key):
    prior = Prior(ds.Normal(jnp.zeros((3, 2)), 1.0), ds.Normal(jnp.zeros(3), 0.5))
    net = ds.draw(prior, key)
    assert net.weight.shape == (3, 2) and net.bias.shape == (3,) and net.activation_scale == 2.0
    expected = st.norm(0, 1).logpdf(np.asarray(net.weight)).sum() + st.norm(0, 0.5).logpdf(np.asarray(net.bias)).sum()
    np.testing.assert_allclose(ds.score(prior, net), expected, rtol=1e-12)
    np.testing.assert_array_equal(ds.draw(prior, key).weight, net.weight)
    # Gradient of the score with respect to the drawn weights is -w / sigma^2.
    g = jax.grad(lambda n: ds.score(prior, n))(net)
    np.testing.assert_allclose(g.bias, -net.bias / 0.25, rtol=1e-12)

    def model():
        return ds.sample("net", prior)

    tr = ds.trace(model, key)()
    assert list(tr) == ["net.weight", "net.bias"]
    np.testing.assert_allclose(sum(s.log_prob for s in tr.values()), ds.score(prior, ds.seed(model, key)()), rtol=1e-12)
    lj = ds.log_joint(model)({"net.weight": net.weight, "net.bias": net.bias})
    np.testing.assert_allclose(lj, expected, rtol=1e-12)


def test_module_errors():
    with pytest.raises(TypeError, match="distributions"):
        ds.draw({"a": jnp.zeros(2)}, jax.random.key(0))
    prior = Prior(ds.Normal(0.0, 1.0), ds.Normal(0.0, 1.0))
    with pytest.raises(ValueError, match="structure"):
        ds.score(prior, {"weight": 1.0})


# --- bad input -------------------------------------------------------------------------


def test_missing_latent_value_names_the_site():
    with pytest.raises(ValueError, match="no value for latent site 'p'"):
        ds.log_joint(beta_bernoulli)({"x": FLIPS})


def test_unknown_value_names_are_errors():
    with pytest.raises(ValueError, match=r"\['q'\]"):
        ds.log_joint(beta_bernoulli)({"p": 0.5, "x": FLIPS, "q": 1.0})


def test_value_for_observed_site_is_an_error():
    with pytest.raises(ValueError, match="'x' is observed"):
        ds.log_joint(ds.condition(beta_bernoulli, {"x": FLIPS}))({"p": 0.5, "x": FLIPS})


def test_duplicate_and_unnamed_sites(key):
    def twice():
        ds.sample("a", ds.Normal(0.0, 1.0))
        ds.sample("a", ds.Normal(0.0, 1.0))

    with pytest.raises(ValueError, match="'a' is used twice"):
        ds.trace(twice, key)()
    with pytest.raises(ValueError, match="non-empty string name"):
        ds.seed(lambda: ds.sample("", ds.Normal(0.0, 1.0)), key)()
    # After an error the handler stack is clean: a fresh run works.
    assert ds.trace(beta_bernoulli, key)(3)["x"].value.shape == (3,)


def test_sampling_without_key_is_a_clear_error():
    with pytest.raises(RuntimeError, match="ds.seed"):
        beta_bernoulli()
    with pytest.raises(RuntimeError, match="no key"):
        ds.trace(beta_bernoulli)()


def test_observed_shape_mismatch():
    def model():
        return ds.sample("y", ds.Normal(jnp.zeros(3), 1.0), obs=jnp.zeros((3, 1)))

    with pytest.raises(ValueError, match="does not match"):
        ds.trace(model)()


def test_log_joint_value_of_the_wrong_shape_is_an_error():
    def model():
        ds.sample("z", ds.Normal(jnp.zeros(3), 1.0))

    assert np.isfinite(float(ds.log_joint(model)({"z": jnp.zeros(3)})))
    with pytest.raises(ValueError, match=r"'z' has shape \(2, 3\), but the site has shape \(3,\)"):
        ds.log_joint(model)({"z": jnp.zeros((2, 3))})
