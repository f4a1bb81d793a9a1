"""`checks_as_values`: a sampler's density sees failed checks of its own trace as data, while
checks anywhere else (a function it jits, eager values) keep raising."""

import jax
import jax.numpy as jnp
import pytest

import difsci as ds
from difsci._checks import checks_as_values


def test_checks_of_the_own_trace_become_a_verdict():
    def density(scale):
        with checks_as_values() as checks:
            ds.check_positive("scale", scale)
        return jnp.where(checks.passed(), 0.0, -jnp.inf)

    assert float(jax.jit(density)(2.0)) == 0.0
    assert float(jax.jit(density)(-1.0)) == -jnp.inf


def test_a_function_jitted_inside_keeps_raising_and_stays_checked():
    inner = jax.jit(lambda s: ds.check_positive("scale", s))

    def density(scale):
        with checks_as_values() as checks:
            checked = inner(scale)  # used below, as a distribution uses its checked parameters
        return jnp.where(checks.passed(), checked, -jnp.inf)

    with pytest.raises(Exception, match="`scale` must be > 0"):  # jax.jit wraps the error it raises
        jax.block_until_ready(jax.jit(density)(-1.0))
    with pytest.raises(Exception, match="`scale` must be > 0"):  # its cached trace is checked
        jax.block_until_ready(inner(jnp.asarray(-1.0)))


def test_concrete_values_still_raise_inside_the_block():
    with checks_as_values(), pytest.raises(ValueError, match="`scale` must be > 0"):
        ds.check_positive("scale", -1.0)
