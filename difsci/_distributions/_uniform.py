"""The continuous uniform distribution."""

from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .. import _constraints as c
from .._checks import check
from . import _arg_constraints as ac
from ._base import AbstractDistribution, as_value


class Uniform(AbstractDistribution):
    """Uniform on [low, high], with low < high both finite."""

    low: Float[Array, "*batch"]
    high: Float[Array, "*batch"]
    has_rsample: ClassVar[bool] = True
    arg_constraints: ClassVar = {"low": ac.real, "high": ac.real}

    def __init__(self, low: Float[ArrayLike, "*batch"] = 0.0, high: Float[ArrayLike, "*batch"] = 1.0):
        low, high = self._params(low=low, high=high)
        self.low, self.high = low, check(high, high > low, "Uniform: need `low` < `high`")

    @property
    def batch_shape(self):
        return self.low.shape

    @property
    def support(self):
        return c.Interval(self.low, self.high)

    def sample(self, key, sample_shape=()):
        u = jax.random.uniform(key, self._shape(sample_shape), self.low.dtype)
        return self.low + (self.high - self.low) * u

    def log_prob(self, value):
        x = as_value(value, self.low)
        inside = (x >= self.low) & (x <= self.high)
        return jnp.where(inside, -jnp.log(self.high - self.low), -jnp.inf)

    @property
    def mean(self):
        return (self.low + self.high) / 2

    @property
    def variance(self):
        return (self.high - self.low) ** 2 / 12
