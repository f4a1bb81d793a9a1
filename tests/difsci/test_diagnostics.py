"""R-hat, ESS and summaries against an independent NumPy implementation of Vehtari et al. (2021)."""

import numpy as np
import pytest
from scipy import stats

import difsci as ds


def _split(x):
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half:]], axis=0)


def _rank_normalise(x):
    ranks = stats.rankdata(x, method="average").reshape(x.shape)
    return stats.norm.ppf((ranks - 0.375) / (x.size + 0.25))


def _rhat_basic(x):
    m, n = x.shape
    w = x.var(axis=1, ddof=1).mean()
    b = n * x.mean(axis=1).var(ddof=1)
    return np.sqrt(((n - 1) / n * w + b / n) / w)


def reference_rhat(x):
    x = _split(x)
    bulk = _rhat_basic(_rank_normalise(x))
    tail = _rhat_basic(_rank_normalise(np.abs(x - np.median(x))))
    return max(bulk, tail)


def reference_ess(x):
    """ESS with Geyer's initial monotone sequence (Stan's estimator), by direct autocovariances."""
    m, n = x.shape
    centred = x - x.mean(axis=1, keepdims=True)
    acov = np.array([[np.dot(c[: n - t], c[t:]) / n for t in range(n)] for c in centred])
    chain_var = acov[:, 0] * n / (n - 1)
    mean_var = chain_var.mean()
    var_plus = mean_var * (n - 1) / n + x.mean(axis=1).var(ddof=1)
    rho = 1.0 - (mean_var - acov.mean(axis=0)) / var_plus
    rho[0] = 1.0
    pairs = []
    t = 0
    while t + 1 < n:
        p = rho[t] + rho[t + 1]
        if p < 0:
            break
        pairs.append(p)
        t += 2
    pairs = np.minimum.accumulate(pairs)
    tau = -1.0 + 2.0 * np.sum(pairs)
    return m * n / tau


def reference_ess_bulk(x):
    return reference_ess(_rank_normalise(_split(x)))


@pytest.fixture
def draws():
    rng = np.random.default_rng(0)
    # An AR(1) process per chain (so ESS < number of draws) with one chain shifted.
    x = np.zeros((4, 400))
    for t in range(1, 400):
        x[:, t] = 0.6 * x[:, t - 1] + rng.normal(size=4)
    x[3] += 0.4
    return x


def test_rhat_and_ess_match_reference(draws):
    np.testing.assert_allclose(ds.split_rhat(draws), reference_rhat(draws), rtol=1e-6)
    np.testing.assert_allclose(ds.ess_bulk(draws), reference_ess_bulk(draws), rtol=0.02)
    assert 100 < ds.ess_bulk(draws) < 1600  # autocorrelated: fewer effective than actual draws
    assert ds.split_rhat(draws) > 1.01  # the shifted chain shows


def test_summary_shapes_and_values(draws):
    samples = {"a": draws, "b": np.stack([draws, -draws], axis=-1)}
    table = ds.summary(samples, prob=0.8)
    assert table["b"]["mean"].shape == (2,)
    np.testing.assert_allclose(table["a"]["mean"], draws.mean())
    np.testing.assert_allclose(table["b"]["q_low"][0], np.quantile(draws, 0.1))
    np.testing.assert_allclose(table["b"]["r_hat"][1], reference_rhat(-draws), rtol=1e-6)


def test_bad_draws():
    with pytest.raises(ValueError, match="chains, draws"):
        ds.ess_bulk(np.zeros(10))
    with pytest.raises(ValueError, match="at least 4 draws"):
        ds.split_rhat(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="prob"):
        ds.summary({"a": np.zeros((2, 10))}, prob=1.0)
