"""Smooth invertible maps for `TransformedDistribution`: exp, affine, sigmoid, ordered.

Each bijection maps arrays to arrays of the same shape; `event_dim` is the number of
trailing axes it acts on jointly (0 elementwise, 1 for `Ordered`), and
`log_abs_det_jacobian(x)` is log |det d forward(x) / dx| summed over those axes.
"""

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from . import _constraints as c
from ._checks import check


class AbstractBijection(eqx.Module):
    """y = forward(x), with its inverse and log-Jacobian."""

    event_dim: ClassVar[int] = 0

    @abc.abstractmethod
    def forward(self, x: Float[ArrayLike, "..."]) -> Array:
        """The map itself."""

    @abc.abstractmethod
    def inverse(self, y: Float[ArrayLike, "..."]) -> Array:
        """Its inverse (NaN where `y` is outside the image)."""

    @abc.abstractmethod
    def log_abs_det_jacobian(self, x: Float[ArrayLike, "..."]) -> Array:
        """log |det d forward / dx| at `x`, summed over the last `event_dim` axes."""


class Exp(AbstractBijection):
    """y = exp(x): the real line onto the positive one."""

    def forward(self, x):
        return jnp.exp(x)

    def inverse(self, y):
        return jnp.log(y)

    def log_abs_det_jacobian(self, x):
        return jnp.asarray(x)


class Affine(AbstractBijection):
    """y = loc + scale * x, with `scale` != 0 (both broadcast against x)."""

    loc: Float[Array, "..."]
    scale: Float[Array, "..."]

    def __init__(self, loc: Float[ArrayLike, "..."] = 0.0, scale: Float[ArrayLike, "..."] = 1.0):
        loc, scale = jnp.asarray(loc, float), jnp.asarray(scale, float)
        self.loc = check(loc, jnp.isfinite(loc), "Affine: `loc` must be finite")
        self.scale = check(scale, jnp.isfinite(scale) & (scale != 0), "Affine: `scale` must be finite and != 0")

    def forward(self, x):
        return self.loc + self.scale * x

    def inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x):
        return jnp.broadcast_to(jnp.log(jnp.abs(self.scale)), jnp.broadcast_shapes(jnp.shape(x), self.scale.shape, self.loc.shape))


class Sigmoid(AbstractBijection):
    """y = 1 / (1 + exp(-x)): the real line onto (0, 1)."""

    def forward(self, x):
        return jax.nn.sigmoid(x)

    def inverse(self, y):
        return jnp.log(y) - jnp.log1p(-y)

    def log_abs_det_jacobian(self, x):
        return -jax.nn.softplus(-x) - jax.nn.softplus(x)


class Ordered(AbstractBijection):
    """Real vectors onto increasing ones along the last axis: y_1 = x_1, y_i = y_{i-1} + exp(x_i)."""

    event_dim: ClassVar[int] = 1

    def forward(self, x):
        return c.ordered.from_unconstrained(x)

    def inverse(self, y):
        return c.ordered.to_unconstrained(y)

    def log_abs_det_jacobian(self, x):
        return c.ordered.log_abs_det_jacobian(x)


class PositiveOrdered(AbstractBijection):
    """Real vectors onto increasing positive ones along the last axis: y_i = exp(x_1) + ... + exp(x_i).

    Stan's `positive_ordered`. (A positive base under `Ordered` is not this: there the gaps
    y_i - y_{i-1} = exp(x_i) would all exceed 1.)
    """

    event_dim: ClassVar[int] = 1

    def forward(self, x):
        return c.positive_ordered.from_unconstrained(x)

    def inverse(self, y):
        return c.positive_ordered.to_unconstrained(y)

    def log_abs_det_jacobian(self, x):
        return c.positive_ordered.log_abs_det_jacobian(x)
