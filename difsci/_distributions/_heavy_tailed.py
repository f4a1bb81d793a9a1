"""Heavy-tailed families: Cauchy, HalfCauchy, StudentT, HalfStudentT."""

import math
from typing import ClassVar

import jax
import jax.numpy as jnp
import jax.scipy.stats as jss
from jax.scipy.special import gammaln
from jaxtyping import Array, ArrayLike, Float

from .. import _constraints as c
from . import _arg_constraints as ac
from ._base import AbstractDistribution, as_value
from ._location_scale import LocationScale


class Cauchy(LocationScale):
    """Cauchy with location `loc` and scale `scale` > 0. It has no mean or variance."""

    def sample(self, key, sample_shape=()):
        return self.loc + self.scale * jax.random.cauchy(key, self._shape(sample_shape), self.loc.dtype)

    def log_prob(self, value):
        return jss.cauchy.logpdf(as_value(value, self.loc), self.loc, self.scale)


class HalfCauchy(AbstractDistribution):
    """|Cauchy(0, scale)|; its mean and variance are infinite."""

    scale: Float[Array, "*batch"]
    has_rsample: ClassVar[bool] = True
    arg_constraints: ClassVar = {"scale": ac.positive}

    def __init__(self, scale: Float[ArrayLike, "*batch"] = 1.0):
        (self.scale,) = self._params(scale=scale)

    @property
    def batch_shape(self):
        return self.scale.shape

    @property
    def support(self):
        return c.positive

    def sample(self, key, sample_shape=()):
        draw = jax.random.cauchy(key, self._shape(sample_shape), self.scale.dtype)
        return self.scale * jnp.abs(draw)

    def log_prob(self, value):
        x = as_value(value, self.scale)
        return jnp.where(x >= 0, math.log(2.0) + jss.cauchy.logpdf(x, 0.0, self.scale), -jnp.inf)

    @property
    def mean(self):
        return jnp.full(self.batch_shape, jnp.inf, self.scale.dtype)

    @property
    def variance(self):
        return jnp.full(self.batch_shape, jnp.inf, self.scale.dtype)


class StudentT(AbstractDistribution):
    """Student's t with `df` > 0 degrees of freedom, location `loc` and scale `scale` > 0.

    As in `scipy.stats.t`, the mean is NaN where df <= 1 (undefined) and the variance is
    inf where 1 < df <= 2 and NaN where df <= 1. `df` must be finite: for the df -> inf limit
    use `Normal(loc, scale)`.
    """

    df: Float[Array, "*batch"]
    loc: Float[Array, "*batch"]
    scale: Float[Array, "*batch"]
    has_rsample: ClassVar[bool] = True
    arg_constraints: ClassVar = {"df": ac.positive, "loc": ac.real, "scale": ac.positive}

    def __init__(
        self,
        df: Float[ArrayLike, "*batch"],
        loc: Float[ArrayLike, "*batch"] = 0.0,
        scale: Float[ArrayLike, "*batch"] = 1.0,
    ):
        self.df, self.loc, self.scale = self._params(df=df, loc=loc, scale=scale)

    @property
    def batch_shape(self):
        return self.loc.shape

    @property
    def support(self):
        return c.real

    def sample(self, key, sample_shape=()):
        t = jax.random.t(key, self.df, self._shape(sample_shape), self.loc.dtype)
        return self.loc + self.scale * t

    def log_prob(self, value):
        return jss.t.logpdf(as_value(value, self.loc), self.df, self.loc, self.scale)

    @property
    def mean(self):
        return jnp.where(self.df > 1, self.loc, jnp.nan)

    @property
    def variance(self):
        safe_df = jnp.where(self.df > 2, self.df, 3.0)
        var = self.scale**2 * safe_df / (safe_df - 2)
        return jnp.where(self.df > 2, var, jnp.where(self.df > 1, jnp.inf, jnp.nan))


class HalfStudentT(AbstractDistribution):
    """|StudentT(df, 0, scale)|, the usual weakly-informative prior on a scale (Stan's half-t).

    The mean is inf where df <= 1; the variance is inf where df <= 2 (NaN where df <= 1).
    """

    df: Float[Array, "*batch"]
    scale: Float[Array, "*batch"]
    has_rsample: ClassVar[bool] = True
    arg_constraints: ClassVar = {"df": ac.positive, "scale": ac.positive}

    def __init__(self, df: Float[ArrayLike, "*batch"], scale: Float[ArrayLike, "*batch"] = 1.0):
        self.df, self.scale = self._params(df=df, scale=scale)

    @property
    def batch_shape(self):
        return self.scale.shape

    @property
    def support(self):
        return c.positive

    def sample(self, key, sample_shape=()):
        t = jax.random.t(key, self.df, self._shape(sample_shape), self.scale.dtype)
        return self.scale * jnp.abs(t)

    def log_prob(self, value):
        x = as_value(value, self.scale)
        lp = math.log(2.0) + jss.t.logpdf(jnp.where(x >= 0, x, 0.0), self.df, 0.0, self.scale)
        return jnp.where(x >= 0, lp, -jnp.inf)

    @property
    def mean(self):
        nu = jnp.where(self.df > 1, self.df, 2.0)
        log_ratio = gammaln((nu + 1) / 2) - gammaln(nu / 2)
        m = 2 * self.scale * jnp.sqrt(nu / math.pi) * jnp.exp(log_ratio) / (nu - 1)
        return jnp.where(self.df > 1, m, jnp.inf)

    @property
    def variance(self):
        nu = jnp.where(self.df > 2, self.df, 3.0)
        var = self.scale**2 * nu / (nu - 2) - self.mean**2
        return jnp.where(self.df > 2, var, jnp.where(self.df > 1, jnp.inf, jnp.nan))
