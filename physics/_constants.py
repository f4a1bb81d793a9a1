"""Checked physical constants: each simulator's constructor turns its arguments into real finite
scalars that satisfy a rule, or an error naming the simulator and the argument."""

from collections.abc import Callable

import jax
import jax.numpy as jnp

import difsci as ds


def checked_constant(owner: str, name: str, value, ok: Callable[[jax.Array], jax.Array], rule: str) -> jax.Array:
    """`value` as a float scalar, checked finite and `ok` (`eqx.error_if` when traced): the
    result must be kept, since a check whose result is dropped vanishes under jit."""
    value = ds.as_real(f"{owner} {name}", value, ndim=0, dtype=float)
    return ds.check(value, jnp.isfinite(value) & ok(value), f"{owner}: `{name}` {rule}")


def positive(owner: str, name: str, value) -> jax.Array:
    return checked_constant(owner, name, value, lambda v: v > 0, "must be > 0 and finite")


def nonnegative(owner: str, name: str, value) -> jax.Array:
    return checked_constant(owner, name, value, lambda v: v >= 0, "must be >= 0 and finite")
