"""Input validation that works both eagerly and under `jit`.

Concrete values fail fast with a `ValueError`; traced values go through
`eqx.error_if`, which raises at run time with the same message.
"""

import contextlib
import threading

import jax
import jax.numpy as jnp
import numpy as np
import equinox as eqx
from jaxtyping import Array, ArrayLike, Bool


def is_traced(x) -> bool:
    """True when `x` (or any leaf of it) is a JAX tracer, i.e. we are inside a transform."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(x))


class _TracedChecks(threading.local):
    enabled = True


_traced_checks = _TracedChecks()


@contextlib.contextmanager
def traced_checks_disabled():
    """Within this block, checks on traced values are skipped (concrete values still raise).

    Samplers and optimisers trace a model's density with it: a proposal in a bad corner of
    parameter space (a scale underflowing to 0) must give a log density of -inf, which
    rejects the proposal, not a run-time error that ends the whole run.
    """
    previous = _traced_checks.enabled
    _traced_checks.enabled = False
    try:
        yield
    finally:
        _traced_checks.enabled = previous


def _describe(value) -> str:
    value = np.asarray(value)
    if value.size == 1:
        return repr(value.item())
    return f"an array of shape {value.shape} with values in [{value.min()}, {value.max()}]"


def check(value: ArrayLike, ok: Bool[ArrayLike, "..."], message: str) -> Array:
    """Return `value` unchanged, failing with `message` wherever `ok` is False.

    Eagerly this raises `ValueError(message + " (got ...)")`; under a JAX transform it
    attaches `eqx.error_if`, so the compiled program raises the same message at run time.
    """
    value = jnp.asarray(value)
    if is_traced(value) or is_traced(ok):
        if not _traced_checks.enabled:
            return value
        return eqx.error_if(value, jnp.logical_not(jnp.all(ok)), message)
    if not bool(np.all(np.asarray(ok))):
        raise ValueError(f"{message} (got {_describe(value)})")
    return value


def check_positive(name: str, value: ArrayLike) -> Array:
    """`value` unchanged if every entry is > 0, else an error naming `name` (see `check`)."""
    return check(value, jnp.asarray(value) > 0, f"`{name}` must be > 0 and finite")


def check_nonnegative(name: str, value: ArrayLike) -> Array:
    """`value` unchanged if every entry is >= 0, else an error naming `name` (see `check`)."""
    return check(value, jnp.asarray(value) >= 0, f"`{name}` must be >= 0")


def check_finite(name: str, value: ArrayLike) -> Array:
    """`value` unchanged if no entry is NaN or infinite, else an error naming `name` (see `check`)."""
    return check(value, jnp.isfinite(value), f"`{name}` must be finite (no NaN or inf)")


def check_in_range(
    name: str,
    value: ArrayLike,
    low: float,
    high: float,
    *,
    closed: tuple[bool, bool] = (True, True),
) -> Array:
    """Check `low <= value <= high` (brackets chosen by `closed`)."""
    v = jnp.asarray(value)
    lo_ok = v >= low if closed[0] else v > low
    hi_ok = v <= high if closed[1] else v < high
    interval = f"{'[' if closed[0] else '('}{low}, {high}{']' if closed[1] else ')'}"
    return check(value, lo_ok & hi_ok, f"`{name}` must lie in {interval}")
