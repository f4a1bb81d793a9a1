"""Input validation that works both eagerly and under `jit`.

Concrete values fail fast with a `ValueError`; traced values go through
`eqx.error_if`, which raises at run time with the same message.

A log density for a sampler must turn a failed check into -inf (a simulator that fails for one
proposal rejects that proposal) rather than end the run. `checks_as_values` does that for the
checks made by the code its caller traces directly, and for nothing else: a check inside a
function that code jits, vmaps or differentiates separately belongs to another trace and keeps
raising, so no cached trace anywhere loses its checks.
"""

import contextlib
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
import equinox as eqx
from jax.extend.core import get_opaque_trace_state
from jaxtyping import Array, ArrayLike, Bool


class _Collector:
    def __init__(self):
        self.trace = get_opaque_trace_state(convention="difsci")
        self.flags: list[Array] = []

    def passed(self) -> Bool[Array, ""]:
        return jnp.all(jnp.stack(self.flags)) if self.flags else jnp.asarray(True)


_collectors: list[_Collector] = []  # innermost last; each answers only for its own trace


@contextlib.contextmanager
def checks_as_values() -> Iterator[_Collector]:
    """Within the block, a traced check made at the block's own trace level returns its value
    unchecked and records its verdict; `collector.passed()` is True when every one held.

    Used by samplers' densities (score -inf when a check fails). Concrete values still raise,
    and so does every check traced at another level (a function jitted inside the block).
    """
    collector = _Collector()
    _collectors.append(collector)
    try:
        yield collector
    finally:
        _collectors.remove(collector)


def is_traced(x) -> bool:
    """True when `x` (or any leaf of it) is a JAX tracer, i.e. we are inside a transform."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(x))


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
        if _collectors and _collectors[-1].trace == get_opaque_trace_state(convention="difsci"):
            _collectors[-1].flags.append(jnp.all(ok))
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
