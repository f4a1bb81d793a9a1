"""Random numbers per ray from a hash of (key, ray, stream), and stratification.

Each ray's numbers depend only on the key and the ray's index, never on how the image is split
into chunks or over devices, so a sharded render equals a one-device render.
"""

import math

import jax
import jax.numpy as jnp

from ._types import Array, Float, Int


def _mix(x: Array) -> Array:
    # An avalanching 32-bit integer hash (xorshift-multiply rounds, constants from Wellons' search).
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def seed_from_key(key) -> Int[Array, "2"]:
    """Two 32-bit words drawn from a JAX key."""
    return jax.random.bits(key, (2,), jnp.uint32)


def uniforms(seed: Int[Array, "2"], ids: Int[Array, "*rays"], stream: int, count: int, dtype) -> Float[Array, "count 2 *rays"]:
    """`count` pairs of numbers uniform in `[0, 1)` per ray, for one `stream` (a use, e.g. one bounce)."""
    base = _mix(ids.astype(jnp.uint32) ^ _mix(seed[0] + jnp.uint32(stream)))
    j = jnp.arange(2 * count, dtype=jnp.uint32).reshape((count, 2) + (1,) * ids.ndim)
    bits = _mix(base + (j * jnp.uint32(0x9E3779B9) ^ seed[1]))
    return (bits >> 8).astype(jnp.int32).astype(dtype) * (1.0 / (1 << 24))


def grid_shape(n: int) -> tuple[int, int]:
    """The most nearly square `a x b = n` grid of strata (`a <= b`)."""
    a = math.isqrt(n)
    while n % a:
        a -= 1
    return a, n // a


def stratify(u: Float[Array, "*n"], v: Float[Array, "*n"], index: Int[Array, "*n"], n: int):
    """Move uniform `(u, v)` into cell `index` of an `a x b = n` grid of strata over the unit square."""
    a, b = grid_shape(n)
    index = jnp.asarray(index)
    return ((index % b).astype(u.dtype) + u) / b, ((index // b).astype(v.dtype) + v) / a
