"""Supports of distributions and their bijections to unconstrained space.

Each constraint knows which values it admits (`check`) and, when continuous, a smooth
bijection `from_unconstrained: R^n -> support` with its inverse and log-Jacobian, which
samplers (NUTS) and variational guides use to work in unconstrained coordinates.
"""

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float

from ._custom_types import Shape


class AbstractConstraint(eqx.Module):
    """The set of values a distribution can take.

    `event_dim` is the number of trailing axes one value occupies (0 for scalars,
    1 for vectors such as simplex points).
    """

    event_dim: ClassVar[int] = 0
    is_discrete: ClassVar[bool] = False

    @abc.abstractmethod
    def check(self, x: ArrayLike) -> Bool[Array, "..."]:
        """Whether each value (over the batch axes) lies in the set."""

    def unconstrained_shape(self, shape: Shape) -> Shape:
        """Shape of the unconstrained coordinates of a value of shape `shape`."""
        return tuple(shape)

    def from_unconstrained(self, u: Float[ArrayLike, "..."]) -> Array:
        raise TypeError(
            f"{type(self).__name__} is a discrete support: it has no bijection to unconstrained "
            "space. Gradient-based inference (NUTS, reparameterised VI) needs continuous latents; "
            "marginalise the discrete variable, observe it, or use a relaxed distribution."
        )

    def to_unconstrained(self, x: Float[ArrayLike, "..."]) -> Array:
        return self.from_unconstrained(x)  # raises the same explanation

    def log_abs_det_jacobian(self, u: Float[ArrayLike, "..."]) -> Array:
        """log |det d from_unconstrained(u) / du|, summed over the event axes."""
        return self.from_unconstrained(u)


def _positive_part(u):
    # log|J| of exp, sigmoid and friends in one numerically stable place.
    return -jax.nn.softplus(-u) - jax.nn.softplus(u)


class Real(AbstractConstraint):
    """All real numbers (identity bijection)."""

    def check(self, x):
        return ~jnp.isnan(jnp.asarray(x))

    def from_unconstrained(self, u):
        return jnp.asarray(u)

    def to_unconstrained(self, x):
        return jnp.asarray(x)

    def log_abs_det_jacobian(self, u):
        return jnp.zeros(jnp.shape(u), jnp.result_type(u, float))


class RealVector(AbstractConstraint):
    """Real vectors: the event is the last axis (identity bijection)."""

    event_dim: ClassVar[int] = 1

    def check(self, x):
        return jnp.all(~jnp.isnan(jnp.asarray(x)), axis=-1)

    def from_unconstrained(self, u):
        return jnp.asarray(u)

    def to_unconstrained(self, x):
        return jnp.asarray(x)

    def log_abs_det_jacobian(self, u):
        return jnp.zeros(jnp.shape(u)[:-1], jnp.result_type(u, float))


class Positive(AbstractConstraint):
    """x > 0, through exp."""

    def check(self, x):
        return jnp.asarray(x) > 0

    def from_unconstrained(self, u):
        return jnp.exp(u)

    def to_unconstrained(self, x):
        return jnp.log(x)

    def log_abs_det_jacobian(self, u):
        return jnp.asarray(u)


class GreaterThan(AbstractConstraint):
    """x > low, through low + exp(u)."""

    low: Float[Array, "..."]

    def check(self, x):
        return jnp.asarray(x) > self.low

    def from_unconstrained(self, u):
        return self.low + jnp.exp(u)

    def to_unconstrained(self, x):
        return jnp.log(x - self.low)

    def log_abs_det_jacobian(self, u):
        return jnp.broadcast_to(jnp.asarray(u), jnp.broadcast_shapes(jnp.shape(u), jnp.shape(self.low)))


class LessThan(AbstractConstraint):
    """x < high, through high - exp(u)."""

    high: Float[Array, "..."]

    def check(self, x):
        return jnp.asarray(x) < self.high

    def from_unconstrained(self, u):
        return self.high - jnp.exp(u)

    def to_unconstrained(self, x):
        return jnp.log(self.high - x)

    def log_abs_det_jacobian(self, u):
        return jnp.broadcast_to(jnp.asarray(u), jnp.broadcast_shapes(jnp.shape(u), jnp.shape(self.high)))


class Interval(AbstractConstraint):
    """low < x < high, through a scaled sigmoid."""

    low: Float[Array, "..."]
    high: Float[Array, "..."]

    def check(self, x):
        x = jnp.asarray(x)
        return (x >= self.low) & (x <= self.high)

    def from_unconstrained(self, u):
        return self.low + (self.high - self.low) * jax.nn.sigmoid(u)

    def to_unconstrained(self, x):
        z = (x - self.low) / (self.high - self.low)
        return jnp.log(z) - jnp.log1p(-z)

    def log_abs_det_jacobian(self, u):
        return jnp.log(self.high - self.low) + _positive_part(u)


class Simplex(AbstractConstraint):
    """Probability vectors along the last axis, through stick-breaking.

    K - 1 unconstrained coordinates map to a K-vector; u = 0 maps to the uniform vector.
    """

    event_dim: ClassVar[int] = 1

    def check(self, x):
        x = jnp.asarray(x)
        tol = 10 * jnp.finfo(jnp.result_type(x, float)).eps * x.shape[-1]
        return jnp.all(x >= 0, axis=-1) & (jnp.abs(jnp.sum(x, axis=-1) - 1) <= tol)

    def unconstrained_shape(self, shape):
        return tuple(shape[:-1]) + (shape[-1] - 1,)

    @staticmethod
    def _offset(k):
        return jnp.log(jnp.arange(k, 0, -1, dtype=float))

    def _sticks(self, u):
        u = jnp.asarray(u)
        v = u - self._offset(u.shape[-1]).astype(u.dtype)
        log_z = jax.nn.log_sigmoid(v)
        log_1mz = jax.nn.log_sigmoid(-v)
        # log of the stick left before break k (exclusive cumulative sum).
        log_rest = jnp.cumsum(log_1mz, axis=-1) - log_1mz
        return log_z, log_1mz, log_rest

    def from_unconstrained(self, u):
        log_z, log_1mz, log_rest = self._sticks(u)
        head = jnp.exp(log_rest + log_z)
        tail = jnp.exp(log_rest[..., -1:] + log_1mz[..., -1:])
        return jnp.concatenate([head, tail], axis=-1)

    def to_unconstrained(self, x):
        x = jnp.asarray(x)
        rest = 1 - jnp.cumsum(x[..., :-1], axis=-1) + x[..., :-1]
        z = x[..., :-1] / rest
        return jnp.log(z) - jnp.log1p(-z) + self._offset(x.shape[-1] - 1).astype(x.dtype)

    def log_abs_det_jacobian(self, u):
        log_z, log_1mz, log_rest = self._sticks(u)
        return jnp.sum(log_rest + log_z + log_1mz, axis=-1)


class Ordered(AbstractConstraint):
    """Strictly increasing vectors along the last axis (Stan's `ordered`).

    x_1 = u_1 and x_i = x_{i-1} + exp(u_i): log|J| = sum of u_2..u_K.
    """

    event_dim: ClassVar[int] = 1

    def check(self, x):
        x = jnp.asarray(x)
        return jnp.all(~jnp.isnan(x), axis=-1) & jnp.all(jnp.diff(x, axis=-1) > 0, axis=-1)

    def from_unconstrained(self, u):
        u = jnp.asarray(u)
        return jnp.cumsum(jnp.concatenate([u[..., :1], jnp.exp(u[..., 1:])], axis=-1), axis=-1)

    def to_unconstrained(self, x):
        x = jnp.asarray(x)
        return jnp.concatenate([x[..., :1], jnp.log(jnp.diff(x, axis=-1))], axis=-1)

    def log_abs_det_jacobian(self, u):
        return jnp.sum(jnp.asarray(u)[..., 1:], axis=-1)


class PositiveOrdered(AbstractConstraint):
    """Strictly increasing positive vectors along the last axis (Stan's `positive_ordered`).

    x_i = exp(u_1) + ... + exp(u_i): log|J| = sum of u.
    """

    event_dim: ClassVar[int] = 1

    def check(self, x):
        x = jnp.asarray(x)
        return (x[..., 0] > 0) & jnp.all(jnp.diff(x, axis=-1) > 0, axis=-1)

    def from_unconstrained(self, u):
        return jnp.cumsum(jnp.exp(u), axis=-1)

    def to_unconstrained(self, x):
        x = jnp.asarray(x)
        return jnp.log(jnp.concatenate([x[..., :1], jnp.diff(x, axis=-1)], axis=-1))

    def log_abs_det_jacobian(self, u):
        return jnp.sum(jnp.asarray(u), axis=-1)


def _log1m_tanh_sq(u):
    # log(1 - tanh(u)^2), stable for large |u|.
    return 2 * (jnp.log(2.0) - jnp.abs(u) - jax.nn.softplus(-2 * jnp.abs(u)))


class CorrCholesky(AbstractConstraint):
    """Lower Cholesky factors of correlation matrices (Stan's `cholesky_factor_corr`).

    The d(d-1)/2 unconstrained coordinates are tanh-mapped to canonical partial correlations z,
    and row i of L is z_ij times the length left after the earlier entries, its diagonal what
    remains, so every row has unit norm.
    """

    event_dim: ClassVar[int] = 2

    def check(self, x):
        x = jnp.asarray(x)
        tol = 1e-6 if jnp.result_type(x, float) == jnp.float32 else 1e-10
        lower = jnp.all(jnp.triu(x, 1) == 0, axis=(-2, -1))
        diag = jnp.all(jnp.diagonal(x, axis1=-2, axis2=-1) > 0, axis=-1)
        unit = jnp.all(jnp.abs(jnp.sum(x**2, axis=-1) - 1) <= tol, axis=-1)
        return lower & diag & unit

    def unconstrained_shape(self, shape):
        d = shape[-1]
        return tuple(shape[:-2]) + (d * (d - 1) // 2,)

    @staticmethod
    def _dim(m):
        d = int(round((1 + (1 + 8 * m) ** 0.5) / 2))
        if d * (d - 1) // 2 != m:
            raise ValueError(f"CorrCholesky: {m} unconstrained coordinates are not d(d-1)/2 for any d")
        return d

    def _parts(self, u):
        u = jnp.asarray(u)
        d = self._dim(u.shape[-1])
        rows, cols = jnp.tril_indices(d, -1)
        z = jnp.zeros(u.shape[:-1] + (d, d), u.dtype).at[..., rows, cols].set(jnp.tanh(u))
        log1m = jnp.zeros_like(z).at[..., rows, cols].set(_log1m_tanh_sq(u))
        # log of the squared length left in row i before entry j (exclusive cumulative sum).
        left = jnp.cumsum(log1m, axis=-1) - log1m
        return d, rows, cols, z, log1m, left

    def from_unconstrained(self, u):
        d, rows, cols, z, log1m, left = self._parts(u)
        strict = z * jnp.exp(left / 2)
        diag = jnp.exp(jnp.sum(log1m, axis=-1) / 2)
        return strict + diag[..., None] * jnp.eye(d, dtype=z.dtype)

    def to_unconstrained(self, x):
        x = jnp.asarray(x)
        d = x.shape[-1]
        rows, cols = jnp.tril_indices(d, -1)
        sq = jnp.tril(x, -1) ** 2
        left = 1 - (jnp.cumsum(sq, axis=-1) - sq)
        z = x[..., rows, cols] / jnp.sqrt(left[..., rows, cols])
        return jnp.arctanh(z)

    def log_abs_det_jacobian(self, u):
        d, rows, cols, z, log1m, left = self._parts(u)
        return jnp.sum(log1m[..., rows, cols] + left[..., rows, cols] / 2, axis=-1)


class NonNegativeInteger(AbstractConstraint):
    """0, 1, 2, ..."""

    is_discrete: ClassVar[bool] = True

    def check(self, x):
        x = jnp.asarray(x)
        return (x >= 0) & (jnp.floor(x) == x)


class IntegerInterval(AbstractConstraint):
    """Integers low, ..., high."""

    is_discrete: ClassVar[bool] = True
    low: int = eqx.field(static=True)
    high: int = eqx.field(static=True)

    def check(self, x):
        x = jnp.asarray(x)
        return (x >= self.low) & (x <= self.high) & (jnp.floor(x) == x)


class IntegerBetween(AbstractConstraint):
    """Integers low, ..., high with array bounds (a binomial's 0..total_count)."""

    is_discrete: ClassVar[bool] = True
    low: Float[Array, "..."]
    high: Float[Array, "..."]

    def check(self, x):
        x = jnp.asarray(x)
        return (x >= self.low) & (x <= self.high) & (jnp.floor(x) == x)


class IntegerSimplex(AbstractConstraint):
    """Non-negative integer vectors along the last axis summing to `total` (multinomial counts)."""

    is_discrete: ClassVar[bool] = True
    event_dim: ClassVar[int] = 1
    total: int = eqx.field(static=True)

    def check(self, x):
        x = jnp.asarray(x)
        integral = jnp.all((x >= 0) & (jnp.floor(x) == x), axis=-1)
        return integral & (jnp.sum(x, axis=-1) == self.total)


class OneHot(AbstractConstraint):
    """One-hot vectors along the last axis."""

    is_discrete: ClassVar[bool] = True
    event_dim: ClassVar[int] = 1

    def check(self, x):
        x = jnp.asarray(x)
        return jnp.all((x == 0) | (x == 1), axis=-1) & (jnp.sum(x, axis=-1) == 1)


real = Real()
real_vector = RealVector()
positive = Positive()
unit_interval = Interval(0.0, 1.0)
simplex = Simplex()
ordered = Ordered()
positive_ordered = PositiveOrdered()
corr_cholesky = CorrCholesky()
nonnegative_integer = NonNegativeInteger()
boolean = IntegerInterval(0, 1)
one_hot = OneHot()
