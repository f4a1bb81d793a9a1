"""Shared test helpers: tree comparison, finite differences, and bad-input assertions."""

import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import difsci as ds


_PY_SCALARS = (bool, int, float, complex)


def tree_allclose(x, y, *, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    """True when two pytrees have the same structure and every pair of leaves the same shape,
    the same dtype and allclose values.

    Shapes never broadcast (a `(1,)` leaf does not match a `()` one) and dtypes never promote
    (float32 does not match float64); a Python scalar matches a 0-d array of its kind
    (bool, integer, floating, complex), since it has no dtype of its own.
    """
    if jax.tree_util.tree_structure(x) != jax.tree_util.tree_structure(y):
        return False
    for a, b in zip(jax.tree_util.tree_leaves(x), jax.tree_util.tree_leaves(y)):
        a_, b_ = np.asarray(a), np.asarray(b)
        if a_.shape != b_.shape:
            return False
        weak = isinstance(a, _PY_SCALARS) or isinstance(b, _PY_SCALARS)
        if (a_.dtype.kind != b_.dtype.kind) if weak else (a_.dtype != b_.dtype):
            return False
        if not np.allclose(a_, b_, rtol=rtol, atol=atol, equal_nan=equal_nan):
            return False
    return True


def central_difference(f, x, step):
    """The derivative of `f` at `x` along `step` by central differences,
    `(f(x + step) - f(x - step)) / (2 |step|)`: `step` a positive number, or an array of `x`'s
    shape (then the derivative along its direction). `f` may return any pytree of arrays.

    Step choice: the truncation error is about `|f'''| h^2 / 6` and the rounding error about
    `eps |f| / h`, so `h ~ (3 eps)^(1/3) * scale` balances them: ~1e-5 times the size of `x`
    in float64 (relative error ~1e-10 for a smooth `f`), ~1e-2 in float32, so run finite
    differences in float64. An adaptive solver's tolerance `rtol` adds about `rtol / h` of
    noise: there use coarser steps, or tighten the solver.
    """
    step_ = np.asarray(step, np.float64)
    size = float(np.linalg.norm(step_)) if step_.ndim else float(step_)
    if not size > 0:
        raise ValueError(f"central_difference: `step` must be > 0 (or a non-zero array), got {step}")
    plus, minus = f(x + step), f(x - step)
    return jax.tree_util.tree_map(lambda p, m: (np.asarray(p) - np.asarray(m)) / (2 * size), plus, minus)


def finite_difference_grad(f, x, *, eps=1e-6):
    """Central finite-difference gradient of scalar `f` at array `x`, one coordinate at a time
    with absolute step `eps` (see `central_difference` for the step choice; float64 advised)."""
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = eps
        grad[idx] = central_difference(lambda v: float(f(jnp.asarray(v))), x, step)
    return grad


def run_with_devices(code: str, num_devices: int = 4, timeout: float = 300.0) -> str:
    """Run `code` in a fresh Python with `num_devices` fake CPU devices; return stdout."""
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={num_devices}"
    env["JAX_PLATFORMS"] = "cpu"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(f"subprocess failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def assert_rejected(call, name: str, *, jitted: bool = False) -> str:
    """`call()` fails with a clear error whose first line names the argument `name` (inside
    backticks, e.g. "`radius`" or "`Sphere radius`"); returns that line.

    Eagerly the error must be a `ValueError`; when `jitted`, also the `eqx.EquinoxRuntimeError`
    of an `eqx.error_if` firing at run time (`ds.message_first` puts its message first). Any
    other exception, a NaN or a returned value fails the test.
    """
    errors = (ValueError, eqx.EquinoxRuntimeError) if jitted else ValueError
    with pytest.raises(errors) as info:
        with ds.message_first():
            jax.block_until_ready(call())
    first = str(info.value).splitlines()[0]
    assert re.search(rf"`[^`]*\b{re.escape(name)}\b[^`]*`", first), f"the first line does not name `{name}`: {first!r}"
    return first


def assert_finite(tree) -> None:
    """Every floating leaf of `tree` is finite (no NaN, no inf)."""
    for leaf in jax.tree_util.tree_leaves(tree):
        if eqx.is_array(leaf) and jnp.issubdtype(leaf.dtype, jnp.inexact):
            assert np.all(np.isfinite(np.asarray(leaf))), f"non-finite values in {leaf}"
