"""Batches of 3-vectors as three component arrays, safe to differentiate everywhere.

`Vecs(x, y, z)` holds one array per component, all of one shape (rays, or primitives by rays).
XLA on CPU vectorises and fuses arithmetic on such separate arrays far better than on one
`(3, n)` array, whose every operation mixes a component axis into the loop: the light-fitting
scene of `benchmarks/render.py` rendered 6x faster this way.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ._types import Array, Float


class Vecs(NamedTuple):
    """Points, directions or RGB triples: `x`, `y`, `z` of one shape, metres (or W/sr/m^2, ...).

    Arithmetic is componentwise with another `Vecs`, and broadcasts an array or number to all
    three components: `origins + t * directions`.
    """

    x: Array
    y: Array
    z: Array

    @classmethod
    def of(cls, a: Float[Array, "*batch 3"]) -> "Vecs":
        """The components of a components-last array, e.g. a `(n, 3)` batch of centres."""
        a = jnp.asarray(a)
        return cls(a[..., 0], a[..., 1], a[..., 2])

    def stacked(self, axis: int = 0) -> Array:
        """The three components stacked into one array along `axis`."""
        return jnp.stack(tuple(self), axis=axis)

    def map(self, fn, *others: "Vecs") -> "Vecs":
        """`fn` applied to each component (with the matching components of `others`)."""
        return Vecs(*(fn(*parts) for parts in zip(self, *others)))

    @property
    def shape(self) -> tuple[int, ...]:
        return jnp.shape(self.x)

    @property
    def dtype(self):
        return jnp.result_type(self.x)

    def _binary(self, other, op) -> "Vecs":
        if isinstance(other, Vecs):
            return Vecs(op(self.x, other.x), op(self.y, other.y), op(self.z, other.z))
        return Vecs(op(self.x, other), op(self.y, other), op(self.z, other))

    def __add__(self, other):
        return self._binary(other, jnp.add)

    def __radd__(self, other):
        return self._binary(other, lambda a, b: b + a)

    def __sub__(self, other):
        return self._binary(other, jnp.subtract)

    def __rsub__(self, other):
        return self._binary(other, lambda a, b: b - a)

    def __mul__(self, other):
        return self._binary(other, jnp.multiply)

    def __rmul__(self, other):
        return self._binary(other, lambda a, b: b * a)

    def __truediv__(self, other):
        return self._binary(other, jnp.divide)

    def __neg__(self):
        return Vecs(-self.x, -self.y, -self.z)


def vecs_where(condition: Array, a: Vecs, b: Vecs) -> Vecs:
    """`jnp.where` per component."""
    return Vecs(*(jnp.where(condition, p, q) for p, q in zip(a, b)))


def expand(v, ndim: int):
    """Append `ndim` unit axes to every leaf of `v` (an array or `Vecs`), so per-primitive values
    broadcast against ray batches."""
    return jax.tree_util.tree_map(lambda a: jnp.reshape(a, jnp.shape(a) + (1,) * ndim), v)


def dot(a: Vecs, b: Vecs) -> Array:
    return a.x * b.x + a.y * b.y + a.z * b.z


def cross(a: Vecs, b: Vecs) -> Vecs:
    return Vecs(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)


def safe_rsqrt(x: Array) -> Array:
    """`1 / sqrt(x)` for `x > 0`, else 0, with finite gradients at 0 (the double-`where`)."""
    positive = x > 0
    return jnp.where(positive, jnp.reciprocal(jnp.sqrt(jnp.where(positive, x, 1))), 0)


def safe_sqrt(x: Array) -> Array:
    """`sqrt(max(x, 0))` with a finite (zero) gradient where `x <= 0`."""
    positive = x > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1)), 0)


def normalize(v: Vecs) -> Vecs:
    """`v / |v|`, and 0 for the zero vector."""
    return v * safe_rsqrt(dot(v, v))


# XLA on CPU reduces over a leading (major) axis slowly; for the few light samples of a typical
# scene, a chain of additions fuses into one vectorised loop instead.
_UNROLL = 32


def sum_leading(x: Array) -> Array:
    """`jnp.sum(x, axis=0)`."""
    if x.shape[0] > _UNROLL:
        return jnp.sum(x, axis=0)
    out = x[0]
    for i in range(1, x.shape[0]):
        out = out + x[i]
    return out
