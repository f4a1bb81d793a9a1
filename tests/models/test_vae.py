import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import difsci as ds
import models
from models._discrete_vae import CategoricalVAE, discrete_elbo, surrogate_elbo
from models._vae import GaussianVAE, elbo, iwae_bound


def linear_gaussian_vae(key):
    # depth 0 MLPs are affine maps: p(x) = N(b, W W^T + s^2 I) exactly.
    return GaussianVAE(3, latent_dim=1, hidden=4, depth=0, likelihood="gaussian", key=key)


def exact_log_marginal(model, x):
    lin = model.decoder.layers[0]
    s2 = jnp.exp(2 * model.log_scale)
    cov = lin.weight @ lin.weight.T + s2 * jnp.eye(3)
    return ds.MultivariateNormal(lin.bias, covariance_matrix=cov).log_prob(x)


def with_exact_posterior(model, shift=0.0):
    """The encoder set to the true posterior of the linear-Gaussian model, its mean moved by `shift` sds."""
    lin = model.decoder.layers[0]
    w, b = lin.weight[:, 0], lin.bias
    s2 = jnp.exp(2 * model.log_scale)
    precision = 1 + w @ w / s2
    a = w / (s2 * precision)
    sd = 1 / jnp.sqrt(precision)
    weight = jnp.stack([a, jnp.zeros(3)])
    bias = jnp.stack([-a @ b + shift * sd, jnp.log(jnp.expm1(sd - 1e-4))])
    return eqx.tree_at(lambda m: (m.encoder.layers[0].weight, m.encoder.layers[0].bias), model, (weight, bias))


def test_elbo_is_exact_when_the_guide_is_the_posterior(key):
    model = with_exact_posterior(linear_gaussian_vae(key))
    x = jax.random.normal(jax.random.fold_in(key, 1), (4, 3))
    np.testing.assert_allclose(eqx.filter_jit(elbo)(model, x, key, num_samples=3), exact_log_marginal(model, x), rtol=1e-9)


def test_bounds_are_ordered_and_iwae_converges_to_log_likelihood(key):
    model = with_exact_posterior(linear_gaussian_vae(key), shift=0.7)
    x = jax.random.normal(jax.random.fold_in(key, 1), (6, 3))
    exact = exact_log_marginal(model, x)
    bound = eqx.filter_jit(iwae_bound)
    e = eqx.filter_jit(elbo)(model, x, jax.random.fold_in(key, 2), num_samples=4000)
    assert np.all(np.asarray(e) < np.asarray(exact))
    # E[IWAE_K] increases with K (Burda et al. 2016, Theorem 1); averaged over 400 keys.
    keys = jax.random.split(jax.random.fold_in(key, 3), 400)
    iw1 = jax.vmap(lambda k: bound(model, x, k, num_samples=1))(keys)
    iw10 = jax.vmap(lambda k: bound(model, x, k, num_samples=10))(keys)
    se = float(jnp.std(iw1.mean(1)) / np.sqrt(len(keys)))
    np.testing.assert_allclose(float(iw1.mean()), float(e.mean()), atol=4 * se)
    assert float(iw1.mean()) < float(iw10.mean()) < float(exact.mean())
    np.testing.assert_allclose(bound(model, x, jax.random.fold_in(key, 4), num_samples=20_000), exact, atol=0.05)


def test_elbo_gradient_is_reparameterised(key):
    model = linear_gaussian_vae(key)
    x = jnp.ones((2, 3))
    grads = eqx.filter_grad(lambda m: models.vae_loss(m, x, key))(model)
    leaves = jax.tree_util.tree_leaves(eqx.filter(grads, eqx.is_array))
    assert all(np.all(np.isfinite(np.asarray(g))) for g in leaves)
    assert float(jnp.abs(grads.encoder.layers[0].weight).sum()) > 0  # flows through the sample into q


def test_training_on_digits_improves_held_out_elbo(key):
    train, test = models.load_digits(binarize=True)
    assert train.shape[1] == 64 and set(np.unique(train)) == {0.0, 1.0}
    init = GaussianVAE(64, latent_dim=2, hidden=32, key=jax.random.split(key)[0])
    before = float(jnp.mean(elbo(init, jnp.asarray(test), key)))
    model, result = models.train_vae(jnp.asarray(train), key, hidden=32, num_steps=150, batch_size=64, learning_rate=5e-3, progress_bar=False)
    after = float(jnp.mean(elbo(model, jnp.asarray(test), key, num_samples=4)))
    assert after > before + 10
    assert result.losses[-20:].mean() < result.losses[:20].mean()


def tiny_discrete_vae(key):
    return CategoricalVAE(2, num_vars=1, num_classes=3, hidden=4, key=key)


def exact_discrete_elbo(model, x):
    logits = model.logits(x)
    q = jnp.exp(logits[0])
    f = jnp.stack([model.log_likelihood(x, jax.nn.one_hot(jnp.array([k]), 3)) for k in range(3)])
    return jnp.sum(q * f) - model.kl_to_uniform(logits)


def _grad_of(model, fn):
    return jax.grad(lambda b: fn(eqx.tree_at(lambda m: m.encoder.layers[-1].bias, model, b)))(model.encoder.layers[-1].bias)


def test_estimators_against_exact_enumeration(key):
    model = tiny_discrete_vae(key)
    x = jnp.array([1.0, 0.0])
    exact = _grad_of(model, lambda m: exact_discrete_elbo(m, x))
    keys = jax.random.split(jax.random.fold_in(key, 1), 30_000)

    def mean_grad(estimator, t):
        g = jax.vmap(lambda k: _grad_of(model, lambda m: surrogate_elbo(m, x, k, estimator, t, num_samples=2)))(keys)
        return g.mean(0), g.std(0) / np.sqrt(len(keys))

    score, score_se = mean_grad("score", 1.0)
    np.testing.assert_allclose(score, exact, atol=5 * float(score_se.max()) + 1e-6)
    # The relaxed gradient is biased, and the bias vanishes as the temperature goes to 0.
    hot, _ = mean_grad("gumbel", 2.0)
    cold, cold_se = mean_grad("gumbel", 0.05)
    bias_hot = float(jnp.abs(hot - exact).max())
    bias_cold = float(jnp.abs(cold - exact).max())
    assert bias_cold < 0.2 * bias_hot
    assert bias_cold < 0.05 * float(jnp.abs(exact).max()) + 5 * float(cold_se.max())
    # Discrete ELBO estimate agrees with enumeration.
    np.testing.assert_allclose(discrete_elbo(model, x[None], key, num_samples=20_000)[0], exact_discrete_elbo(model, x), atol=0.02)


def test_bad_arguments(key):
    with pytest.raises(ValueError, match="likelihood"):
        GaussianVAE(4, likelihood="poisson", key=key)
    with pytest.raises(ValueError, match="estimator"):
        surrogate_elbo(tiny_discrete_vae(key), jnp.ones(2), key, "reinforce")
    with pytest.raises(ValueError, match="num_samples >= 2"):
        models.discrete_vae_loss("score", models.annealed_temperature(), num_samples=1)
    with pytest.raises(ValueError, match="batch_size"):
        models.minibatches(jnp.ones((5, 2)), 6)
    with pytest.raises(ValueError, match="test_fraction"):
        models.load_digits(test_fraction=1.0)
