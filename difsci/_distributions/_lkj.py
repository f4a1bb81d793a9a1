"""The LKJ distribution over Cholesky factors of correlation matrices."""

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln
from jaxtyping import Array, ArrayLike, Float

from .. import _constraints as c
from . import _arg_constraints as ac
from ._base import AbstractDistribution, as_value


class LKJCholesky(AbstractDistribution):
    """LKJ(`concentration` eta > 0) over lower Cholesky factors L of `dimension` x `dimension`
    correlation matrices (Stan's lkj_corr_cholesky): density prod_i L_ii^(d - i + 2 eta - 2),
    i = 2..d, with respect to the strictly lower entries. eta = 1 is uniform over correlation
    matrices; larger eta concentrates on the identity.

    Draws use the onion method: row i is sqrt(y) times a uniform direction with
    y ~ Beta(i / 2, eta + (d - 1 - i) / 2), its diagonal sqrt(1 - y). Not reparameterised.
    """

    concentration: Float[Array, "*batch"]
    dimension: int = eqx.field(static=True)
    arg_constraints: ClassVar = {"concentration": ac.positive}

    def __init__(self, dimension: int, concentration: Float[ArrayLike, "*batch"] = 1.0):
        if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 2:
            raise ValueError(f"LKJCholesky: `dimension` must be a Python int >= 2, got {dimension!r}")
        self.dimension = dimension
        (self.concentration,) = self._params(concentration=concentration)

    @property
    def batch_shape(self):
        return self.concentration.shape

    @property
    def event_shape(self):
        return (self.dimension, self.dimension)

    @property
    def support(self):
        return c.corr_cholesky

    def _beta(self):
        i = jnp.arange(1, self.dimension, dtype=self.concentration.dtype)  # rows 1..d-1 (0-indexed)
        return i, self.concentration[..., None] + (self.dimension - 1 - i) / 2

    def sample(self, key, sample_shape=()):
        d = self.dimension
        shape = tuple(sample_shape) + self.batch_shape
        i, beta = self._beta()
        k_y, k_u = jax.random.split(key)
        y = jax.random.beta(k_y, i / 2, jnp.broadcast_to(beta, shape + (d - 1,)), shape + (d - 1,), beta.dtype)
        normal = jax.random.normal(k_u, shape + (d - 1, d), beta.dtype)
        mask = jnp.arange(d) < jnp.arange(1, d)[:, None]  # row i of L draws a direction in its first i entries
        normal = jnp.where(mask, normal, 0.0)
        direction = normal / jnp.linalg.norm(normal, axis=-1, keepdims=True)
        rows = jnp.sqrt(y)[..., None] * direction + jnp.sqrt(1 - y)[..., None] * jnp.eye(d, dtype=beta.dtype)[1:]
        first = jnp.broadcast_to(jnp.eye(d, dtype=beta.dtype)[0], shape + (1, d))
        return jnp.concatenate([first, rows], axis=-2)

    def log_prob(self, value):
        x = as_value(value, self.concentration)
        ok = c.corr_cholesky.check(x)
        i, beta = self._beta()
        diag = jnp.diagonal(x, axis1=-2, axis2=-1)[..., 1:]
        safe = jnp.where(ok[..., None], diag, 1.0)
        unnorm = jnp.sum((2 * beta - 2) * jnp.log(safe), axis=-1)
        # Row i's free entries have density Gamma(i/2) / (pi^(i/2) B(i/2, beta_i)) L_ii^(2 beta_i - 2).
        log_beta_fn = gammaln(i / 2) + gammaln(beta) - gammaln(i / 2 + beta)
        norm = jnp.sum(gammaln(i / 2) - (i / 2) * math.log(math.pi) - log_beta_fn, axis=-1)
        return jnp.where(ok, unnorm + norm, -jnp.inf)
