"""Location-scale families on the real line: Laplace, Logistic, Gumbel (all reparameterised)."""

import math
from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .. import _constraints as c
from . import _arg_constraints as ac
from ._base import AbstractDistribution, as_value


class LocationScale(AbstractDistribution):
    """The shared shape of a family on the real line with location `loc` and scale `scale` > 0
    (Normal, Cauchy, Laplace, Logistic, Gumbel): each adds `sample`, `log_prob` and moments."""

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
        return c.real

    def _standard(self, value):
        x = as_value(value, self.loc)
        return (x - self.loc) / self.scale


class Laplace(LocationScale):
    """Laplace (double exponential) with location `loc` and scale `scale` > 0 (Stan's double_exponential)."""

    def sample(self, key, sample_shape=()):
        return self.loc + self.scale * jax.random.laplace(key, self._shape(sample_shape), self.loc.dtype)

    def log_prob(self, value):
        z = self._standard(value)
        return -jnp.abs(z) - jnp.log(2 * self.scale)

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return 2 * self.scale**2


class Logistic(LocationScale):
    """Logistic with location `loc` and scale `scale` > 0."""

    def sample(self, key, sample_shape=()):
        return self.loc + self.scale * jax.random.logistic(key, self._shape(sample_shape), self.loc.dtype)

    def log_prob(self, value):
        z = self._standard(value)
        return -z - 2 * jax.nn.softplus(-z) - jnp.log(self.scale)

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return (math.pi * self.scale) ** 2 / 3


class Gumbel(LocationScale):
    """Gumbel (maximum) with location `loc` and scale `scale` > 0."""

    def sample(self, key, sample_shape=()):
        return self.loc + self.scale * jax.random.gumbel(key, self._shape(sample_shape), self.loc.dtype)

    def log_prob(self, value):
        z = self._standard(value)
        return -z - jnp.exp(-z) - jnp.log(self.scale)

    @property
    def mean(self):
        return self.loc + self.scale * float(jnp.euler_gamma)

    @property
    def variance(self):
        return (math.pi * self.scale) ** 2 / 6
