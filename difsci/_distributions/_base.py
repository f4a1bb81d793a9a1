"""The distribution interface every family implements."""

import abc
import functools
import operator
from collections.abc import Sequence
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike

from .._checks import check
from .._constraints import AbstractConstraint
from .._custom_types import KeyArray, Shape
from ._arg_constraints import ArgConstraint


class AbstractDistribution(eqx.Module):
    """A probability distribution over arrays, as an immutable pytree.

    Shapes follow NumPy broadcasting: `batch_shape` is the broadcast shape of the
    parameters, `event_shape` the shape of one draw (`()` for scalars, `(k,)` for vectors).
    `sample(key, sample_shape)` returns `sample_shape + batch_shape + event_shape`;
    `log_prob(value)` returns one log-density per event, over the broadcast batch axes.
    Distributions with `has_rsample = True` sample by reparameterisation, so
    `jax.grad` of a function of the samples flows to the parameters.

    Every family's `sample` and `log_prob` are wrapped once, when the class is defined, so
    their inputs are checked in one place: `sample_shape` may be an int or a tuple of
    non-negative ints; a value to score must end in `event_shape` and broadcast with
    `batch_shape` (else a `ValueError` naming both shapes); and a NaN value scores -inf,
    like any other value outside the support (so a sampler rejects it rather than carrying
    a NaN density). Bound methods jit directly: `jax.jit(ds.Beta(2., 2.).log_prob)`.
    """

    has_rsample: ClassVar[bool] = False
    arg_constraints: ClassVar[dict[str, ArgConstraint]] = {}

    def _params(self, **params: ArrayLike) -> tuple[Array, ...]:
        """The named parameters, checked against `arg_constraints`, promoted to one floating
        dtype and broadcast to their common batch shape (each keeps its event axes).

        A shape mismatch or a value outside its constraint is a `ValueError` naming the
        argument (`eqx.error_if` with the same message when the value is traced).
        """
        family = type(self).__name__
        spec = {name: type(self).arg_constraints[name] for name in params}
        arrays = {name: _inexact(x) for name, x in params.items()}
        dtype = jnp.result_type(*arrays.values())
        arrays = {name: jnp.asarray(x, dtype=dtype) for name, x in arrays.items()}
        batches = {}
        for name, x in arrays.items():
            k = spec[name].event_dim
            if x.ndim < k:
                raise ValueError(f"{family}: `{name}` must have at least {k} axes (its event axes) but has shape {x.shape}")
            batches[name] = x.shape[: x.ndim - k]
        try:
            batch = jnp.broadcast_shapes(*batches.values())
        except ValueError:
            shapes = ", ".join(f"`{name}` {x.shape}" for name, x in arrays.items())
            raise ValueError(f"{family}: the parameters' shapes do not broadcast together: {shapes}") from None
        out = []
        for name, x in arrays.items():
            x = jnp.broadcast_to(x, batch + x.shape[len(batches[name]):])
            out.append(check(x, spec[name].ok(x), f"{family}: `{name}` must be {spec[name].allowed}"))
        return tuple(out)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "sample" in cls.__dict__:
            cls.sample = _checked_sample(cls.__dict__["sample"])
        if "log_prob" in cls.__dict__:
            cls.log_prob = _checked_log_prob(cls.__dict__["log_prob"])

    def __hash__(self):
        # `jax.jit(dist.log_prob)` hashes the bound method, hence the distribution. Module's
        # hash hashes its arrays, which are unhashable; hash their contents instead (equal
        # distributions hash equal), and tracers by identity.
        leaves, treedef = jax.tree_util.tree_flatten(self)
        return hash((treedef, tuple(_leaf_key(x) for x in leaves)))

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
        return as_sample_shape(sample_shape) + tuple(self.batch_shape) + tuple(self.event_shape)


def _leaf_key(x):
    if isinstance(x, jax.core.Tracer):
        return id(x)
    if isinstance(x, (jax.Array, np.ndarray)):
        x = np.asarray(x)
        return (x.shape, x.dtype.str, x.tobytes())
    return x


def as_sample_shape(sample_shape) -> Shape:
    """`sample_shape` as a tuple of non-negative ints (an int n means `(n,)`)."""
    shape = (sample_shape,) if isinstance(sample_shape, (int, np.integer)) else sample_shape
    try:
        shape = tuple(operator.index(n) for n in shape)
    except TypeError:
        raise ValueError(f"`sample_shape` must be an int or a tuple of ints, got {sample_shape!r}") from None
    if any(n < 0 for n in shape):
        raise ValueError(f"`sample_shape` must contain sizes >= 0, got {sample_shape!r}")
    return shape


def _checked_sample(sample):
    @functools.wraps(sample)
    def wrapper(self, key, sample_shape=()):
        return sample(self, key, as_sample_shape(sample_shape))

    return wrapper


def _checked_log_prob(log_prob):
    @functools.wraps(log_prob)
    def wrapper(self, value):
        value = jnp.asarray(value)
        batch, event = tuple(self.batch_shape), tuple(self.event_shape)
        ok = value.shape[value.ndim - len(event):] == event if len(event) <= value.ndim else False
        if ok:
            try:
                jnp.broadcast_shapes(value.shape[: value.ndim - len(event)], batch)
            except ValueError:
                ok = False
        if not ok:
            raise ValueError(
                f"{type(self).__name__}.log_prob: `value` has shape {value.shape}, but the distribution has "
                f"batch shape {batch} and event shape {event}; a value must end in the event shape and its "
                "other axes must broadcast with the batch shape"
            )
        lp = log_prob(self, value)
        if jnp.issubdtype(value.dtype, jnp.inexact):
            is_nan = jnp.isnan(value)
            if event:
                is_nan = jnp.any(is_nan, axis=tuple(range(-len(event), 0)))
            lp = jnp.where(is_nan, -jnp.inf, lp)
        return lp

    return wrapper


def _inexact(x: ArrayLike) -> Array:
    if isinstance(x, (bool, int)):
        return jnp.asarray(float(x))  # stays weakly typed, so it adopts the other params' dtype
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.result_type(float))
    return x


def as_value(value: ArrayLike, like: Array) -> Array:
    """A value to score: integer values take the parameters' floating dtype."""
    value = jnp.asarray(value)
    if not jnp.issubdtype(value.dtype, jnp.inexact):
        value = value.astype(jnp.asarray(like).dtype)
    return value


def exactly_one(name_a: str, a, name_b: str, b, family: str):
    if (a is None) == (b is None):
        raise ValueError(f"{family}: give exactly one of `{name_a}=` or `{name_b}=`")


def xlogy(x: Array, y: Array) -> Array:
    """x log(y), 0 where x = 0, with finite gradients there (as y -> 0 at x = 0 the terms vanish)."""
    nz = x != 0
    return jnp.where(nz, x * jnp.log(jnp.where(nz, y, 1.0)), 0.0)


def xlog1py(x: Array, y: Array) -> Array:
    """x log(1 + y), 0 where x = 0, with finite gradients there (y = -1 at x = 0 included)."""
    nz = x != 0
    return jnp.where(nz, x * jnp.log1p(jnp.where(nz, y, 0.0)), 0.0)


def safe_log(x: Array) -> Array:
    """log(x) for x > 0, 0 elsewhere, with finite gradients everywhere (double-where)."""
    ok = x > 0
    return jnp.where(ok, jnp.log(jnp.where(ok, x, 1.0)), 0.0)
