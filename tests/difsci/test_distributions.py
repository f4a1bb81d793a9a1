"""Every distribution against scipy.stats, its own moments, and its bijection."""

import math

import jax
import jax.test_util  # noqa: F401  (check_grads)
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

import difsci as ds
from tests.helpers import finite_difference_grad


class _HalfT:
    """scipy has no half-t: |t(df, 0, scale)| from scipy's t, its mean by scipy's quadrature."""

    def __init__(self, df, scale):
        self.df, self.scale, self.t = df, scale, st.t(df, 0.0, scale)

    def logpdf(self, x):
        x = np.asarray(x)
        return np.where(x >= 0, math.log(2.0) + self.t.logpdf(x), -np.inf)

    def mean(self):
        return self.t.expect(lambda x: x, lb=0.0, conditional=True)

    def var(self):
        return self.t.var() - self.mean() ** 2

    def support(self):
        return 0.0, np.inf


class _MixtureRef:
    """A finite mixture of scipy distributions: log-sum-exp density, moments by total variance."""

    def __init__(self, weights, components):
        self.w, self.components = np.asarray(weights), components

    def logpdf(self, x):
        lps = np.stack([c.logpdf(np.asarray(x)) for c in self.components], -1)
        return np.log(np.sum(self.w * np.exp(lps), -1))

    def mean(self):
        return sum(w * c.mean() for w, c in zip(self.w, self.components))

    def var(self):
        second = sum(w * (c.var() + c.mean() ** 2) for w, c in zip(self.w, self.components))
        return second - self.mean() ** 2

    def support(self):
        return -np.inf, np.inf

# (distribution, scipy frozen reference, points to score). One table, reused by every test.
CASES = {
    "Normal": (lambda: ds.Normal(0.5, 2.0), st.norm(0.5, 2.0), [-3.0, 0.1, 4.0]),
    "LogNormal": (lambda: ds.LogNormal(0.3, 0.7), st.lognorm(0.7, scale=math.exp(0.3)), [0.2, 1.0, 3.5]),
    "HalfNormal": (lambda: ds.HalfNormal(1.5), st.halfnorm(scale=1.5), [0.01, 1.0, 4.0]),
    "TruncatedNormal": (
        lambda: ds.TruncatedNormal(0.5, 1.5, low=-1.0, high=2.0),
        st.truncnorm((-1.0 - 0.5) / 1.5, (2.0 - 0.5) / 1.5, loc=0.5, scale=1.5),
        [-0.9, 0.3, 1.9],
    ),
    "TruncatedNormalLow": (
        lambda: ds.TruncatedNormal(0.0, 1.0, low=0.5),
        st.truncnorm(0.5, np.inf),
        [0.6, 1.0, 3.0],
    ),
    "Cauchy": (lambda: ds.Cauchy(-1.0, 0.5), st.cauchy(-1.0, 0.5), [-5.0, -1.0, 2.0]),
    "HalfCauchy": (lambda: ds.HalfCauchy(2.0), st.halfcauchy(scale=2.0), [0.1, 2.0, 10.0]),
    "StudentT": (lambda: ds.StudentT(5.0, 1.0, 2.0), st.t(5.0, 1.0, 2.0), [-4.0, 1.0, 6.0]),
    "Uniform": (lambda: ds.Uniform(-1.0, 3.0), st.uniform(-1.0, 4.0), [-0.5, 0.0, 2.9]),
    "Gamma": (lambda: ds.Gamma(2.5, 1.5), st.gamma(2.5, scale=1 / 1.5), [0.1, 1.0, 4.0]),
    "Exponential": (lambda: ds.Exponential(2.0), st.expon(scale=0.5), [0.01, 0.5, 3.0]),
    "Beta": (lambda: ds.Beta(2.0, 3.5), st.beta(2.0, 3.5), [0.05, 0.4, 0.95]),
    "Poisson": (lambda: ds.Poisson(3.5), st.poisson(3.5), [0, 3, 9]),
    "BernoulliProbs": (lambda: ds.Bernoulli(probs=0.3), st.bernoulli(0.3), [0, 1]),
    "BernoulliLogits": (lambda: ds.Bernoulli(logits=-0.4), st.bernoulli(1 / (1 + math.exp(0.4))), [0, 1]),
    "Categorical": (
        lambda: ds.Categorical(probs=jnp.array([0.2, 0.5, 0.3])),
        st.rv_discrete(values=([0, 1, 2], [0.2, 0.5, 0.3])),
        [0, 1, 2],
    ),
    "Binomial": (lambda: ds.Binomial(10, probs=0.3), st.binom(10, 0.3), [0, 3, 10]),
    "BinomialLogits": (lambda: ds.Binomial(7, logits=0.8), st.binom(7, 1 / (1 + math.exp(-0.8))), [0, 5, 7]),
    "BetaBinomial": (lambda: ds.BetaBinomial(2.0, 3.5, 12), st.betabinom(12, 2.0, 3.5), [0, 4, 12]),
    "Geometric": (lambda: ds.Geometric(probs=0.3), st.geom(0.3, loc=-1), [0, 2, 9]),
    "NegativeBinomial": (lambda: ds.NegativeBinomial(3.5, probs=0.4), st.nbinom(3.5, 0.6), [0, 2, 11]),
    "NegativeBinomialLogits": (
        lambda: ds.NegativeBinomial(2.0, logits=-0.3),
        st.nbinom(2.0, 1 - 1 / (1 + math.exp(0.3))),
        [0, 1, 8],
    ),
    "NegativeBinomial2": (
        lambda: ds.NegativeBinomial2(4.0, 2.5),
        st.nbinom(2.5, 2.5 / (2.5 + 4.0)),
        [0, 4, 20],
    ),
    "Laplace": (lambda: ds.Laplace(0.5, 1.5), st.laplace(0.5, 1.5), [-3.0, 0.5, 4.0]),
    "Logistic": (lambda: ds.Logistic(-1.0, 0.7), st.logistic(-1.0, 0.7), [-4.0, -1.0, 2.0]),
    "Gumbel": (lambda: ds.Gumbel(1.0, 2.0), st.gumbel_r(1.0, 2.0), [-2.0, 1.0, 8.0]),
    "Weibull": (lambda: ds.Weibull(2.0, 1.5), st.weibull_min(1.5, scale=2.0), [0.1, 1.5, 5.0]),
    "Pareto": (lambda: ds.Pareto(1.5, 3.5), st.pareto(3.5, scale=1.5), [1.6, 2.0, 6.0]),
    "InverseGamma": (lambda: ds.InverseGamma(4.0, 2.5), st.invgamma(4.0, scale=2.5), [0.1, 0.8, 4.0]),
    "Chi2": (lambda: ds.Chi2(3.5), st.chi2(3.5), [0.2, 2.0, 9.0]),
    "HalfStudentT": (lambda: ds.HalfStudentT(5.0, 2.0), _HalfT(5.0, 2.0), [0.1, 1.5, 7.0]),
    "VonMises": (lambda: ds.VonMises(0.0, 2.5), st.vonmises(2.5), [-3.0, 0.3, 2.0]),
    "MixtureSameFamily": (
        lambda: ds.MixtureSameFamily(ds.Categorical(probs=jnp.array([0.3, 0.7])),
                                     ds.Normal(jnp.array([-1.0, 2.0]), jnp.array([0.5, 1.0]))),
        _MixtureRef([0.3, 0.7], [st.norm(-1.0, 0.5), st.norm(2.0, 1.0)]),
        [-2.0, 0.5, 3.0],
    ),
    "Mixture": (
        lambda: ds.Mixture(ds.Categorical(probs=jnp.array([0.3, 0.7])), [ds.Normal(-1.0, 0.5), ds.StudentT(5.0, 2.0, 1.0)]),
        _MixtureRef([0.3, 0.7], [st.norm(-1.0, 0.5), st.t(5.0, 2.0, 1.0)]),
        [-2.0, 0.5, 3.0],
    ),
    "TransformedExp": (
        lambda: ds.TransformedDistribution(ds.Normal(0.3, 0.7), [ds.bijections.Exp()]),
        st.lognorm(0.7, scale=math.exp(0.3)),
        [0.2, 1.0, 3.5],
    ),
    "TransformedAffine": (
        lambda: ds.TransformedDistribution(ds.Normal(0.0, 1.0), [ds.bijections.Affine(1.0, 2.0)]),
        st.norm(1.0, 2.0),
        [-3.0, 0.1, 4.0],
    ),
}

MULTIVARIATE = {
    "MultivariateNormal": (
        lambda: ds.MultivariateNormal(jnp.array([1.0, -1.0]), jnp.array([[1.5, 0.0], [0.6, 0.8]])),
        st.multivariate_normal([1.0, -1.0], np.array([[1.5, 0.0], [0.6, 0.8]]) @ np.array([[1.5, 0.6], [0.0, 0.8]])),
        [[0.0, 0.0], [1.0, -1.0], [2.5, 1.0]],
    ),
    "Multinomial": (
        lambda: ds.Multinomial(8, probs=jnp.array([0.2, 0.5, 0.3])),
        st.multinomial(8, [0.2, 0.5, 0.3]),
        [[0, 8, 0], [2, 3, 3], [8, 0, 0]],
    ),
    "Dirichlet": (
        lambda: ds.Dirichlet(jnp.array([2.0, 3.0, 1.5])),
        st.dirichlet([2.0, 3.0, 1.5]),
        [[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]],
    ),
}


def _scipy_logpdf(ref, x):
    x = np.asarray(x)
    if hasattr(ref, "logpdf"):
        return np.array([ref.logpdf(xi) for xi in x]) if x.ndim > 1 else ref.logpdf(x)
    return ref.logpmf(x)


@pytest.mark.parametrize("name", sorted(CASES) + sorted(MULTIVARIATE))
def test_log_prob_matches_scipy(name):
    make, ref, points = {**CASES, **MULTIVARIATE}[name]
    dist = make()
    got = np.asarray(dist.log_prob(jnp.asarray(points)))
    np.testing.assert_allclose(got, _scipy_logpdf(ref, points), rtol=1e-9, atol=1e-12)


BOUNDED = sorted(set(CASES) - {"Normal", "Cauchy", "StudentT", "Laplace", "Logistic", "Gumbel", "MixtureSameFamily",
                                "Mixture", "TransformedAffine"})


@pytest.mark.parametrize("name", BOUNDED)
def test_log_prob_outside_support_is_minus_inf(name):
    make, ref, _ = CASES[name]
    dist = make()
    lo, hi = ref.support()
    outside = [lo - 1.0 if np.isfinite(lo) else hi + 1.0]
    assert np.all(np.isneginf(np.asarray(dist.log_prob(jnp.asarray(outside)))))


COUNTS = {"Binomial": 10, "BinomialLogits": 7, "BetaBinomial": 12, "Geometric": None, "NegativeBinomial": None,
          "NegativeBinomialLogits": None, "NegativeBinomial2": None}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_counts_off_support_are_minus_inf_not_nan(name):
    dist = CASES[name][0]()
    off = [-1.0, 1.5, -0.5] + ([COUNTS[name] + 1.0] if COUNTS[name] is not None else [])
    lp = np.asarray(jax.jit(lambda v: dist.log_prob(v))(jnp.asarray(off)))
    assert np.all(np.isneginf(lp)), lp
    assert not np.any(np.isnan(np.asarray(jax.grad(lambda v: jnp.sum(dist.log_prob(v)))(jnp.asarray(off)))))


@pytest.mark.parametrize("name", sorted(CASES) + sorted(MULTIVARIATE))
def test_sample_moments(name, key):
    make, ref, _ = {**CASES, **MULTIVARIATE}[name]
    dist = make()
    n = 200_000
    draws = np.asarray(dist.sample(key, (n,)), dtype=np.float64)
    assert draws.shape == (n,) + dist.batch_shape + dist.event_shape
    assert np.all(np.asarray(dist.support.check(jnp.asarray(draws))))
    try:
        mean, var = np.asarray(dist.mean), np.asarray(dist.variance)
    except NotImplementedError:
        # No closed-form moments: compare quantiles with scipy instead.
        qs = [0.1, 0.5, 0.9]
        np.testing.assert_allclose(np.quantile(draws, qs), ref.ppf(qs), rtol=0.03, atol=0.03)
        return
    ref_mean = np.asarray(ref.mean() if callable(ref.mean) else ref.mean)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-9, atol=1e-12)
    if np.all(np.isfinite(var)):
        if name in ("MultivariateNormal", "Multinomial"):
            ref_var = np.diag(ref.cov() if callable(ref.cov) else ref.cov)
        else:
            ref_var = np.asarray(ref.var())
        np.testing.assert_allclose(var, ref_var, rtol=1e-9)
        # Monte Carlo error of the mean and variance: a generous 6 standard errors.
        np.testing.assert_allclose(draws.mean(0), mean, atol=6 * np.sqrt(var / n).max() + 1e-12)
        np.testing.assert_allclose(draws.var(0), var, rtol=0.05)
    else:
        assert np.all(np.isinf(var)) == np.all(np.isinf(ref.var()))


def test_cauchy_has_no_moments():
    with pytest.raises(NotImplementedError, match="mean"):
        ds.Cauchy(0.0, 1.0).mean


@pytest.mark.parametrize(
    "df, mean_nan, var",
    [(0.5, True, np.nan), (1.5, False, np.inf), (4.0, False, 2.0)],
)
def test_student_t_moments_follow_scipy(df, mean_nan, var):
    d = ds.StudentT(df, 0.0, 1.0)
    assert np.isnan(float(d.mean)) == mean_nan
    np.testing.assert_equal(float(d.variance), st.t(df).var())


def test_batch_shapes_broadcast(key):
    d = ds.Normal(jnp.zeros((3, 1)), jnp.ones(4))
    assert d.batch_shape == (3, 4)
    assert d.sample(key, (2,)).shape == (2, 3, 4)
    assert d.log_prob(jnp.zeros((5, 1, 1))).shape == (5, 3, 4)
    assert d.log_prob(0.0).shape == (3, 4)
    mvn = ds.MultivariateNormal(jnp.zeros((5, 2)), jnp.eye(2))
    assert mvn.batch_shape == (5,) and mvn.event_shape == (2,)
    assert mvn.sample(key, (7,)).shape == (7, 5, 2)
    assert mvn.log_prob(jnp.zeros(2)).shape == (5,)
    cat = ds.Categorical(logits=jnp.zeros((4, 3)))
    assert cat.batch_shape == (4,) and cat.sample(key).shape == (4,)


BATCHED = {
    "Binomial": lambda: ds.Binomial(jnp.array([3.0, 5.0]), probs=jnp.full((4, 1), 0.3)),
    "BetaBinomial": lambda: ds.BetaBinomial(jnp.ones((4, 1)), jnp.array([1.0, 2.0]), 6),
    "Geometric": lambda: ds.Geometric(logits=jnp.zeros((4, 2))),
    "NegativeBinomial": lambda: ds.NegativeBinomial(jnp.ones((4, 1)), logits=jnp.array([0.0, 1.0])),
    "NegativeBinomial2": lambda: ds.NegativeBinomial2(jnp.array([1.0, 3.0]), jnp.ones((4, 1))),
    "Laplace": lambda: ds.Laplace(jnp.zeros((4, 1)), jnp.ones(2)),
    "Logistic": lambda: ds.Logistic(jnp.zeros((4, 1)), jnp.ones(2)),
    "Gumbel": lambda: ds.Gumbel(jnp.zeros((4, 1)), jnp.ones(2)),
    "Weibull": lambda: ds.Weibull(jnp.ones((4, 1)), jnp.array([1.0, 2.0])),
    "Pareto": lambda: ds.Pareto(jnp.ones((4, 1)), jnp.array([1.0, 2.0])),
    "InverseGamma": lambda: ds.InverseGamma(jnp.ones((4, 1)), jnp.array([1.0, 2.0])),
    "Chi2": lambda: ds.Chi2(jnp.ones((4, 2))),
    "HalfStudentT": lambda: ds.HalfStudentT(jnp.ones((4, 1)), jnp.array([1.0, 2.0])),
    "VonMises": lambda: ds.VonMises(jnp.zeros((4, 1)), jnp.array([1.0, 2.0])),
    "Mixture": lambda: ds.Mixture(ds.Categorical(logits=jnp.zeros(2)), [ds.Normal(jnp.zeros((4, 1)), 1.0), ds.Laplace(jnp.zeros(2))]),
    "MixtureSameFamily": lambda: ds.MixtureSameFamily(ds.Categorical(logits=jnp.zeros(3)),
                                                      ds.Normal(jnp.zeros((4, 1, 3)), jnp.ones((2, 3)))),
}


@pytest.mark.parametrize("name", sorted(BATCHED))
def test_new_families_broadcast_and_jit(name, key):
    d = BATCHED[name]()
    assert d.batch_shape == (4, 2)
    draws = d.sample(key, (3,))
    assert draws.shape == (3, 4, 2)
    lp = jax.jit(lambda dist, x: dist.log_prob(x))(d, draws)
    assert lp.shape == (3, 4, 2) and np.all(np.isfinite(np.asarray(lp)))
    assert d.log_prob(draws[0, 0, 0]).shape == (4, 2)


def test_same_key_same_draws(key):
    d = ds.Gamma(2.0, 3.0)
    np.testing.assert_array_equal(d.sample(key, (10,)), d.sample(key, (10,)))
    assert not np.array_equal(d.sample(key, (10,)), d.sample(jax.random.fold_in(key, 1), (10,)))


def test_multivariate_normal_from_covariance():
    cov = jnp.array([[2.0, 0.3], [0.3, 0.5]])
    d = ds.MultivariateNormal(jnp.zeros(2), covariance_matrix=cov)
    np.testing.assert_allclose(d.covariance_matrix, cov, rtol=1e-12)
    np.testing.assert_allclose(d.log_prob(jnp.array([0.4, -0.2])), st.multivariate_normal([0, 0], cov).logpdf([0.4, -0.2]))


# --- reparameterised gradients -------------------------------------------------------


def test_normal_reparameterised_gradient(key):
    # d/dmu E[x^2] = 2 mu for x ~ Normal(mu, sigma).
    def expected_square(mu):
        return jnp.mean(ds.Normal(mu, 0.7).sample(key, (100_000,)) ** 2)

    mu = 1.3
    np.testing.assert_allclose(jax.grad(expected_square)(mu), 2 * mu, rtol=1e-2)


@pytest.mark.parametrize(
    "make, dparam, exact",
    [
        # d/dscale E[x] for x ~ LogNormal(0, s): E = exp(s^2 / 2), derivative s exp(s^2 / 2).
        (lambda s: ds.LogNormal(0.0, s), 0.5, 0.5 * math.exp(0.125)),
        # d/da E[x] for Gamma(a, rate 2): 1 / 2 (implicit reparameterisation).
        (lambda a: ds.Gamma(a, 2.0), 3.0, 0.5),
        # d/da E[x] for Beta(a, 2): 2 / (a + 2)^2.
        (lambda a: ds.Beta(a, 2.0), 1.5, 2 / 3.5**2),
        # d/drate E[x] for Exponential: -1 / rate^2.
        (lambda r: ds.Exponential(r), 2.0, -0.25),
        # d/dhigh E[x] for Uniform(0, high): 1 / 2.
        (lambda h: ds.Uniform(0.0, h), 3.0, 0.5),
        # d/drate E[x] for InverseGamma(4, rate): 1 / 3.
        (lambda b: ds.InverseGamma(4.0, b), 2.0, 1 / 3),
        # d/ddf E[x] for Chi2: 1.
        (lambda k: ds.Chi2(k), 3.0, 1.0),
    ],
)
def test_pathwise_gradients_of_means(make, dparam, exact, key):
    grad = jax.grad(lambda p: jnp.mean(make(p).sample(key, (200_000,))))(dparam)
    np.testing.assert_allclose(grad, exact, rtol=0.03)


@pytest.mark.parametrize(
    "make, params",
    [
        (lambda p: ds.Laplace(p[0], p[1]), [0.3, 1.2]),
        (lambda p: ds.Logistic(p[0], p[1]), [0.3, 1.2]),
        (lambda p: ds.Gumbel(p[0], p[1]), [0.3, 1.2]),
        (lambda p: ds.Weibull(p[0], p[1]), [1.3, 1.7]),
        (lambda p: ds.Pareto(p[0], p[1]), [1.3, 2.5]),
        (lambda p: ds.HalfStudentT(5.0, p[0]), [1.3]),
        (lambda p: ds.InverseGamma(3.0, p[0]), [1.3]),
        (lambda p: ds.TransformedDistribution(ds.Normal(p[0], p[1]), [ds.bijections.Exp(), ds.bijections.Affine(1.0, 2.0)]),
         [0.3, 0.8]),
    ],
)
def test_pathwise_gradients_match_finite_differences(make, params, key):
    # Same key, so each draw is a smooth function of the parameters: the pathwise gradient
    # of a sum of draws equals its central finite difference.
    f = jax.jit(lambda p: jnp.sum(jnp.sin(make(p).sample(key, (64,)))))
    p = jnp.asarray(params)
    assert make(p).has_rsample
    np.testing.assert_allclose(jax.grad(f)(p), finite_difference_grad(f, p), rtol=1e-5, atol=1e-7)


def test_truncated_normal_gradient_matches_mean_derivative(key):
    def mc_mean(loc):
        return jnp.mean(ds.TruncatedNormal(loc, 1.0, low=0.0, high=2.0).sample(key, (200_000,)))

    exact = jax.grad(lambda loc: ds.TruncatedNormal(loc, 1.0, low=0.0, high=2.0).mean)(0.3)
    np.testing.assert_allclose(jax.grad(mc_mean)(0.3), exact, rtol=0.03)


def test_log_prob_gradients_match_scipy_finite_differences():
    # d/dscale log N(x; 0, s) = -1/s + x^2 / s^3.
    x, s = 0.7, 1.3
    g = jax.grad(lambda s: ds.Normal(0.0, s).log_prob(x))(s)
    np.testing.assert_allclose(g, -1 / s + x**2 / s**3, rtol=1e-10)
    jax.test_util.check_grads(jax.jit(lambda a, b: ds.Beta(a, b).log_prob(0.3)), (2.0, 3.0), order=2)
    jax.test_util.check_grads(jax.jit(lambda r: ds.Poisson(r).log_prob(4)), (2.5,), order=2)
    jax.test_util.check_grads(jax.jit(lambda m, phi: ds.NegativeBinomial2(m, phi).log_prob(3)), (2.5, 1.5), order=1)
    jax.test_util.check_grads(jax.jit(lambda l: ds.Binomial(9, logits=l).log_prob(4)), (0.4,), order=1)
    jax.test_util.check_grads(jax.jit(lambda a, b: ds.BetaBinomial(a, b, 6).log_prob(2)), (1.5, 2.5), order=1)
    jax.test_util.check_grads(jax.jit(lambda s, k: ds.Weibull(s, k).log_prob(0.8)), (1.5, 2.0), order=1)
    jax.test_util.check_grads(jax.jit(lambda df, s: ds.HalfStudentT(df, s).log_prob(0.8)), (4.0, 2.0), order=1)
    jax.test_util.check_grads(
        jax.jit(lambda loc, l: ds.MultivariateNormal(loc, jnp.tril(l)).log_prob(jnp.array([0.3, -0.4]))),
        (jnp.array([0.1, 0.2]), jnp.array([[1.2, 0.0], [0.3, 0.9]])),
        order=1,
    )


# --- bijections --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES) + sorted(MULTIVARIATE))
def test_bijection_round_trip_and_jacobian(name, key):
    dist = {**CASES, **MULTIVARIATE}[name][0]()
    support = dist.support
    if support.is_discrete:
        with pytest.raises(TypeError, match="discrete"):
            support.from_unconstrained(jnp.zeros(()))
        return
    shape = support.unconstrained_shape(dist.event_shape)
    u = jax.random.normal(key, (5,) + shape)
    x = support.from_unconstrained(u)
    assert np.all(np.asarray(support.check(x)))
    np.testing.assert_allclose(support.to_unconstrained(x), u, rtol=1e-6, atol=1e-8)
    # log|det J| against the autodiff Jacobian, point by point.
    for ui in u:
        if support.event_dim == 0:
            jac = jax.grad(lambda v: support.from_unconstrained(v))(ui)
            logdet = np.log(np.abs(jac))
        elif isinstance(support, type(ds.constraints.simplex)):
            jac = jax.jacfwd(lambda v: support.from_unconstrained(v)[:-1])(ui)
            logdet = np.linalg.slogdet(np.asarray(jac))[1]
        else:
            logdet = np.linalg.slogdet(np.asarray(jax.jacfwd(support.from_unconstrained)(ui)))[1]
        np.testing.assert_allclose(support.log_abs_det_jacobian(ui), logdet, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "support",
    [
        ds.constraints.ordered,
        ds.constraints.positive_ordered,
        ds.TransformedDistribution(ds.Normal(jnp.zeros(4), 1.0), [ds.bijections.Ordered()]).support,
        ds.TransformedDistribution(ds.Normal(jnp.zeros(4), 1.0), [ds.bijections.PositiveOrdered()]).support,
        ds.TransformedDistribution(ds.Normal(jnp.zeros(4), 1.0), [ds.bijections.Sigmoid()]).support,
    ],
)
def test_vector_bijections_round_trip_and_jacobian(support, key):
    u = jax.random.normal(key, (5, 4))
    x = support.from_unconstrained(u)
    assert np.all(np.asarray(support.check(x)))
    np.testing.assert_allclose(support.to_unconstrained(x), u, rtol=1e-6, atol=1e-8)
    for ui in u:
        jac = jax.jacfwd(support.from_unconstrained)(ui)
        jac = jnp.diag(jac) if support.event_dim == 0 else jac
        logdet = np.linalg.slogdet(np.asarray(jac))[1] if support.event_dim else np.log(np.abs(np.asarray(jac)))
        np.testing.assert_allclose(support.log_abs_det_jacobian(ui), logdet, rtol=1e-6, atol=1e-8)
    assert not np.all(np.asarray(support.check(jnp.array([0.5, 0.2, 1.5, 2.0]))))  # unordered, and off (0, 1)


def test_positive_ordered_transformed_density(key):
    d = ds.TransformedDistribution(ds.Normal(jnp.zeros(3), 1.0), [ds.bijections.PositiveOrdered()])
    draws = np.asarray(d.sample(key, (2000,)))
    assert np.all(draws[:, 0] > 0) and np.all(np.diff(draws, axis=-1) > 0)
    assert np.mean(np.diff(draws, axis=-1) < 0.5) > 0.2  # small gaps are reachable (not so from a positive base under Ordered)
    y = np.array([0.2, 0.5, 2.5])
    x = np.log(np.diff(y, prepend=0.0))
    np.testing.assert_allclose(d.log_prob(y), st.norm.logpdf(x).sum() - x.sum(), rtol=1e-12)
    assert np.isneginf(d.log_prob(jnp.array([-0.1, 1.0, 2.0]))) and np.isneginf(d.log_prob(jnp.array([1.0, 0.5, 2.0])))


def test_von_mises_location_and_wrapping(key):
    d = ds.VonMises(3.0, 2.0)
    x = jnp.array([-3.0, 0.1, 3.1])
    np.testing.assert_allclose(d.log_prob(x), st.vonmises(2.0).logpdf(np.angle(np.exp(1j * (np.asarray(x) - 3.0)))),
                               rtol=1e-10)
    draws = np.asarray(d.sample(key, (50_000,)))
    assert draws.min() >= -np.pi and draws.max() <= np.pi
    np.testing.assert_allclose(np.angle(np.mean(np.exp(1j * draws))), 3.0, atol=0.02)
    assert np.isneginf(d.log_prob(4.0))


def test_multinomial_off_support_and_batches(key):
    d = ds.Multinomial(5, logits=jnp.zeros((2, 3)))
    assert d.batch_shape == (2,) and d.event_shape == (3,)
    assert d.sample(key, (4,)).shape == (4, 2, 3)
    off = jnp.array([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [-1.0, 3.0, 3.0], [1.5, 1.5, 2.0]])
    assert np.all(np.isneginf(np.asarray(ds.Multinomial(5, probs=jnp.array([0.2, 0.5, 0.3])).log_prob(off))))


def test_corr_cholesky_bijection_round_trip_and_jacobian(key):
    support = ds.constraints.corr_cholesky
    assert support.unconstrained_shape((4, 4)) == (6,)
    u = 1.5 * jax.random.normal(key, (4, 6))
    x = support.from_unconstrained(u)
    assert np.all(np.asarray(support.check(x)))
    np.testing.assert_allclose(support.to_unconstrained(x), u, rtol=1e-6, atol=1e-8)
    rows, cols = np.tril_indices(4, -1)
    for ui in u:  # the Jacobian onto the free (strictly lower) entries
        jac = jax.jacfwd(lambda v: support.from_unconstrained(v)[rows, cols])(ui)
        np.testing.assert_allclose(support.log_abs_det_jacobian(ui), np.linalg.slogdet(np.asarray(jac))[1], rtol=1e-6)
    assert not np.any(np.asarray(support.check(jnp.array([[1.0, 0.0], [0.5, 0.5]]))))


def test_lkj_cholesky_density_and_draws(key):
    # d = 2: the correlation r has (r + 1) / 2 ~ Beta(eta, eta).
    r, eta = 0.3, 2.0
    L2 = jnp.array([[1.0, 0.0], [r, math.sqrt(1 - r * r)]])
    np.testing.assert_allclose(ds.LKJCholesky(2, eta).log_prob(L2), st.beta(eta, eta).logpdf((r + 1) / 2) - math.log(2),
                               rtol=1e-12)
    d = ds.LKJCholesky(3, 1.5)
    assert d.event_shape == (3, 3) and d.batch_shape == ()
    # Normalised: importance sampling through the bijection integrates the density to one.
    support = d.support
    u = jax.random.normal(key, (200_000, 3))
    w = d.log_prob(support.from_unconstrained(u)) + support.log_abs_det_jacobian(u) - st.norm.logpdf(np.asarray(u)).sum(-1)
    np.testing.assert_allclose(np.mean(np.exp(w)), 1.0, atol=0.02)
    # Every off-diagonal correlation has (r + 1) / 2 ~ Beta(a, a), a = eta - 1 + d / 2: variance 1 / (2a + 1).
    L = d.sample(key, (50_000,))
    assert np.all(np.asarray(support.check(L)))
    corr = np.asarray(L @ jnp.swapaxes(L, -1, -2))
    np.testing.assert_allclose([corr[:, 0, 1].var(), corr[:, 1, 2].var()], 0.2, rtol=0.05)
    np.testing.assert_allclose(corr[:, 0, 2].mean(), 0.0, atol=0.01)
    assert np.isneginf(d.log_prob(jnp.eye(3) * 2))
    assert ds.LKJCholesky(4, jnp.ones(2)).sample(key, (3,)).shape == (3, 2, 4, 4)


def test_ordered_transformed_density(key):
    d = ds.TransformedDistribution(ds.Normal(jnp.zeros(3), 2.0), [ds.bijections.Ordered()])
    assert d.batch_shape == () and d.event_shape == (3,) and d.has_rsample
    draws = d.sample(key, (100,))
    assert draws.shape == (100, 3) and np.all(np.diff(np.asarray(draws), axis=-1) > 0)
    y = np.array([-1.0, 0.5, 0.7])
    x = np.array([-1.0, np.log(1.5), np.log(0.2)])
    np.testing.assert_allclose(d.log_prob(y), st.norm(0, 2).logpdf(x).sum() - x[1:].sum(), rtol=1e-12)
    assert np.isneginf(d.log_prob(jnp.array([0.0, 1.0, 0.5])))


def test_sigmoid_transformed_is_logit_normal():
    d = ds.TransformedDistribution(ds.Normal(0.4, 1.3), [ds.bijections.Sigmoid()])
    y = np.array([0.05, 0.5, 0.9])
    logit = np.log(y) - np.log1p(-y)
    np.testing.assert_allclose(d.log_prob(y), st.norm(0.4, 1.3).logpdf(logit) - np.log(y * (1 - y)), rtol=1e-10)
    np.testing.assert_array_equal(np.isneginf(np.asarray(d.log_prob(jnp.array([-0.1, 1.0, 1.5])))), True)


def test_mixture_same_family_of_vectors(key):
    locs = jnp.array([[0.0, 0.0], [3.0, -1.0], [-2.0, 2.0]])
    comp = ds.MultivariateNormal(locs, jnp.eye(2) * 0.5)
    w = jnp.array([0.2, 0.5, 0.3])
    mix = ds.MixtureSameFamily(ds.Categorical(probs=w), comp)
    assert mix.batch_shape == () and mix.event_shape == (2,)
    x = jnp.array([[0.1, 0.2], [2.0, -0.5]])
    ref = [np.log(sum(wi * st.multivariate_normal(li, 0.25 * np.eye(2)).pdf(xi) for wi, li in zip(w, locs))) for xi in x]
    np.testing.assert_allclose(mix.log_prob(x), ref, rtol=1e-10)
    draws = mix.sample(key, (50_000,))
    assert draws.shape == (50_000, 2)
    np.testing.assert_allclose(draws.mean(0), mix.mean, atol=0.05)
    np.testing.assert_allclose(mix.mean, w @ locs, rtol=1e-12)
    # A batch of two mixtures of scalar normals.
    batched = ds.MixtureSameFamily(ds.Categorical(logits=jnp.zeros((2, 3))), ds.Normal(jnp.zeros((2, 3)), 1.0))
    assert batched.batch_shape == (2,) and batched.sample(key, (4,)).shape == (4, 2)
    assert batched.log_prob(jnp.zeros((5, 1))).shape == (5, 2)


# A short run checks that draws stay in the support; its mixing is not the point (and is reported).
@pytest.mark.filterwarnings("ignore::difsci.ChainHealthWarning")
def test_nuts_on_ordered_and_lkj_latents():
    def model():
        ds.sample("c", ds.TransformedDistribution(ds.Normal(jnp.zeros(3), 2.0), [ds.bijections.Ordered()]))
        ds.sample("L", ds.LKJCholesky(3, 2.0))

    result = ds.nuts(model, jax.random.key(2), num_warmup=100, num_samples=100, num_chains=2)
    assert result.samples["c"].shape == (2, 100, 3) and result.samples["L"].shape == (2, 100, 3, 3)
    assert np.all(np.diff(np.asarray(result.samples["c"]), axis=-1) > 0)
    assert np.all(np.asarray(ds.constraints.corr_cholesky.check(result.samples["L"])))


# --- Gumbel-softmax relaxations -------------------------------------------------------


def test_relaxed_bernoulli_density_integrates_to_one():
    d = ds.RelaxedBernoulli(0.7, logits=0.4)
    y = np.linspace(1e-6, 1 - 1e-6, 400_001)
    assert abs(np.trapezoid(np.exp(np.asarray(d.log_prob(jnp.asarray(y)))), y) - 1) < 1e-3


def test_concrete_with_two_classes_is_binary_concrete():
    logits = jnp.array([0.9, -0.3])
    y = jnp.array([0.1, 0.5, 0.83])
    two = ds.RelaxedOneHotCategorical(0.6, logits=logits).log_prob(jnp.stack([y, 1 - y], -1))
    binary = ds.RelaxedBernoulli(0.6, logits=logits[0] - logits[1]).log_prob(y)
    np.testing.assert_allclose(two, binary, rtol=1e-10)


@pytest.mark.parametrize("temperature, tol", [(1.0, None), (0.1, 0.05), (0.02, 0.01)])
def test_gumbel_softmax_frequencies_approach_categorical(temperature, tol, key):
    probs = jnp.array([0.1, 0.6, 0.3])
    draws = ds.RelaxedOneHotCategorical(temperature, probs=probs).sample(key, (100_000,))
    # The soft draw's largest entry is an exact categorical draw at every temperature (Gumbel-max);
    # as T -> 0 the draws themselves become one-hot, so their mean tends to the probabilities.
    np.testing.assert_allclose(np.bincount(np.argmax(draws, -1), minlength=3) / 1e5, probs, atol=0.01)
    gap = float(jnp.abs(draws.mean(0) - probs).max())
    if tol is not None:
        assert gap < tol
    hard_mass = float(jnp.mean(draws.max(-1)))
    assert hard_mass > {1.0: 0.5, 0.1: 0.9, 0.02: 0.98}[temperature]


def test_relaxed_bernoulli_approaches_bernoulli(key):
    draws = ds.RelaxedBernoulli(0.01, probs=0.3).sample(key, (100_000,))
    assert float(jnp.mean(jnp.abs(draws - jnp.round(draws)))) < 0.01
    np.testing.assert_allclose(float(jnp.mean(draws)), 0.3, atol=0.01)


def test_straight_through_is_one_hot_with_relaxed_gradient(key):
    logits = jnp.array([0.2, -0.5, 1.0])
    st_dist = ds.RelaxedOneHotCategoricalStraightThrough(0.5, logits=logits)
    hard = st_dist.sample(key, (4,))
    assert np.all(np.asarray(ds.constraints.one_hot.check(hard)))
    # Backward pass: the gradient is that of the relaxed draw made with the same key.
    w = jnp.array([1.0, 2.0, 3.0])
    g_st = jax.grad(lambda l: jnp.sum(ds.RelaxedOneHotCategoricalStraightThrough(0.5, logits=l).sample(key) @ w))(logits)
    g_soft = jax.grad(lambda l: jnp.sum(ds.RelaxedOneHotCategorical(0.5, logits=l).sample(key) @ w))(logits)
    np.testing.assert_allclose(g_st, g_soft, rtol=1e-10)
    assert np.any(np.asarray(g_st) != 0)
    np.testing.assert_allclose(st_dist.log_prob(hard), np.asarray(jax.nn.log_softmax(logits))[np.argmax(hard, -1)])


# --- bad input -------------------------------------------------------------------------

BAD = [
    (lambda: ds.Normal(0.0, -1.0), "scale"),
    (lambda: ds.Normal(jnp.nan, 1.0), "loc"),
    (lambda: ds.LogNormal(0.0, 0.0), "scale"),
    (lambda: ds.HalfNormal(-2.0), "scale"),
    (lambda: ds.Uniform(1.0, 1.0), "low"),
    (lambda: ds.TruncatedNormal(0.0, 1.0, low=2.0, high=1.0), "low"),
    (lambda: ds.Cauchy(0.0, -1.0), "scale"),
    (lambda: ds.HalfCauchy(0.0), "scale"),
    (lambda: ds.StudentT(-1.0), "df"),
    (lambda: ds.Beta(0.0, 1.0), "`a`"),
    (lambda: ds.Gamma(1.0, -2.0), "rate"),
    (lambda: ds.Exponential(0.0), "rate"),
    (lambda: ds.Poisson(-1.0), "rate"),
    (lambda: ds.Bernoulli(probs=1.5), "probs"),
    (lambda: ds.Bernoulli(probs=0.5, logits=0.0), "exactly one"),
    (lambda: ds.Categorical(probs=jnp.array([0.5, 0.6])), "probs"),
    (lambda: ds.Categorical(), "exactly one"),
    (lambda: ds.MultivariateNormal(jnp.zeros(2), jnp.array([[1.0, 0.5], [0.0, 1.0]])), "scale_tril"),
    (lambda: ds.MultivariateNormal(jnp.zeros(3), jnp.eye(2)), "shape"),
    (lambda: ds.Dirichlet(jnp.array([1.0, -1.0])), "concentration"),
    (lambda: ds.Dirichlet(jnp.array([1.0])), "K >= 2"),
    (lambda: ds.Binomial(10, probs=-0.1), "probs"),
    (lambda: ds.Binomial(2.5, probs=0.5), "total_count"),
    (lambda: ds.Binomial(10), "exactly one"),
    (lambda: ds.BetaBinomial(1.0, 0.0, 5), "`b`"),
    (lambda: ds.BetaBinomial(1.0, 1.0, -1), "total_count"),
    (lambda: ds.Geometric(probs=0.0), "probs"),
    (lambda: ds.NegativeBinomial(0.0, probs=0.5), "total_count"),
    (lambda: ds.NegativeBinomial(2.0, probs=1.0), "probs"),
    (lambda: ds.NegativeBinomial2(-1.0, 2.0), "mean"),
    (lambda: ds.NegativeBinomial2(1.0, 0.0), "concentration"),
    (lambda: ds.Laplace(0.0, 0.0), "scale"),
    (lambda: ds.Logistic(jnp.inf, 1.0), "loc"),
    (lambda: ds.Gumbel(0.0, -1.0), "scale"),
    (lambda: ds.Weibull(1.0, -2.0), "concentration"),
    (lambda: ds.Weibull(0.0, 2.0), "scale"),
    (lambda: ds.Pareto(1.0, 0.0), "alpha"),
    (lambda: ds.InverseGamma(-1.0, 1.0), "concentration"),
    (lambda: ds.Chi2(0.0), "df"),
    (lambda: ds.HalfStudentT(2.0, -1.0), "scale"),
    (lambda: ds.HalfStudentT(0.0), "df"),
    (lambda: ds.MixtureSameFamily(ds.Categorical(probs=jnp.array([0.5, 0.5])), ds.Normal(jnp.zeros(3), 1.0)), "component"),
    (lambda: ds.Mixture(ds.Categorical(probs=jnp.array([0.5, 0.5])), [ds.Normal(0.0, 1.0)]), "components"),
    (lambda: ds.Mixture(ds.Categorical(probs=jnp.array([0.5, 0.5])), [ds.Normal(), ds.Poisson(1.0)]), "discrete"),
    (lambda: ds.TransformedDistribution(ds.Poisson(1.0), [ds.bijections.Exp()]), "base"),
    (lambda: ds.TransformedDistribution(ds.Normal(0.0, 1.0), [ds.bijections.Ordered()]), "bijections"),
    (lambda: ds.bijections.Affine(0.0, 0.0), "scale"),
    (lambda: ds.VonMises(0.0, 0.0), "concentration"),
    (lambda: ds.LKJCholesky(1, 1.0), "dimension"),
    (lambda: ds.LKJCholesky(3, -1.0), "concentration"),
    (lambda: ds.Multinomial(2.5, probs=jnp.array([0.5, 0.5])), "total_count"),
    (lambda: ds.Multinomial(3, probs=jnp.array([0.5, 0.6])), "probs"),
    (lambda: ds.RelaxedBernoulli(0.0, probs=0.5), "temperature"),
    (lambda: ds.RelaxedOneHotCategorical(-1.0, logits=jnp.zeros(3)), "temperature"),
]


@pytest.mark.parametrize("make, words", BAD)
def test_bad_parameters_raise_eagerly(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_bad_parameters_raise_under_jit():
    @jax.jit
    def f(scale):
        return ds.Normal(0.0, scale).log_prob(1.0)

    assert np.isfinite(f(1.0))
    with pytest.raises(Exception, match="Normal: `scale` must be > 0"):
        f(-1.0).block_until_ready()

    @jax.jit
    def g(t):
        return ds.RelaxedOneHotCategorical(t, logits=jnp.zeros(3)).log_prob(jnp.ones(3) / 3)

    with pytest.raises(Exception, match="temperature"):
        g(0.0).block_until_ready()

    @jax.jit
    def h(phi):
        return ds.NegativeBinomial2(2.0, phi).log_prob(3)

    assert np.isfinite(h(1.0))
    with pytest.raises(Exception, match="NegativeBinomial2: `concentration` must be > 0"):
        h(-1.0).block_until_ready()


# --- issue 21: hostile-input findings ------------------------------------------------------

TAILS = [(50.0, 60.0), (5.0, 15.0), (-60.0, -50.0), (-15.0, -5.0), (50.0, None), (None, -50.0), (-0.5, 30.0),
         (-1.0, 2.0)]


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("low, high", TAILS)
def test_truncated_normal_far_tails_match_scipy(low, high, dtype, key):
    # Draws 50 standard deviations out used to pile up at the far bound (every draw 60.0).
    d = ds.TruncatedNormal(jnp.asarray(0.0, dtype), jnp.asarray(1.0, dtype), low=low, high=high)
    x = d.sample(key, (20_000,))
    assert x.dtype == dtype
    x = np.asarray(x, np.float64)
    ref = st.truncnorm(-np.inf if low is None else low, np.inf if high is None else high)
    assert np.all((x >= ref.a) & (x <= ref.b))
    # Quantiles measured from the near bound, where the mass sits; 20,000 draws resolve ~2 %.
    near = ref.a if np.isfinite(ref.a) and (ref.a > 0 or not np.isfinite(ref.b)) else (
        ref.b if np.isfinite(ref.b) and ref.b < 0 else 0.0)
    qs = [0.1, 0.5, 0.9]
    np.testing.assert_allclose(np.quantile(x, qs) - near, ref.ppf(qs) - near, rtol=0.04, atol=0.02)
    np.testing.assert_allclose(x.mean(), ref.mean(), atol=5 * ref.std() / np.sqrt(x.size))


def test_truncated_normal_tail_draws_keep_their_gradient(key):
    # d mean / d loc of TruncatedNormal(loc, 1, low=5) at loc = 0 is the variance of the standard
    # normal truncated to [5, inf) (mean = loc + lambda(a), a = 5 - loc, lambda' = lambda (lambda - a)).
    for low, high in [(5.0, None), (5.0, 15.0), (-15.0, -5.0)]:
        f = lambda loc: jnp.mean(ds.TruncatedNormal(loc, 1.0, low=low, high=high).sample(key, (20_000,)))
        ref = st.truncnorm(-np.inf if low is None else low, np.inf if high is None else high).var()
        np.testing.assert_allclose(float(jax.grad(f)(0.0)), ref, rtol=0.03)


@pytest.mark.parametrize("name", sorted(CASES) + sorted(MULTIVARIATE))
def test_log_prob_of_nan_is_minus_inf(name):
    # NaN lies outside every support: it scores -inf (a sampler rejects it), never NaN.
    dist = {**CASES, **MULTIVARIATE}[name][0]()
    value = jnp.full(dist.batch_shape + dist.event_shape, jnp.nan)
    assert np.all(np.isneginf(np.asarray(dist.log_prob(value))))


def test_log_prob_gradients_at_the_edge_of_the_parameter_range():
    assert float(jax.grad(lambda r: ds.Poisson(r).log_prob(0.0))(0.0)) == -1.0
    assert float(jax.grad(lambda p: ds.Bernoulli(probs=p).log_prob(1.0))(1.0)) == 1.0
    assert float(jax.grad(lambda p: ds.Bernoulli(probs=p).log_prob(0.0))(0.0)) == -1.0
    assert float(jax.grad(lambda p: ds.Binomial(5, probs=p).log_prob(5.0))(1.0)) == 5.0
    assert float(jax.grad(lambda p: ds.Binomial(5, probs=p).log_prob(0.0))(0.0)) == -5.0
    assert float(jax.grad(lambda p: ds.Geometric(probs=p).log_prob(0.0))(1.0)) == 1.0
    assert float(jax.grad(lambda p: ds.NegativeBinomial(2.0, probs=p).log_prob(0.0))(0.0)) == -2.0


def test_categorical_with_infinite_logits_is_the_limit(key):
    d = ds.Categorical(logits=jnp.array([0.0, jnp.inf]))
    np.testing.assert_array_equal(np.asarray(d.log_prob(jnp.array([0, 1]))), [-np.inf, 0.0])
    assert np.all(np.asarray(d.sample(key, (100,))) == 1)
    d = ds.Categorical(logits=jnp.array([jnp.inf, -1.0, jnp.inf]))
    np.testing.assert_allclose(np.asarray(d.probs), [0.5, 0.0, 0.5])
    assert not np.any(np.isnan(np.asarray(jax.grad(lambda l: ds.Categorical(logits=l).log_prob(1))(
        jnp.array([0.0, jnp.inf])))))
    with pytest.raises(ValueError, match="logits"):
        ds.Categorical(logits=jnp.array([-jnp.inf, -jnp.inf]))


@pytest.mark.parametrize(
    "make, value, shapes",
    [
        (lambda: ds.Normal(jnp.zeros(3), 1.0), jnp.zeros(4), ["(4,)", "(3,)"]),
        (lambda: ds.MultivariateNormal(jnp.zeros(3), jnp.eye(3)), jnp.zeros(2), ["(2,)", "(3,)"]),
        (lambda: ds.Dirichlet(jnp.ones(3)), jnp.ones(2) / 2, ["(2,)", "(3,)"]),
        (lambda: ds.Categorical(logits=jnp.zeros((2, 3))), jnp.zeros(3, int), ["(3,)", "(2,)"]),
    ],
)
def test_log_prob_of_a_wrong_shaped_value_names_the_shapes(make, value, shapes):
    with pytest.raises(ValueError, match="`value` has shape") as info:
        make().log_prob(value)
    assert all(s in str(info.value) for s in shapes), str(info.value)


def test_sample_shape_accepts_an_int_and_rejects_negative_sizes(key):
    for d in [ds.Normal(0.0, 1.0), ds.Dirichlet(jnp.ones(3)), ds.MixtureSameFamily(
            ds.Categorical(logits=jnp.zeros(2)), ds.Normal(jnp.zeros(2), 1.0))]:
        np.testing.assert_array_equal(np.asarray(d.sample(key, 3)), np.asarray(d.sample(key, (3,))))
    for bad in [(-1,), -2, (2.5,), "3"]:
        with pytest.raises(ValueError, match="sample_shape"):
            ds.Normal(0.0, 1.0).sample(key, bad)


def test_bound_methods_jit():
    # A distribution's bound method is a pytree holding arrays; jax.jit hashes it.
    np.testing.assert_allclose(float(jax.jit(ds.Beta(2.0, 2.0).log_prob)(0.5)), st.beta(2, 2).logpdf(0.5), rtol=1e-12)
    draws = jax.jit(ds.Normal(1.0, 2.0).sample, static_argnums=1)(jax.random.key(1), (4,))
    assert draws.shape == (4,)
    assert hash(ds.Normal(0.0, 1.0)) == hash(ds.Normal(0.0, 1.0))


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: ds.Normal(0.0, jnp.inf), "scale"),
        (lambda: ds.Cauchy(0.0, jnp.inf), "scale"),
        (lambda: ds.Beta(jnp.inf, 1.0), "a"),
        (lambda: ds.Poisson(jnp.inf), "rate"),
        (lambda: ds.Gamma(1.0, jnp.inf), "rate"),
        (lambda: ds.Uniform(0.0, jnp.inf), "high"),
        # df = inf is an error, not silently the Normal limit: the message says to use Normal.
        (lambda: ds.StudentT(df=jnp.inf), "df"),
        (lambda: ds.HalfStudentT(jnp.inf, 1.0), "df"),
        (lambda: ds.VonMises(0.0, jnp.inf), "concentration"),
    ],
)
def test_infinite_parameters_are_rejected(make, name):
    with pytest.raises(ValueError, match=f"`{name}` must be .*finite"):
        make()


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: ds.Normal(jnp.zeros(3), jnp.ones(4)), r"`loc` \(3,\), `scale` \(4,\)"),
        (lambda: ds.Gamma(jnp.ones(2), jnp.ones(3)), r"`concentration` \(2,\), `rate` \(3,\)"),
        (lambda: ds.Binomial(jnp.ones(3), probs=jnp.full(2, 0.5)), r"`probs` \(2,\), `total_count` \(3,\)"),
        (lambda: ds.MultivariateNormal(jnp.zeros((2, 3)), jnp.broadcast_to(jnp.eye(3), (4, 3, 3))),
         r"`loc` \(2, 3\), `scale_tril` \(4, 3, 3\)"),
        (lambda: ds.MultivariateNormal(jnp.zeros(3), jnp.eye(2)), r"`scale_tril`.*\(3,\) and \(2, 2\)"),
    ],
)
def test_parameter_shape_mismatch_names_the_arguments(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_every_family_declares_its_parameter_constraints():
    # The base class checks what `arg_constraints` declares: a family with array parameters
    # and no declaration would accept anything.
    for name in dir(ds):
        cls = getattr(ds, name)
        if isinstance(cls, type) and issubclass(cls, ds.AbstractDistribution) and name not in (
                "AbstractDistribution", "Mixture", "MixtureSameFamily", "TransformedDistribution"):
            assert cls.arg_constraints, name
