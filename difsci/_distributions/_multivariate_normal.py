"""The multivariate normal, parameterised by a lower-triangular scale."""

import math
from typing import ClassVar

import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular
from jaxtyping import Array, ArrayLike, Float

from .. import _constraints as c
from .._checks import check
from . import _arg_constraints as ac
from ._base import AbstractDistribution, as_value


class MultivariateNormal(AbstractDistribution):
    """N(loc, L L^T) over vectors, with `scale_tril` = L lower-triangular with positive diagonal.

    Give `covariance_matrix` instead of `scale_tril` to have its Cholesky factor taken.
    """

    loc: Float[Array, "*batch d"]
    scale_tril: Float[Array, "*batch d d"]
    has_rsample: ClassVar[bool] = True
    arg_constraints: ClassVar = {"loc": ac.real_vector, "scale_tril": ac.lower_cholesky}

    def __init__(
        self,
        loc: Float[ArrayLike, "*batch d"],
        scale_tril: Float[ArrayLike, "*batch d d"] | None = None,
        *,
        covariance_matrix: Float[ArrayLike, "*batch d d"] | None = None,
    ):
        if (scale_tril is None) == (covariance_matrix is None):
            raise ValueError("MultivariateNormal: give exactly one of `scale_tril=` or `covariance_matrix=`")
        if scale_tril is None:
            cov = jnp.asarray(covariance_matrix)
            scale_tril = jnp.linalg.cholesky(cov)
            scale_tril = check(
                scale_tril,
                jnp.all(jnp.isfinite(scale_tril)),
                "MultivariateNormal: `covariance_matrix` must be symmetric positive definite",
            )
        loc_shape, tril_shape = jnp.shape(loc), jnp.shape(scale_tril)
        if len(loc_shape) < 1 or len(tril_shape) < 2 or tril_shape[-2:] != (loc_shape[-1],) * 2:
            matrix = "scale_tril" if covariance_matrix is None else "covariance_matrix"
            raise ValueError(
                f"MultivariateNormal: `loc` must have shape (..., d) and `{matrix}` (..., d, d); "
                f"got {loc_shape} and {tril_shape}"
            )
        self.loc, self.scale_tril = self._params(loc=loc, scale_tril=scale_tril)

    @property
    def batch_shape(self):
        return self.loc.shape[:-1]

    @property
    def event_shape(self):
        return self.loc.shape[-1:]

    @property
    def support(self):
        return c.real_vector

    @property
    def covariance_matrix(self) -> Float[Array, "*batch d d"]:
        return self.scale_tril @ jnp.swapaxes(self.scale_tril, -1, -2)

    def sample(self, key, sample_shape=()):
        eps = jax.random.normal(key, self._shape(sample_shape), self.loc.dtype)
        return self.loc + jnp.einsum("...ij,...j->...i", self.scale_tril, eps)

    def log_prob(self, value):
        x = as_value(value, self.loc)
        diff = x - self.loc
        batch = diff.shape[:-1]
        d = self.loc.shape[-1]
        tril = jnp.broadcast_to(self.scale_tril, batch + (d, d))
        z = solve_triangular(tril, diff[..., None], lower=True)[..., 0]
        half_log_det = jnp.sum(jnp.log(jnp.diagonal(self.scale_tril, axis1=-2, axis2=-1)), -1)
        return -0.5 * jnp.sum(z**2, -1) - half_log_det - 0.5 * d * math.log(2 * math.pi)

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return jnp.sum(self.scale_tril**2, -1)
