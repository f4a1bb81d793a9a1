"""Power-law families on the positive line: Weibull and Pareto (both reparameterised)."""

from typing import ClassVar

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln, xlogy
from jaxtyping import Array, ArrayLike, Float

from .. import _constraints as c
from . import _arg_constraints as ac
from ._base import AbstractDistribution, as_value, safe_log


class Weibull(AbstractDistribution):
    """Weibull with `scale` sigma > 0 and shape `concentration` k > 0 (Stan's weibull(k, sigma)).

    Density k / sigma (x / sigma)^(k - 1) exp(-(x / sigma)^k) for x >= 0.
    """

    scale: Float[Array, "*batch"]
    concentration: Float[Array, "*batch"]
    has_rsample: ClassVar[bool] = True
    arg_constraints: ClassVar = {"scale": ac.positive, "concentration": ac.positive}

    def __init__(self, scale: Float[ArrayLike, "*batch"], concentration: Float[ArrayLike, "*batch"]):
        self.scale, self.concentration = self._params(scale=scale, concentration=concentration)

    @property
    def batch_shape(self):
        return self.scale.shape

    @property
    def support(self):
        return c.positive

    def sample(self, key, sample_shape=()):
        e = jax.random.exponential(key, self._shape(sample_shape), self.scale.dtype)
        return self.scale * e ** (1 / self.concentration)

    def log_prob(self, value):
        x = as_value(value, self.scale)
        k = self.concentration
        z = jnp.where(x >= 0, x, 0.0) / self.scale
        lp = jnp.log(k) - jnp.log(self.scale) + xlogy(k - 1, z) - z**k
        return jnp.where(x >= 0, lp, -jnp.inf)

    @property
    def mean(self):
        return self.scale * jnp.exp(gammaln(1 + 1 / self.concentration))

    @property
    def variance(self):
        k = self.concentration
        return self.scale**2 * (jnp.exp(gammaln(1 + 2 / k)) - jnp.exp(2 * gammaln(1 + 1 / k)))


class Pareto(AbstractDistribution):
    """Pareto on x >= `scale` > 0 with tail index `alpha` > 0 (Stan's pareto(y_min, alpha)).

    The mean is inf where alpha <= 1 and the variance inf where alpha <= 2, as in scipy.
    """

    scale: Float[Array, "*batch"]
    alpha: Float[Array, "*batch"]
    has_rsample: ClassVar[bool] = True
    arg_constraints: ClassVar = {"scale": ac.positive, "alpha": ac.positive}

    def __init__(self, scale: Float[ArrayLike, "*batch"], alpha: Float[ArrayLike, "*batch"]):
        self.scale, self.alpha = self._params(scale=scale, alpha=alpha)

    @property
    def batch_shape(self):
        return self.scale.shape

    @property
    def support(self):
        return c.GreaterThan(self.scale)

    def sample(self, key, sample_shape=()):
        e = jax.random.exponential(key, self._shape(sample_shape), self.scale.dtype)
        return self.scale * jnp.exp(e / self.alpha)

    def log_prob(self, value):
        x = as_value(value, self.scale)
        inside = x >= self.scale
        lp = jnp.log(self.alpha) + self.alpha * jnp.log(self.scale) - (self.alpha + 1) * safe_log(x)
        return jnp.where(inside, lp, -jnp.inf)

    @property
    def mean(self):
        a = jnp.where(self.alpha > 1, self.alpha, 2.0)
        return jnp.where(self.alpha > 1, a * self.scale / (a - 1), jnp.inf)

    @property
    def variance(self):
        a = jnp.where(self.alpha > 2, self.alpha, 3.0)
        return jnp.where(self.alpha > 2, self.scale**2 * a / ((a - 1) ** 2 * (a - 2)), jnp.inf)
