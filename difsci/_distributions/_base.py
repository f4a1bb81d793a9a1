"""The distribution interface every family implements."""

import abc
from collections.abc import Sequence
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike

from .._checks import check
from .._constraints import AbstractConstraint
from .._custom_types import KeyArray, Shape


class AbstractDistribution(eqx.Module):
    """A probability distribution over arrays, as an immutable pytree.

    Shapes follow NumPy broadcasting: `batch_shape` is the broadcast shape of the
    parameters, `event_shape` the shape of one draw (`()` for scalars, `(k,)` for vectors).
    `sample(key, sample_shape)` returns `sample_shape + batch_shape + event_shape`;
    `log_prob(value)` returns one log-density per event, over the broadcast batch axes.
    Distributions with `has_rsample = True` sample by reparameterisation, so
    `jax.grad` of a function of the samples flows to the parameters.
    """

    has_rsample: ClassVar[bool] = False

    @property
    @abc.abstractmethod
    def batch_shape(self) -> Shape:
        """Shape of the independent, not-identically-distributed batch."""

    @property
    def event_shape(self) -> Shape:
        """Shape of a single draw."""
        return ()

    @property
    @abc.abstractmethod
    def support(self) -> AbstractConstraint:
        """The set of values with positive density, with its bijection to R^n."""

    @property
    def is_discrete(self) -> bool:
        return self.support.is_discrete

    @abc.abstractmethod
    def sample(self, key: KeyArray, sample_shape: Sequence[int] = ()) -> Array:
        """Draw `sample_shape + batch_shape + event_shape` values with a JAX PRNG key."""

    @abc.abstractmethod
    def log_prob(self, value: ArrayLike) -> Array:
        """Log-density (or log-mass) of `value`, one per event; -inf outside the support."""

    @property
    def mean(self) -> Array:
        raise NotImplementedError(f"{type(self).__name__} has no closed-form mean")

    @property
    def variance(self) -> Array:
        raise NotImplementedError(f"{type(self).__name__} has no closed-form variance")

    def _shape(self, sample_shape: Sequence[int]) -> Shape:
        return tuple(sample_shape) + tuple(self.batch_shape) + tuple(self.event_shape)


def _inexact(x: ArrayLike) -> Array:
    if isinstance(x, (bool, int)):
        return jnp.asarray(float(x))  # stays weakly typed, so it adopts the other params' dtype
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.result_type(float))
    return x


def promote(*params: ArrayLike) -> tuple[Array, ...]:
    """Parameters as arrays of one floating dtype, broadcast to their common shape."""
    arrays = [_inexact(p) for p in params]
    dtype = jnp.result_type(*arrays)
    arrays = [jnp.asarray(a, dtype=dtype) for a in arrays]
    shape = jnp.broadcast_shapes(*(a.shape for a in arrays))
    return tuple(jnp.broadcast_to(a, shape) for a in arrays)


def as_value(value: ArrayLike, like: Array) -> Array:
    """A value to score: integer values take the parameters' floating dtype."""
    value = jnp.asarray(value)
    if not jnp.issubdtype(value.dtype, jnp.inexact):
        value = value.astype(jnp.asarray(like).dtype)
    return value


def exactly_one(name_a: str, a, name_b: str, b, family: str):
    if (a is None) == (b is None):
        raise ValueError(f"{family}: give exactly one of `{name_a}=` or `{name_b}=`")


def positive(family: str, name: str, x: Array) -> Array:
    return check(x, x > 0, f"{family}: `{name}` must be > 0")


def finite(family: str, name: str, x: Array) -> Array:
    return check(x, jnp.isfinite(x), f"{family}: `{name}` must be finite (no NaN or inf)")


def safe_log(x: Array) -> Array:
    """log(x) for x > 0, 0 elsewhere, with finite gradients everywhere (double-where)."""
    ok = x > 0
    return jnp.where(ok, jnp.log(jnp.where(ok, x, 1.0)), 0.0)
