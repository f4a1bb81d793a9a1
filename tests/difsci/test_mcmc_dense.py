"""Dense mass matrices: the rule of `dense_mass="auto"`, and a correct posterior and adapted
metric on a strongly correlated Gaussian (against its closed form)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import difsci as ds
from difsci._infer._adaptation import AUTO_DENSE_MAX_DIM, choose_metric, uses_dense

SD = np.array([1.0, 2.0, 0.5])
CORR = np.array([[1.0, 0.95, 0.0], [0.95, 1.0, -0.3], [0.0, -0.3, 1.0]])
COV = CORR * np.outer(SD, SD)
MEAN = np.array([1.0, -2.0, 0.5])


def test_auto_rule_keeps_strong_correlations_and_drops_weak_ones():
    strong = jnp.asarray(COV)
    np.testing.assert_array_equal(choose_metric(strong), strong)
    weak = jnp.asarray(np.array([[1.0, 0.4, 0.0], [0.4, 1.0, -0.3], [0.0, -0.3, 1.0]]) * np.outer(SD, SD))
    np.testing.assert_array_equal(choose_metric(weak), np.diag(SD**2))
    assert uses_dense("auto", AUTO_DENSE_MAX_DIM) and not uses_dense("auto", AUTO_DENSE_MAX_DIM + 1)
    assert uses_dense(True, 10_000) and not uses_dense(False, 2)


def correlated(x):
    d = x["z"] - MEAN
    return -0.5 * d @ jnp.asarray(np.linalg.inv(COV)) @ d


def test_auto_dense_metric_on_a_correlated_gaussian():
    result = ds.sample_log_density(correlated, jax.random.key(0), {"z": jnp.zeros(3)}, num_warmup=400,
                                   num_samples=600, num_chains=2, dense_mass="auto", compilation_cache=False)
    draws = np.asarray(result.samples["position"]["z"])
    z = draws.reshape(-1, 3)
    ess = ds.ess_bulk(draws)
    assert np.all(np.abs(z.mean(0) - MEAN) < 4 * SD / np.sqrt(ess))
    np.testing.assert_allclose(np.cov(z.T), COV, atol=0.15 * SD.max() ** 2)
    # The adapted inverse mass matrix is the posterior covariance (Stan's dense_e), correlations
    # included: a diagonal metric would have zeros off the diagonal.
    for imm in np.asarray(result.inverse_mass_matrix):
        assert np.linalg.norm(imm - COV) / np.linalg.norm(COV) < 0.25
        assert imm[0, 1] / np.sqrt(imm[0, 0] * imm[1, 1]) > 0.85


def test_dense_mass_must_be_a_known_choice():
    with pytest.raises(ValueError, match="`dense_mass` must be True, False or 'auto'"):
        ds.sample_log_density(correlated, jax.random.key(0), {"z": jnp.zeros(3)}, dense_mass="yes")
