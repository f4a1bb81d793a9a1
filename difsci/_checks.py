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


def as_real(name: str, value: ArrayLike, *, ndim: int | None = None, dtype=None) -> Array:
    """`value` as a real floating array, or a `ValueError` naming `name`.

    Strings, None, booleans, complex numbers and other non-numbers are refused (JAX would
    raise a `TypeError` of its own, or drop an imaginary part), and so is an array of other
    than `ndim` dimensions when `ndim` is given (`ndim=0`: a scalar). Integers become the
    default float; floats keep their dtype unless `dtype` is given. Works on traced values
    (their dtype and shape are known while tracing).
    """
    if value is None or isinstance(value, (str, bytes, bool, np.bool_)):
        raise ValueError(f"`{name}` must be a real number or array, got {type(value).__name__} {value!r}")
    try:
        # NumPy first: JAX reads a string inside a list as a dtype name.
        array = value if isinstance(value, jax.Array) else np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a real number or array, got {type(value).__name__}") from None
    if array.dtype.kind in "OUSV":
        raise ValueError(f"`{name}` must be a real number or array, got {type(value).__name__}")
    real = jnp.issubdtype(array.dtype, jnp.integer) or jnp.issubdtype(array.dtype, jnp.floating)
    if not real or array.dtype == jnp.bool_:
        raise ValueError(f"`{name}` must be real (integer or floating point), got dtype {array.dtype}")
    array = jnp.asarray(array)
    if dtype is None:
        dtype = array.dtype if jnp.issubdtype(array.dtype, jnp.floating) else jnp.result_type(float)
    array = jnp.asarray(array, dtype)
    if ndim is not None and array.ndim != ndim:
        wanted = "a scalar" if ndim == 0 else f"an array of {ndim} dimensions"
        raise ValueError(f"`{name}` must be {wanted}, got shape {array.shape}")
    return array


_EQX_LINE = "equinox.EquinoxRuntimeError: "
_EQX_END = "\n\n-------------------"
_JAX_LINE = "_EquinoxRuntimeError: "  # how the same error reads through `jax.jit`
_JAX_END = "\n\n\n--------------------"


def _message(text: str, line: str, end: str) -> tuple[str, int, int] | None:
    start = text.find(line)
    if start < 0:
        return None
    stop = text.find(end, start)
    stop = len(text) if stop < 0 else stop
    return text[start + len(line): stop], start, stop


@contextlib.contextmanager
def message_first() -> Iterator[None]:
    """Re-raise a run-time error from jitted code (`eqx.error_if`, a failed solve) with its
    message on the first line.

    Under `eqx.filter_jit` equinox reports such an error as "Above is the stack outside of
    JIT..." followed by the stack inside the compiled function, and only then the message that
    says what went wrong; under `jax.jit` it is a `JaxRuntimeError` whose message is buried in
    a callback's traceback. Within this block (or in a function decorated with
    `@ds.message_first()`) either is raised as an `eqx.EquinoxRuntimeError` whose first line is
    the message, followed by equinox's stack inside the compiled code, if it has one.
    `render.render` already does this.

    **Example:** `with ds.message_first(): eqx.filter_jit(trebuchet.shoot)(mass, angle)`
    """
    try:
        yield
    except eqx.EquinoxRuntimeError as error:
        text = str(error)
        found = _message(text, _EQX_LINE, _EQX_END)
        if found is None or text.startswith(found[0]):
            raise
        message, start, stop = found
        stack = text[:start].replace(
            "Above is the stack outside of JIT. Below is the stack inside of JIT:",
            "The stack inside the compiled code (the traceback above is the stack outside it):",
        )
        raise eqx.EquinoxRuntimeError(
            f"{message}\n\n(raised while running compiled code; EQX_ON_ERROR=breakpoint stops there)\n"
            f"{stack}{text[stop:]}"
        ) from None
    except jax.errors.JaxRuntimeError as error:
        found = _message(str(error), _JAX_LINE, _JAX_END)
        if found is None:
            raise
        raise eqx.EquinoxRuntimeError(
            f"{found[0]}\n\n(raised while running code compiled by `jax.jit`; with `eqx.filter_jit` "
            "the error also shows where in the compiled code it was raised)"
        ) from None


def require_key(caller: str, key) -> None:
    """A `ValueError` unless `key` is a `jax.random.key` (or a legacy uint32 `PRNGKey`)."""
    if isinstance(key, jax.Array):
        if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) or (key.dtype == jnp.uint32 and key.shape[-1:] == (2,)):
            return
        got = f"an array of dtype {key.dtype} and shape {key.shape}"
    else:
        got = f"{type(key).__name__} {key!r}"
    raise ValueError(f"{caller}: `key` must be a random key, e.g. jax.random.key(0); got {got}")
