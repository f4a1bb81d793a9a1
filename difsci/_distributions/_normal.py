"""The normal family: Normal, LogNormal, HalfNormal, TruncatedNormal."""

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import jax.scipy.stats as jss
from jax.scipy.special import log_ndtr, ndtr, ndtri
from jaxtyping import Array, ArrayLike, Float

from .. import _constraints as c
from .._checks import check
from . import _arg_constraints as ac
from ._base import AbstractDistribution, as_value, safe_log
from ._location_scale import LocationScale


class Normal(LocationScale):
    """Normal (Gaussian) with mean `loc` and standard deviation `scale` > 0."""

    def sample(self, key, sample_shape=()):
        eps = jax.random.normal(key, self._shape(sample_shape), self.loc.dtype)
        return self.loc + self.scale * eps

    def log_prob(self, value):
        return jss.norm.logpdf(as_value(value, self.loc), self.loc, self.scale)

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return self.scale**2


class LogNormal(AbstractDistribution):
    """exp(Normal(loc, scale)): `loc` and `scale` are those of log(x)."""

    loc: Float[Array, "*batch"]
    scale: Float[Array, "*batch"]
    has_rsample: ClassVar[bool] = True
    arg_constraints: ClassVar = {"loc": ac.real, "scale": ac.positive}

    def __init__(self, loc: Float[ArrayLike, "*batch"] = 0.0, scale: Float[ArrayLike, "*batch"] = 1.0):
        self.loc, self.scale = self._params(loc=loc, scale=scale)

    @property
    def batch_shape(self):
        return self.loc.shape

    @property
    def support(self):
        return c.positive

    def sample(self, key, sample_shape=()):
        eps = jax.random.normal(key, self._shape(sample_shape), self.loc.dtype)
        return jnp.exp(self.loc + self.scale * eps)

    def log_prob(self, value):
        x = as_value(value, self.loc)
        log_x = safe_log(x)
        return jnp.where(x > 0, jss.norm.logpdf(log_x, self.loc, self.scale) - log_x, -jnp.inf)

    @property
    def mean(self):
        return jnp.exp(self.loc + self.scale**2 / 2)

    @property
    def variance(self):
        s2 = self.scale**2
        return jnp.expm1(s2) * jnp.exp(2 * self.loc + s2)


class HalfNormal(AbstractDistribution):
    """|Normal(0, scale)|."""

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
        return self.scale * jnp.abs(jax.random.normal(key, self._shape(sample_shape), self.scale.dtype))

    def log_prob(self, value):
        x = as_value(value, self.scale)
        return jnp.where(x >= 0, math.log(2.0) + jss.norm.logpdf(x, 0.0, self.scale), -jnp.inf)

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self):
        return self.scale**2 * (1 - 2 / math.pi)


class TruncatedNormal(AbstractDistribution):
    """Normal(loc, scale) restricted to [low, high]; `None` bounds are infinite."""

    loc: Float[Array, "*batch"]
    scale: Float[Array, "*batch"]
    low: Float[Array, "*batch"]
    high: Float[Array, "*batch"]
    # Which bounds exist decides the support's bijection, so it must be static.
    bounded_below: bool = eqx.field(static=True)
    bounded_above: bool = eqx.field(static=True)
    has_rsample: ClassVar[bool] = True
    arg_constraints: ClassVar = {"loc": ac.real, "scale": ac.positive, "low": ac.not_nan, "high": ac.not_nan}

    def __init__(
        self,
        loc: Float[ArrayLike, "*batch"] = 0.0,
        scale: Float[ArrayLike, "*batch"] = 1.0,
        *,
        low: Float[ArrayLike, "*batch"] | None = None,
        high: Float[ArrayLike, "*batch"] | None = None,
    ):
        self.bounded_below = low is not None and not _concretely(jnp.isneginf, low)
        self.bounded_above = high is not None and not _concretely(jnp.isposinf, high)
        low_ = low if self.bounded_below else -jnp.inf
        high_ = high if self.bounded_above else jnp.inf
        self.loc, self.scale, low_, self.high = self._params(loc=loc, scale=scale, low=low_, high=high_)
        self.low = check(low_, low_ < self.high, "TruncatedNormal: need `low` < `high`")

    @property
    def batch_shape(self):
        return self.loc.shape

    def _standard_bounds(self):
        def standard(bound):
            # Double-where: d(inf / scale) / d scale is inf, and inf * 0 would be a NaN gradient.
            finite = jnp.isfinite(bound)
            return jnp.where(finite, (jnp.where(finite, bound, 0.0) - self.loc) / self.scale, bound)

        return standard(self.low), standard(self.high)

    @property
    def support(self):
        if self.bounded_below and self.bounded_above:
            return c.Interval(self.low, self.high)
        if self.bounded_below:
            return c.GreaterThan(self.low)
        if self.bounded_above:
            return c.LessThan(self.high)
        return c.real

    def sample(self, key, sample_shape=()):
        a, b = self._standard_bounds()
        z = _standard_truncated_normal(key, a, b, self._shape(sample_shape), self.loc.dtype)
        return jnp.clip(self.loc + self.scale * z, self.low, self.high)

    def log_prob(self, value):
        a, b = self._standard_bounds()
        x = as_value(value, self.loc)
        inside = (x >= self.low) & (x <= self.high)
        z = (jnp.where(inside, x, self.loc) - self.loc) / self.scale
        lp = jss.norm.logpdf(z) - jnp.log(self.scale) - _log_mass(a, b)
        return jnp.where(inside, lp, -jnp.inf)

    def _moments(self):
        a, b = self._standard_bounds()
        log_z = _log_mass(a, b)
        # phi(bound) / Z in log space: both underflow in the far tails, their ratio does not.
        phi_a = jnp.where(jnp.isfinite(a), jnp.exp(jss.norm.logpdf(jnp.where(jnp.isfinite(a), a, 0.0)) - log_z), 0.0)
        phi_b = jnp.where(jnp.isfinite(b), jnp.exp(jss.norm.logpdf(jnp.where(jnp.isfinite(b), b, 0.0)) - log_z), 0.0)
        a_phi_a = jnp.where(jnp.isfinite(a), a * phi_a, 0.0)
        b_phi_b = jnp.where(jnp.isfinite(b), b * phi_b, 0.0)
        return phi_a - phi_b, a_phi_a - b_phi_b

    @property
    def mean(self):
        shift, _ = self._moments()
        return self.loc + self.scale * shift

    @property
    def variance(self):
        shift, spread = self._moments()
        return self.scale**2 * (1 + spread - shift**2)


def _log_mass(a, b):
    """log(Phi(b) - Phi(a)) for a < b, from the near tail's log Phi so far tails keep their digits."""
    flip = a > 0
    lo, hi = jnp.where(flip, -b, a), jnp.where(flip, -a, b)  # now hi <= 0, or lo <= 0 <= hi
    lo_finite, hi_finite = jnp.isfinite(lo), jnp.isfinite(hi)
    log_hi = jnp.where(hi_finite, log_ndtr(jnp.where(hi_finite, hi, 0.0)), 0.0)
    log_lo = jnp.where(lo_finite, log_ndtr(jnp.where(lo_finite, lo, 0.0)), -jnp.inf)
    return log_hi + jnp.log1p(-jnp.exp(log_lo - log_hi))


def _log_ndtri(log_p):
    """z with log Phi(z) = log_p, accurate far into the left tail (Phi(z) below the smallest float)."""
    dtype = log_p.dtype
    log_tiny = math.log(float(jnp.finfo(dtype).tiny))
    # Start from ndtri where exp(log_p) is a normal float, else from the tail asymptote
    # log Phi(z) ~ -z^2/2 - log(-z) - log(2 pi)/2; then polish by Newton steps on log Phi.
    t = -2 * jnp.minimum(log_p, log_tiny)
    asymptote = -jnp.sqrt(t - jnp.log(t) - math.log(2 * math.pi))
    z = jnp.where(log_p > log_tiny, ndtri(jnp.exp(jnp.maximum(log_p, log_tiny))), asymptote)
    for _ in range(3):
        slope = jnp.exp(jss.norm.logpdf(z) - log_ndtr(z))  # d log Phi / dz
        step = (log_ndtr(z) - log_p) / slope
        z = jnp.where(jnp.isfinite(z) & jnp.isfinite(step), z - step, z)
    return z


def _standard_truncated_normal(key, a, b, shape, dtype):
    """Draws of N(0, 1) restricted to [a, b] by the inverse CDF, stable in both far tails.

    Mirrored so that b <= 0 or a <= 0 <= b, the draw solves log Phi(z) = log Phi(b) +
    log(u + (1 - u) Phi(a) / Phi(b)) with every term in log space, so bounds 50 standard
    deviations out keep their resolution (a CDF difference there is 0 in any float). The
    gradient with respect to a and b is the implicit one, d z = d(rhs) / (d log Phi / dz).
    """
    a, b = jnp.broadcast_to(a, shape).astype(dtype), jnp.broadcast_to(b, shape).astype(dtype)
    flip = a > 0
    lo, hi = jnp.where(flip, -b, a), jnp.where(flip, -a, b)
    u = jax.random.uniform(key, shape, dtype, minval=jnp.finfo(dtype).tiny)

    # Infinite bounds through double-where, so their gradients are 0, not NaN.
    lo_finite, hi_finite = jnp.isfinite(lo), jnp.isfinite(hi)
    log_hi = jnp.where(hi_finite, log_ndtr(jnp.where(hi_finite, hi, 0.0)), 0.0)
    ratio = jnp.where(lo_finite, jnp.exp(log_ndtr(jnp.where(lo_finite, lo, 0.0)) - log_hi), 0.0)
    rhs = log_hi + jnp.log(u + (1 - u) * ratio)
    z = jax.lax.stop_gradient(jnp.clip(_log_ndtri(rhs), lo, hi))
    slope = jax.lax.stop_gradient(jnp.exp(jss.norm.logpdf(z) - log_ndtr(z)))
    z = z + (rhs - jax.lax.stop_gradient(rhs)) / slope
    return jnp.where(flip, -z, z)


def _concretely(test, x) -> bool:
    """`test(x)` is all-true and known without tracing (e.g. an explicit -inf bound)."""
    if isinstance(x, jax.core.Tracer):
        return False
    # NumPy, not jnp: under a trace even jnp ops on constants are staged out as tracers.
    return bool(np.all(getattr(np, test.__name__)(np.asarray(x))))
