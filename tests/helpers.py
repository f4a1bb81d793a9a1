"""Shared test helpers: tree comparison, finite differences, and bad-input assertions."""

import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import difsci as ds


def tree_allclose(x, y, *, rtol=1e-5, atol=1e-8) -> bool:
    """True when two pytrees have the same structure and allclose leaves."""
    if jax.tree_util.tree_structure(x) != jax.tree_util.tree_structure(y):
        return False
    return all(
        np.allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)
        for a, b in zip(jax.tree_util.tree_leaves(x), jax.tree_util.tree_leaves(y))
    )


def finite_difference_grad(f, x, *, eps=1e-6):
    """Central finite-difference gradient of scalar `f` at array `x` (float64 advised)."""
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = eps
        grad[idx] = (float(f(jnp.asarray(x + step))) - float(f(jnp.asarray(x - step)))) / (2 * eps)
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
