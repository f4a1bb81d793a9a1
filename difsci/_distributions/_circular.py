"""Circular families: VonMises on the angle interval [-pi, pi]."""

import math
from typing import ClassVar

import jax
import jax.numpy as jnp
from jax.scipy.special import i0e
from jaxtyping import Array, ArrayLike, Float

from .. import _constraints as c
from . import _arg_constraints as ac
from ._base import AbstractDistribution, as_value


def _wrap(x):
    return jnp.mod(x + math.pi, 2 * math.pi) - math.pi


def _von_mises_standard(key, kappa, shape):
    """Best & Fisher's (1979) rejection sampler for VonMises(0, kappa), vectorised by a while loop."""
    tau = 1 + jnp.sqrt(1 + 4 * kappa**2)
    rho = (tau - jnp.sqrt(2 * tau)) / (2 * kappa)
    r = jnp.broadcast_to((1 + rho**2) / (2 * rho), shape)
    kappa = jnp.broadcast_to(kappa, shape)

    def body(state):
        key, f, done = state
        key, k1, k2 = jax.random.split(key, 3)
        u1, u2 = jax.random.uniform(k1, shape, kappa.dtype), jax.random.uniform(k2, shape, kappa.dtype)
        z = jnp.cos(math.pi * u1)
        f_new = (1 + r * z) / (r + z)
        cc = kappa * (r - f_new)
        accept = (cc * (2 - cc) - u2 > 0) | (jnp.log(cc / u2) + 1 - cc >= 0)
        take = accept & ~done
        return key, jnp.where(take, f_new, f), done | accept

    k_loop, k_sign = jax.random.split(key)
    init = (k_loop, jnp.zeros(shape, kappa.dtype), jnp.zeros(shape, bool))
    _, f, _ = jax.lax.while_loop(lambda s: ~jnp.all(s[2]), body, init)
    sign = jnp.where(jax.random.bernoulli(k_sign, 0.5, shape), 1.0, -1.0).astype(kappa.dtype)
    return sign * jnp.arccos(jnp.clip(f, -1.0, 1.0))


class VonMises(AbstractDistribution):
    """Von Mises angles in [-pi, pi] with mean direction `loc` (radians) and `concentration` > 0.

    Density exp(kappa cos(x - loc)) / (2 pi I0(kappa)); draws are wrapped into [-pi, pi] and
    are not reparameterised. `mean` is the circular mean direction `loc` wrapped into [-pi, pi].
    """

    loc: Float[Array, "*batch"]
    concentration: Float[Array, "*batch"]
    arg_constraints: ClassVar = {"loc": ac.real, "concentration": ac.positive}

    def __init__(self, loc: Float[ArrayLike, "*batch"] = 0.0, concentration: Float[ArrayLike, "*batch"] = 1.0):
        self.loc, self.concentration = self._params(loc=loc, concentration=concentration)

    @property
    def batch_shape(self):
        return self.loc.shape

    @property
    def support(self):
        return c.Interval(-math.pi, math.pi)

    def sample(self, key, sample_shape=()):
        theta = _von_mises_standard(key, self.concentration, self._shape(sample_shape))
        return _wrap(theta + self.loc)

    def log_prob(self, value):
        x = as_value(value, self.loc)
        k = self.concentration
        lp = k * (jnp.cos(x - self.loc) - 1) - math.log(2 * math.pi) - jnp.log(i0e(k))
        return jnp.where((x >= -math.pi) & (x <= math.pi), lp, -jnp.inf)

    @property
    def mean(self):
        return _wrap(self.loc)
