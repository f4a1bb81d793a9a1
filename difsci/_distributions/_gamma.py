"""The gamma family and its relatives: Gamma, Exponential, Beta, Dirichlet, InverseGamma, Chi2.

Gamma, Beta and Dirichlet draws are reparameterised through JAX's implicit gradients of
the gamma sampler, so gradients flow to the concentrations too.
"""

from typing import ClassVar

import jax
import jax.numpy as jnp
import jax.scipy.stats as jss
from jax.scipy.special import gammaln, xlogy
from jaxtyping import Array, ArrayLike, Float

from .. import _constraints as c
from . import _arg_constraints as ac
from ._base import AbstractDistribution, as_value


class Gamma(AbstractDistribution):
    """Gamma with shape `concentration` > 0 and `rate` > 0 (mean concentration / rate)."""

    concentration: Float[Array, "*batch"]
    rate: Float[Array, "*batch"]
    has_rsample: ClassVar[bool] = True
    arg_constraints: ClassVar = {"concentration": ac.positive, "rate": ac.positive}

    def __init__(self, concentration: Float[ArrayLike, "*batch"], rate: Float[ArrayLike, "*batch"] = 1.0):
        self.concentration, self.rate = self._params(concentration=concentration, rate=rate)

    @property
    def batch_shape(self):
        return self.rate.shape

    @property
    def support(self):
        return c.positive

    def sample(self, key, sample_shape=()):
        shape = self._shape(sample_shape)
        return jax.random.gamma(key, self.concentration, shape, self.rate.dtype) / self.rate

    def log_prob(self, value):
        x = as_value(value, self.rate)
        return jss.gamma.logpdf(x, self.concentration, scale=1 / self.rate)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def variance(self):
        return self.concentration / self.rate**2


class Exponential(AbstractDistribution):
    """Exponential with `rate` > 0 (mean 1 / rate)."""

    rate: Float[Array, "*batch"]
    has_rsample: ClassVar[bool] = True
    arg_constraints: ClassVar = {"rate": ac.positive}

    def __init__(self, rate: Float[ArrayLike, "*batch"] = 1.0):
        (self.rate,) = self._params(rate=rate)

    @property
    def batch_shape(self):
        return self.rate.shape

    @property
    def support(self):
        return c.positive

    def sample(self, key, sample_shape=()):
        return jax.random.exponential(key, self._shape(sample_shape), self.rate.dtype) / self.rate

    def log_prob(self, value):
        return jss.expon.logpdf(as_value(value, self.rate), scale=1 / self.rate)

    @property
    def mean(self):
        return 1 / self.rate

    @property
    def variance(self):
        return 1 / self.rate**2


class Beta(AbstractDistribution):
    """Beta on [0, 1] with concentrations `a` > 0 (of x) and `b` > 0 (of 1 - x)."""

    a: Float[Array, "*batch"]
    b: Float[Array, "*batch"]
    has_rsample: ClassVar[bool] = True
    arg_constraints: ClassVar = {"a": ac.positive, "b": ac.positive}

    def __init__(self, a: Float[ArrayLike, "*batch"], b: Float[ArrayLike, "*batch"]):
        self.a, self.b = self._params(a=a, b=b)

    @property
    def batch_shape(self):
        return self.a.shape

    @property
    def support(self):
        return c.unit_interval

    def sample(self, key, sample_shape=()):
        return jax.random.beta(key, self.a, self.b, self._shape(sample_shape), self.a.dtype)

    def log_prob(self, value):
        return jss.beta.logpdf(as_value(value, self.a), self.a, self.b)

    @property
    def mean(self):
        return self.a / (self.a + self.b)

    @property
    def variance(self):
        total = self.a + self.b
        return self.a * self.b / (total**2 * (total + 1))


class Dirichlet(AbstractDistribution):
    """Dirichlet over probability vectors, `concentration` > 0 along the last axis (K >= 2)."""

    concentration: Float[Array, "*batch k"]
    has_rsample: ClassVar[bool] = True
    arg_constraints: ClassVar = {"concentration": ac.positive_vector}

    def __init__(self, concentration: Float[ArrayLike, "*batch k"]):
        if jnp.ndim(concentration) < 1 or jnp.shape(concentration)[-1] < 2:
            raise ValueError(
                "Dirichlet: `concentration` needs a last axis of size K >= 2, "
                f"got shape {jnp.shape(concentration)}"
            )
        (self.concentration,) = self._params(concentration=concentration)

    @property
    def batch_shape(self):
        return self.concentration.shape[:-1]

    @property
    def event_shape(self):
        return self.concentration.shape[-1:]

    @property
    def support(self):
        return c.simplex

    def sample(self, key, sample_shape=()):
        shape = tuple(sample_shape) + self.batch_shape
        return jax.random.dirichlet(key, self.concentration, shape, self.concentration.dtype)

    def log_prob(self, value):
        x = as_value(value, self.concentration)
        alpha = self.concentration
        norm = gammaln(jnp.sum(alpha, -1)) - jnp.sum(gammaln(alpha), -1)
        lp = jnp.sum(xlogy(alpha - 1, x), -1) + norm
        return jnp.where(c.simplex.check(x), lp, -jnp.inf)

    @property
    def mean(self):
        return self.concentration / jnp.sum(self.concentration, -1, keepdims=True)

    @property
    def variance(self):
        total = jnp.sum(self.concentration, -1, keepdims=True)
        frac = self.concentration / total
        return frac * (1 - frac) / (total + 1)


class InverseGamma(AbstractDistribution):
    """1 / Gamma(`concentration`, `rate`): density with shape alpha and scale beta = `rate`
    (Stan's inv_gamma(alpha, beta)). Mean beta / (alpha - 1) for alpha > 1, else inf.
    """

    concentration: Float[Array, "*batch"]
    rate: Float[Array, "*batch"]
    has_rsample: ClassVar[bool] = True
    arg_constraints: ClassVar = {"concentration": ac.positive, "rate": ac.positive}

    def __init__(self, concentration: Float[ArrayLike, "*batch"], rate: Float[ArrayLike, "*batch"] = 1.0):
        self.concentration, self.rate = self._params(concentration=concentration, rate=rate)

    @property
    def batch_shape(self):
        return self.rate.shape

    @property
    def support(self):
        return c.positive

    def sample(self, key, sample_shape=()):
        shape = self._shape(sample_shape)
        return self.rate / jax.random.gamma(key, self.concentration, shape, self.rate.dtype)

    def log_prob(self, value):
        x = as_value(value, self.rate)
        a, b = self.concentration, self.rate
        ok = x > 0
        safe = jnp.where(ok, x, 1.0)
        lp = a * jnp.log(b) - gammaln(a) - (a + 1) * jnp.log(safe) - b / safe
        return jnp.where(ok, lp, -jnp.inf)

    @property
    def mean(self):
        a = jnp.where(self.concentration > 1, self.concentration, 2.0)
        return jnp.where(self.concentration > 1, self.rate / (a - 1), jnp.inf)

    @property
    def variance(self):
        a = jnp.where(self.concentration > 2, self.concentration, 3.0)
        return jnp.where(self.concentration > 2, self.rate**2 / ((a - 1) ** 2 * (a - 2)), jnp.inf)


class Chi2(AbstractDistribution):
    """Chi-squared with `df` > 0 degrees of freedom: Gamma(df / 2, rate 1 / 2)."""

    df: Float[Array, "*batch"]
    has_rsample: ClassVar[bool] = True
    arg_constraints: ClassVar = {"df": ac.positive}

    def __init__(self, df: Float[ArrayLike, "*batch"]):
        (self.df,) = self._params(df=df)

    @property
    def batch_shape(self):
        return self.df.shape

    @property
    def support(self):
        return c.positive

    def sample(self, key, sample_shape=()):
        return 2 * jax.random.gamma(key, self.df / 2, self._shape(sample_shape), self.df.dtype)

    def log_prob(self, value):
        return jss.chi2.logpdf(as_value(value, self.df), self.df)

    @property
    def mean(self):
        return self.df

    @property
    def variance(self):
        return 2 * self.df
