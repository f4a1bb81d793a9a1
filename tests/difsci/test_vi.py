"""Variational inference: conjugate posteriors, custom, amortised and discrete guides."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import difsci as ds

# Bayesian linear regression with known noise: the posterior over (w0, w1) is an exact,
# correlated Gaussian, so a full-rank guide can match it and a mean-field one cannot.
X = jnp.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
Y = jnp.array([0.9, 1.4, 2.2, 2.4, 3.1, 3.4])
NOISE, PRIOR = 0.5, 2.0


def regression(x, y):
    w = ds.sample("w", ds.Normal(jnp.zeros(2), PRIOR))
    ds.sample("y", ds.Normal(w[0] + w[1] * x, NOISE), obs=y)


def exact_regression():
    design = np.stack([np.ones_like(X), X], axis=1)
    precision = design.T @ design / NOISE**2 + np.eye(2) / PRIOR**2
    cov = np.linalg.inv(precision)
    return cov @ design.T @ np.asarray(Y) / NOISE**2, cov


def schedule(steps):
    return optax.adam(optax.cosine_decay_schedule(3e-2, steps, alpha=0.01))


def test_full_rank_vi_recovers_the_exact_posterior():
    guide = ds.vi.AutoMultivariateNormal(regression, jax.random.key(0), X, Y)
    result = ds.vi.fit(regression, guide, jax.random.key(1), X, Y, num_steps=1500, num_particles=8,
                       optimizer=schedule(1500))
    mean, cov = exact_regression()
    np.testing.assert_allclose(result.guide.loc, mean, atol=0.03)
    np.testing.assert_allclose(result.guide.covariance, cov, atol=0.1 * np.abs(cov).max())
    assert result.losses.shape == (1500,) and result.losses[-100:].mean() < result.losses[:100].mean()
    draws = result.guide.sample_posterior(regression, jax.random.key(2), 4000, X, Y)
    np.testing.assert_allclose(np.cov(np.asarray(draws["w"]).T), cov, atol=0.15 * np.abs(cov).max())


def test_mean_field_matches_a_constrained_conjugate_posterior():
    counts = jnp.array([3.0, 5.0, 2.0, 4.0, 6.0, 3.0, 4.0, 5.0])

    def model(c):
        rate = ds.sample("rate", ds.Gamma(2.0, 1.0))
        ds.sample("c", ds.Poisson(rate * jnp.ones(c.shape)), obs=c)

    guide = ds.vi.AutoNormal(model, jax.random.key(0), counts)
    result = ds.vi.fit(model, guide, jax.random.key(1), counts, num_steps=1500, num_particles=8,
                       optimizer=schedule(1500))
    rate = np.asarray(result.guide.sample_posterior(model, jax.random.key(3), 20000, counts)["rate"])
    a, b = 2.0 + counts.sum(), 1.0 + counts.size  # Gamma(a, b) posterior
    assert abs(rate.mean() - a / b) < 0.03 * a / b
    assert abs(rate.std() - np.sqrt(a) / b) < 0.1 * np.sqrt(a) / b


class NormalGuide(eqx.Module):
    loc: jax.Array
    log_scale: jax.Array

    def __call__(self, x, y):
        ds.sample("w", ds.Normal(self.loc, jnp.exp(self.log_scale)))


def test_custom_guide_and_elbo_bound():
    guide = ds.vi.ModelGuide(NormalGuide(jnp.zeros(2), jnp.full(2, -1.0)))
    result = ds.vi.fit(regression, guide, jax.random.key(4), X, Y, num_steps=1500, num_particles=8,
                       optimizer=schedule(1500))
    mean, cov = exact_regression()
    np.testing.assert_allclose(result.guide.fn.loc, mean, atol=0.05)
    # Mean-field KL(q||p) picks sd = 1/sqrt(precision_ii) (narrower than the marginal).
    np.testing.assert_allclose(jnp.exp(result.guide.fn.log_scale), 1 / np.sqrt(np.diag(np.linalg.inv(cov))), rtol=0.1)
    # ELBO <= log evidence, which is closed-form here (y ~ N(0, X S X^T + noise^2 I)).
    design = np.stack([np.ones_like(X), X], axis=1)
    from scipy import stats

    evidence = stats.multivariate_normal(np.zeros(6), design @ design.T * PRIOR**2 + NOISE**2 * np.eye(6)).logpdf(Y)
    bound = float(ds.vi.elbo(regression, result.guide, jax.random.key(5), X, Y, num_particles=4000))
    # The gap is KL(q || p), closed-form for the optimal mean-field Gaussian: -log(1 - rho^2) / 2.
    rho = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
    assert bound <= evidence
    assert abs(bound - (evidence + 0.5 * np.log(1 - rho**2))) < 0.03


class Encoder(eqx.Module):
    """Amortised guide: z_i | x_i ~ Normal(a x_i + b, exp(c)) for every datum."""

    a: jax.Array
    b: jax.Array
    c: jax.Array

    def __call__(self, x):
        ds.sample("z", ds.Normal(self.a * x + self.b, jnp.exp(self.c) * jnp.ones_like(x)))


def latent_per_datum(x):
    z = ds.sample("z", ds.Normal(jnp.zeros_like(x), 1.0))
    ds.sample("x", ds.Normal(z, 1.0), obs=x)


def test_amortised_guide_learns_the_posterior_map():
    x = jax.random.normal(jax.random.key(7), (64,)) * 2.0
    guide = ds.vi.ModelGuide(Encoder(jnp.array(0.0), jnp.array(0.3), jnp.array(0.0)))
    result = ds.vi.fit(latent_per_datum, guide, jax.random.key(8), x, num_steps=1500, num_particles=4,
                       optimizer=schedule(1500))
    enc = result.guide.fn  # exact: z | x ~ N(x / 2, 1 / 2)
    assert abs(float(enc.a) - 0.5) < 0.03 and abs(float(enc.b)) < 0.05
    assert abs(float(jnp.exp(enc.c)) - np.sqrt(0.5)) < 0.03


class CoinGuide(eqx.Module):
    logit: jax.Array

    def __call__(self):
        ds.sample("z", ds.Bernoulli(logits=self.logit))


def mixture():
    z = ds.sample("z", ds.Bernoulli(probs=0.3))
    ds.sample("x", ds.Normal(2.0 * z - 1.0, 1.0), obs=0.8)


def test_score_function_gradient_for_a_discrete_latent():
    from scipy import stats

    like1, like0 = stats.norm(1.0, 1.0).pdf(0.8), stats.norm(-1.0, 1.0).pdf(0.8)
    exact = 0.3 * like1 / (0.3 * like1 + 0.7 * like0)
    guide = ds.vi.ModelGuide(CoinGuide(jnp.array(0.0)))
    result = ds.vi.fit(mixture, guide, jax.random.key(9), num_steps=800, num_particles=8, optimizer=schedule(800))
    assert abs(float(jax.nn.sigmoid(result.guide.fn.logit)) - exact) < 0.04
    with pytest.raises(ValueError, match="num_particles.*>= 2"):
        ds.vi.fit(mixture, guide, jax.random.key(9), num_steps=10)


def test_bad_input():
    with pytest.raises(TypeError, match="ModelGuide"):
        ds.vi.fit(regression, NormalGuide(jnp.zeros(2), jnp.zeros(2)), jax.random.key(0), X, Y)
    guide = ds.vi.AutoNormal(regression, jax.random.key(0), X, Y)
    with pytest.raises(ValueError, match="num_particles"):
        ds.vi.fit(regression, guide, jax.random.key(0), X, Y, num_particles=0)
    with pytest.raises(ValueError, match="init_scale"):
        ds.vi.AutoNormal(regression, jax.random.key(0), X, Y, init_scale=0.0)
    with pytest.raises(ValueError, match="discrete"):
        ds.vi.AutoNormal(mixture, jax.random.key(0))


def test_a_guide_whose_site_shape_differs_from_the_model_is_an_error():
    # Issue 21: a scalar guide for the model's two-vector `w` trained without complaint.
    def scalar_guide(x, y):
        ds.sample("w", ds.Normal(0.0, 1.0))

    with pytest.raises(ValueError, match=r"guide site 'w' has shape \(\).*model's site 'w' has shape \(2,\)"):
        ds.vi.fit(regression, ds.vi.ModelGuide(scalar_guide), jax.random.key(0), X, Y, num_steps=5)

    def no_w(x, y):
        ds.sample("v", ds.Normal(jnp.zeros(2), 1.0))

    with pytest.raises(ValueError, match=r"no site for latent sites \['w'\]"):
        ds.vi.fit(regression, ds.vi.ModelGuide(no_w), jax.random.key(0), X, Y, num_steps=5)

    def three(x, y):
        ds.sample("w", ds.Normal(jnp.zeros(3), PRIOR))
        ds.sample("y", ds.Normal(0.0, NOISE), obs=y)

    other = ds.vi.AutoNormal(three, jax.random.key(0), X, Y)  # an auto guide built for another model
    with pytest.raises(ValueError, match=r"'w' has shape \(3,\).*shape \(2,\)"):
        ds.vi.fit(regression, other, jax.random.key(0), X, Y, num_steps=5)
