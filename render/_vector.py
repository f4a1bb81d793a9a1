"""Vector arithmetic on component-first arrays `(3, *n)`, safe to differentiate everywhere."""

import jax.numpy as jnp

from ._types import Array, Vecs


def dot(a: Vecs, b: Vecs) -> Array:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def cross(a: Vecs, b: Vecs) -> Vecs:
    return jnp.stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


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


def expand(v: Array, ndim: int) -> Array:
    """Append `ndim` unit axes to `v`, so per-primitive arrays broadcast against ray batches."""
    return v.reshape(v.shape + (1,) * ndim)


# XLA on CPU reduces over a leading (major) axis slowly; for the few primitives or light samples
# of a typical scene, a chain of elementwise operations fuses into one vectorised loop instead.
_UNROLL = 32


def any_leading(x: Array) -> Array:
    """`jnp.any(x, axis=0)`."""
    if x.shape[0] > _UNROLL:
        return jnp.any(x, axis=0)
    out = x[0]
    for i in range(1, x.shape[0]):
        out = out | x[i]
    return out


def sum_leading(x: Array) -> Array:
    """`jnp.sum(x, axis=0)`."""
    if x.shape[0] > _UNROLL:
        return jnp.sum(x, axis=0)
    out = x[0]
    for i in range(1, x.shape[0]):
        out = out + x[i]
    return out


def unrolled(n: int) -> bool:
    """Whether a leading axis of length `n` is reduced by an unrolled chain."""
    return n <= _UNROLL
