"""Discrete families: Poisson, Bernoulli, Categorical.

Draws are integer arrays; scoring accepts integer or float values. None of these can be
reparameterised: use the relaxed families in `_relaxed.py` for pathwise gradients.
"""

from typing import ClassVar

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln
from jaxtyping import Array, ArrayLike, Float

from .. import _constraints as c
from . import _arg_constraints as ac
from ._base import AbstractDistribution, as_value, exactly_one, xlog1py, xlogy


class Poisson(AbstractDistribution):
    """Poisson counts with `rate` >= 0."""

    rate: Float[Array, "*batch"]
    arg_constraints: ClassVar = {"rate": ac.nonnegative}

    def __init__(self, rate: Float[ArrayLike, "*batch"]):
        (self.rate,) = self._params(rate=rate)

    @property
    def batch_shape(self):
        return self.rate.shape

    @property
    def support(self):
        return c.nonnegative_integer

    def sample(self, key, sample_shape=()):
        return jax.random.poisson(key, self.rate, self._shape(sample_shape))

    def log_prob(self, value):
        k = as_value(value, self.rate)
        ok = c.nonnegative_integer.check(k)
        k = jnp.where(ok, k, 0.0)
        return jnp.where(ok, xlogy(k, self.rate) - self.rate - gammaln(k + 1), -jnp.inf)

    @property
    def mean(self):
        return self.rate

    @property
    def variance(self):
        return self.rate


class Bernoulli(AbstractDistribution):
    """A coin with P(1) = `probs`, or sigmoid(`logits`); give exactly one of them."""

    probs_: Float[Array, "*batch"] | None
    logits_: Float[Array, "*batch"] | None
    arg_constraints: ClassVar = {"probs": ac.unit_interval, "logits": ac.not_nan}

    def __init__(
        self,
        probs: Float[ArrayLike, "*batch"] | None = None,
        logits: Float[ArrayLike, "*batch"] | None = None,
    ):
        exactly_one("probs", probs, "logits", logits, "Bernoulli")
        self.probs_, self.logits_ = None, None
        if probs is not None:
            (self.probs_,) = self._params(probs=probs)
        else:
            (self.logits_,) = self._params(logits=logits)

    @property
    def probs(self) -> Array:
        return jax.nn.sigmoid(self.logits_) if self.probs_ is None else self.probs_

    @property
    def logits(self) -> Array:
        if self.logits_ is not None:
            return self.logits_
        return jnp.log(self.probs_) - jnp.log1p(-self.probs_)

    @property
    def batch_shape(self):
        return self.probs.shape

    @property
    def support(self):
        return c.boolean

    def sample(self, key, sample_shape=()):
        return jax.random.bernoulli(key, self.probs, self._shape(sample_shape)).astype(jnp.int32)

    def log_prob(self, value):
        p = self.probs
        x = as_value(value, p)
        if self.logits_ is not None:
            # log sigmoid(+-logits) for x = 1 / 0: one exp and one log1p per value, the cost of a
            # logistic regression's log density (float64 transcendentals are scalar calls on CPU).
            lp = -jax.nn.softplus((1 - 2 * x) * self.logits_)
        else:
            lp = xlogy(x, p) + xlog1py(1 - x, -p)
        return jnp.where(c.boolean.check(x), lp, -jnp.inf)

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        p = self.probs
        return p * (1 - p)


def normalised_logits(dist: AbstractDistribution, probs, logits, **others) -> tuple[Array, ...]:
    """(log-probabilities along the last axis, *others) from exactly one of `probs` / `logits`,
    checked and broadcast with the `others` by `dist._params`."""
    family = type(dist).__name__
    exactly_one("probs", probs, "logits", logits, family)
    if probs is not None:
        probs, *others = dist._params(probs=probs, **others)
        return (jnp.log(probs), *others)
    logits, *others = dist._params(logits=logits, **others)
    return (_log_softmax(logits), *others)


def _log_softmax(logits: Array) -> Array:
    """log_softmax along the last axis, taking +inf logits as the limit: they share all the mass."""
    top = jnp.isposinf(logits)
    any_top = jnp.any(top, -1, keepdims=True)
    limit = jnp.where(top, -jnp.log(jnp.sum(top, -1, keepdims=True).astype(logits.dtype)), -jnp.inf)
    return jnp.where(any_top, limit, jax.nn.log_softmax(jnp.where(any_top, 0.0, logits), axis=-1))


class Categorical(AbstractDistribution):
    """Integers 0..K-1 with probabilities `probs` (or softmax(`logits`)) along the last axis."""

    logits: Float[Array, "*batch k"]
    arg_constraints: ClassVar = {"probs": ac.categorical_probs, "logits": ac.categorical_logits}

    def __init__(
        self,
        probs: Float[ArrayLike, "*batch k"] | None = None,
        logits: Float[ArrayLike, "*batch k"] | None = None,
    ):
        (self.logits,) = normalised_logits(self, probs, logits)

    @property
    def probs(self) -> Array:
        return jnp.exp(self.logits)

    @property
    def num_categories(self) -> int:
        return self.logits.shape[-1]

    @property
    def batch_shape(self):
        return self.logits.shape[:-1]

    @property
    def support(self):
        return c.IntegerInterval(0, self.num_categories - 1)

    def sample(self, key, sample_shape=()):
        return jax.random.categorical(key, self.logits, shape=self._shape(sample_shape))

    def log_prob(self, value):
        value = jnp.asarray(value)
        ok = self.support.check(value)
        index = jnp.where(ok, value, 0).astype(jnp.int32)
        shape = jnp.broadcast_shapes(index.shape, self.batch_shape)
        logits = jnp.broadcast_to(self.logits, shape + (self.num_categories,))
        picked = jnp.take_along_axis(logits, jnp.broadcast_to(index, shape)[..., None], axis=-1)[..., 0]
        return jnp.where(ok, picked, -jnp.inf)
