"""Bayesian neural network: prior structure, calibrated predictive bands by VI and NUTS."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import difsci as ds
from models import bnn_regression, coverage, mlp_prior, predictive_bands, toy_regression


@pytest.fixture(scope="module")
def data():
    x, y = toy_regression(jax.random.key(10), 600)
    return x[:100], y[:100], x[100:], y[100:]


def test_prior_has_one_site_per_array_and_scaled_by_fan_in():
    prior = mlp_prior(jax.random.key(0), width=8, prior_scale=2.0)
    rvs = ds.trace(bnn_regression, jax.random.key(1))(prior, jnp.zeros((5, 1)))
    assert set(rvs) == {"net.layers[0].weight", "net.layers[0].bias", "net.layers[1].weight",
                        "net.layers[1].bias", "noise", "y"}
    assert rvs["net.layers[1].weight"].value.shape == (1, 8)
    np.testing.assert_allclose(rvs["net.layers[1].weight"].dist.scale, 2.0 / np.sqrt(8))
    assert rvs["y"].value.shape == (5,) and not rvs["y"].observed
    with pytest.raises(ValueError, match="prior_scale"):
        mlp_prior(jax.random.key(0), prior_scale=0.0)


def test_mean_field_vi_band_is_calibrated(data):
    x, y, xt, yt = data
    prior = mlp_prior(jax.random.key(2), width=8)
    guide = ds.vi.AutoNormal(bnn_regression, jax.random.key(3), prior, x, y)
    fitted = ds.vi.fit(bnn_regression, guide, jax.random.key(4), prior, x, y, num_steps=2000, num_particles=4,
                       optimizer=optax.adam(optax.cosine_decay_schedule(1e-2, 2000, 0.05)))
    draws = fitted.guide.sample_posterior(bnn_regression, jax.random.key(5), 500, prior, x, y)
    bands = predictive_bands(prior, draws, jax.random.key(6), xt)
    assert 0.82 < coverage(bands, yt) < 0.97
    assert np.mean((bands["mean"] - np.asarray(yt)) ** 2) < 0.06  # noise variance is 0.0225


def test_nuts_band_is_calibrated(data):
    x, y, xt, yt = data
    prior = mlp_prior(jax.random.key(2), width=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = ds.nuts(bnn_regression, jax.random.key(7), prior, x, y, num_warmup=250, num_samples=250,
                         num_chains=2)
    flat = {k: v.reshape((-1,) + v.shape[2:]) for k, v in result.samples.items()}
    bands = predictive_bands(prior, flat, jax.random.key(8), xt)
    assert 0.82 < coverage(bands, yt) < 0.97
    assert abs(float(result.samples["noise"].mean()) - 0.15) < 0.03


def test_predictive_checks_draw_counts():
    with pytest.raises(ValueError, match="same leading axis"):
        ds.predictive(bnn_regression, {"noise": jnp.ones(3), "other": jnp.ones(4)}, jax.random.key(0),
                      mlp_prior(jax.random.key(0)), jnp.zeros((2, 1)))
