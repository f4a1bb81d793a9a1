"""Count families beyond Poisson: Binomial, BetaBinomial, Geometric, the negative binomials, Multinomial.

Draws are integer arrays; scoring accepts integer or float values and gives -inf (never NaN)
to values off the support (negative, fractional, or above `total_count`).
"""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln
from jaxtyping import Array, ArrayLike, Float

from .. import _constraints as c
from .._checks import check
from . import _arg_constraints as ac
from ._base import AbstractDistribution, as_value, exactly_one, xlog1py, xlogy
from ._discrete import normalised_logits


def _probs_or_logits(dist: AbstractDistribution, probs, logits, **others):
    """(probs, logits-or-None, *others) checked and broadcast together; exactly one of probs / logits."""
    exactly_one("probs", probs, "logits", logits, type(dist).__name__)
    if probs is not None:
        probs, *others = dist._params(probs=probs, **others)
        return (probs, None, *others)
    logits, *others = dist._params(logits=logits, **others)
    return (jax.nn.sigmoid(logits), logits, *others)


def _betaln(a, b):
    # Through gammaln: jax.scipy.special.betaln loses about seven digits in float64.
    return gammaln(a) + gammaln(b) - gammaln(a + b)


def _log_choose(n, k):
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


class Binomial(AbstractDistribution):
    """Successes in `total_count` trials with success probability `probs` (or sigmoid(`logits`))."""

    total_count: Float[Array, "*batch"]
    probs: Float[Array, "*batch"]
    logits_: Float[Array, "*batch"] | None
    arg_constraints: ClassVar = {"total_count": ac.nonnegative_integer, "probs": ac.unit_interval, "logits": ac.not_nan}

    def __init__(
        self,
        total_count: Float[ArrayLike, "*batch"] = 1,
        probs: Float[ArrayLike, "*batch"] | None = None,
        logits: Float[ArrayLike, "*batch"] | None = None,
    ):
        self.probs, self.logits_, self.total_count = _probs_or_logits(self, probs, logits, total_count=total_count)

    @property
    def logits(self) -> Array:
        if self.logits_ is not None:
            return self.logits_
        return jnp.log(self.probs) - jnp.log1p(-self.probs)

    @property
    def batch_shape(self):
        return self.probs.shape

    @property
    def support(self):
        return c.IntegerBetween(jnp.zeros_like(self.total_count), self.total_count)

    def sample(self, key, sample_shape=()):
        shape = self._shape(sample_shape)
        draws = jax.random.binomial(key, self.total_count, self.probs, shape, self.probs.dtype)
        return draws.astype(jnp.int32)

    def log_prob(self, value):
        k = as_value(value, self.probs)
        n = self.total_count
        ok = self.support.check(k)
        k = jnp.where(ok, k, 0.0)
        if self.logits_ is not None:
            # k log p + (n - k) log(1 - p) = k * logits - n * softplus(logits), stable for any logit.
            lp = k * self.logits_ - n * jax.nn.softplus(self.logits_)
        else:
            lp = xlogy(k, self.probs) + xlog1py(n - k, -self.probs)
        return jnp.where(ok, _log_choose(n, k) + lp, -jnp.inf)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)


class BetaBinomial(AbstractDistribution):
    """Binomial(`total_count`, p) with p ~ Beta(`a`, `b`) integrated out (Stan's beta_binomial)."""

    a: Float[Array, "*batch"]
    b: Float[Array, "*batch"]
    total_count: Float[Array, "*batch"]
    arg_constraints: ClassVar = {"a": ac.positive, "b": ac.positive, "total_count": ac.nonnegative_integer}

    def __init__(self, a: Float[ArrayLike, "*batch"], b: Float[ArrayLike, "*batch"],
                 total_count: Float[ArrayLike, "*batch"] = 1):
        self.a, self.b, self.total_count = self._params(a=a, b=b, total_count=total_count)

    @property
    def batch_shape(self):
        return self.a.shape

    @property
    def support(self):
        return c.IntegerBetween(jnp.zeros_like(self.total_count), self.total_count)

    def sample(self, key, sample_shape=()):
        k_beta, k_binom = jax.random.split(key)
        shape = self._shape(sample_shape)
        p = jax.random.beta(k_beta, self.a, self.b, shape, self.a.dtype)
        return jax.random.binomial(k_binom, self.total_count, p, shape, self.a.dtype).astype(jnp.int32)

    def log_prob(self, value):
        k = as_value(value, self.a)
        n = self.total_count
        ok = self.support.check(k)
        k = jnp.where(ok, k, 0.0)
        lp = _log_choose(n, k) + _betaln(k + self.a, n - k + self.b) - _betaln(self.a, self.b)
        return jnp.where(ok, lp, -jnp.inf)

    @property
    def mean(self):
        return self.total_count * self.a / (self.a + self.b)

    @property
    def variance(self):
        s = self.a + self.b
        return self.total_count * self.a * self.b * (s + self.total_count) / (s**2 * (s + 1))


class Geometric(AbstractDistribution):
    """Failures before the first success, success probability `probs` (or sigmoid(`logits`)) > 0.

    P(k) = p (1 - p)^k for k = 0, 1, 2, ... (scipy's `geom` counts trials: k + 1).
    """

    probs: Float[Array, "*batch"]
    arg_constraints: ClassVar = {"probs": ac.open_closed_unit_interval, "logits": ac.not_nan}

    def __init__(self, probs: Float[ArrayLike, "*batch"] | None = None, logits: Float[ArrayLike, "*batch"] | None = None):
        probs, _ = _probs_or_logits(self, probs, logits)
        self.probs = check(probs, probs > 0, "Geometric: `probs` must be > 0 (`logits` > -inf)")

    @property
    def batch_shape(self):
        return self.probs.shape

    @property
    def support(self):
        return c.nonnegative_integer

    def sample(self, key, sample_shape=()):
        u = jax.random.uniform(key, self._shape(sample_shape), self.probs.dtype, minval=jnp.finfo(self.probs.dtype).tiny)
        return jnp.floor(jnp.log(u) / jnp.log1p(-self.probs)).astype(jnp.int32)

    def log_prob(self, value):
        k = as_value(value, self.probs)
        ok = c.nonnegative_integer.check(k)
        k = jnp.where(ok, k, 0.0)
        return jnp.where(ok, jnp.log(self.probs) + xlog1py(k, -self.probs), -jnp.inf)

    @property
    def mean(self):
        return (1 - self.probs) / self.probs

    @property
    def variance(self):
        return (1 - self.probs) / self.probs**2


def _gamma_poisson(key, shape, concentration, mean_over_concentration, dtype):
    k_gamma, k_poisson = jax.random.split(key)
    rate = jax.random.gamma(k_gamma, concentration, shape, dtype) * mean_over_concentration
    return jax.random.poisson(k_poisson, rate, shape)


class NegativeBinomial(AbstractDistribution):
    """Failures before the `total_count`-th success, each trial failing with `probs` (or sigmoid(`logits`)).

    P(k) = C(k + r - 1, k) p^k (1 - p)^r, mean r p / (1 - p) (PyTorch's and NumPyro's convention;
    scipy's `nbinom(r, 1 - p)`). `total_count` = r > 0 need not be an integer.
    """

    total_count: Float[Array, "*batch"]
    probs: Float[Array, "*batch"]
    logits_: Float[Array, "*batch"] | None
    arg_constraints: ClassVar = {"total_count": ac.positive, "probs": ac.half_open_unit_interval, "logits": ac.not_nan}

    def __init__(
        self,
        total_count: Float[ArrayLike, "*batch"],
        probs: Float[ArrayLike, "*batch"] | None = None,
        logits: Float[ArrayLike, "*batch"] | None = None,
    ):
        probs, self.logits_, self.total_count = _probs_or_logits(self, probs, logits, total_count=total_count)
        self.probs = check(probs, probs < 1, "NegativeBinomial: `probs` must be < 1 (`logits` < inf)")

    @property
    def logits(self) -> Array:
        if self.logits_ is not None:
            return self.logits_
        return jnp.log(self.probs) - jnp.log1p(-self.probs)

    @property
    def batch_shape(self):
        return self.probs.shape

    @property
    def support(self):
        return c.nonnegative_integer

    def sample(self, key, sample_shape=()):
        odds = self.probs / (1 - self.probs)
        return _gamma_poisson(key, self._shape(sample_shape), self.total_count, odds, self.probs.dtype)

    def log_prob(self, value):
        k = as_value(value, self.probs)
        r = self.total_count
        ok = c.nonnegative_integer.check(k)
        k = jnp.where(ok, k, 0.0)
        norm = gammaln(k + r) - gammaln(k + 1) - gammaln(r)
        if self.logits_ is not None:
            lp = k * self.logits_ - (k + r) * jax.nn.softplus(self.logits_)
        else:
            lp = xlogy(k, self.probs) + r * jnp.log1p(-self.probs)
        return jnp.where(ok, norm + lp, -jnp.inf)

    @property
    def mean(self):
        return self.total_count * self.probs / (1 - self.probs)

    @property
    def variance(self):
        return self.total_count * self.probs / (1 - self.probs) ** 2


class NegativeBinomial2(AbstractDistribution):
    """Negative binomial by its `mean` > 0 and `concentration` phi > 0 (Stan's neg_binomial_2).

    Variance mean + mean^2 / phi: a Poisson whose rate is Gamma(phi, phi / mean).
    """

    mean_: Float[Array, "*batch"]
    concentration: Float[Array, "*batch"]
    arg_constraints: ClassVar = {"mean": ac.positive, "concentration": ac.positive}

    def __init__(self, mean: Float[ArrayLike, "*batch"], concentration: Float[ArrayLike, "*batch"]):
        self.mean_, self.concentration = self._params(mean=mean, concentration=concentration)

    @property
    def batch_shape(self):
        return self.mean_.shape

    @property
    def support(self):
        return c.nonnegative_integer

    def sample(self, key, sample_shape=()):
        phi = self.concentration
        return _gamma_poisson(key, self._shape(sample_shape), phi, self.mean_ / phi, self.mean_.dtype)

    def log_prob(self, value):
        k = as_value(value, self.mean_)
        mu, phi = self.mean_, self.concentration
        ok = c.nonnegative_integer.check(k)
        k = jnp.where(ok, k, 0.0)
        log_total = jnp.log(mu + phi)
        lp = (gammaln(k + phi) - gammaln(k + 1) - gammaln(phi)
              + phi * (jnp.log(phi) - log_total) + k * (jnp.log(mu) - log_total))
        return jnp.where(ok, lp, -jnp.inf)

    @property
    def mean(self):
        return self.mean_

    @property
    def variance(self):
        return self.mean_ + self.mean_**2 / self.concentration


class Multinomial(AbstractDistribution):
    """Counts of `total_count` draws over K categories, `probs` (or softmax(`logits`)) on the last axis.

    `total_count` is a Python integer (it fixes the size of a draw, so it must be known before
    tracing); a value is a count vector summing to it.
    """

    logits: Float[Array, "*batch k"]
    total_count: int = eqx.field(static=True)
    arg_constraints: ClassVar = {"probs": ac.categorical_probs, "logits": ac.categorical_logits}

    def __init__(self, total_count: int, probs: Float[ArrayLike, "*batch k"] | None = None,
                 logits: Float[ArrayLike, "*batch k"] | None = None):
        if isinstance(total_count, bool) or not isinstance(total_count, (int, np.integer)) or total_count < 0:
            raise ValueError(f"Multinomial: `total_count` must be a non-negative Python int, got {total_count!r}")
        self.total_count = int(total_count)
        (self.logits,) = normalised_logits(self, probs, logits)

    @property
    def probs(self) -> Array:
        return jnp.exp(self.logits)

    @property
    def batch_shape(self):
        return self.logits.shape[:-1]

    @property
    def event_shape(self):
        return self.logits.shape[-1:]

    @property
    def support(self):
        return c.IntegerSimplex(self.total_count)

    def sample(self, key, sample_shape=()):
        shape = tuple(sample_shape) + self.batch_shape
        k = self.logits.shape[-1]
        picks = jax.random.categorical(key, self.logits, shape=(self.total_count,) + shape)
        return jnp.sum(jax.nn.one_hot(picks, k, dtype=jnp.int32), axis=0)

    def log_prob(self, value):
        x = as_value(value, self.logits)
        ok = self.support.check(x)
        x = jnp.where(ok[..., None], x, 0.0)
        terms = jnp.where(x > 0, x * jnp.where(x > 0, self.logits, 0.0), 0.0)
        lp = gammaln(self.total_count + 1.0) - jnp.sum(gammaln(x + 1), -1) + jnp.sum(terms, -1)
        return jnp.where(ok, lp, -jnp.inf)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def variance(self):
        p = self.probs
        return self.total_count * p * (1 - p)
