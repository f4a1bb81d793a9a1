"""`ds.as_real` (real arrays or a ValueError naming the argument) and `ds.message_first`
(run-time errors from jitted code with their message on the first line)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import difsci as ds


@pytest.mark.parametrize("value, dtype", [(2, jnp.float64), (2.5, jnp.float64), (np.float32(1.5), jnp.float32),
                                          (np.arange(3), jnp.float64), (jnp.ones(2, jnp.float16), jnp.float16)])
def test_as_real_keeps_floats_and_makes_integers_float(value, dtype):
    out = ds.as_real("x", value)
    assert out.dtype == dtype and not out.weak_type
    np.testing.assert_array_equal(out, np.asarray(value, dtype))
    assert ds.as_real("x", value, dtype=jnp.float64).dtype == jnp.float64


@pytest.mark.parametrize("value, words", [("1.0", "real number"), (None, "real number"), (True, "real number"),
                                          (np.bool_(False), "real number"), (1 + 2j, "dtype complex"),
                                          (np.array([True]), "dtype bool"), ([1, "a"], "real number"),
                                          (object(), "real number")])
def test_as_real_refuses_what_is_not_a_real_number(value, words):
    with pytest.raises(ValueError, match=rf"^`Sphere radius` must be .*{words}"):
        ds.as_real("Sphere radius", value)


def test_as_real_checks_the_rank_eagerly_and_while_tracing():
    with pytest.raises(ValueError, match=r"`mass` must be a scalar, got shape \(2,\)"):
        ds.as_real("mass", np.ones(2), ndim=0)
    with pytest.raises(ValueError, match=r"`mass` must be an array of 1 dimensions, got shape \(\)"):
        jax.jit(lambda m: ds.as_real("mass", m, ndim=1))(1.0)
    assert jax.jit(lambda m: ds.as_real("mass", m, ndim=0) * 2)(1.5) == 3.0


def _positive(x):
    return ds.check(x, x > 0, "demo: `x` must be > 0; pass a positive number") * 2


def test_message_first_puts_the_message_on_the_first_line_under_filter_jit():
    f = eqx.filter_jit(_positive)
    with pytest.raises(eqx.EquinoxRuntimeError) as plain:
        f(jnp.asarray(-1.0))
    assert str(plain.value).splitlines()[0].startswith("Above is the stack")  # equinox's own layout
    with pytest.raises(eqx.EquinoxRuntimeError) as info:
        with ds.message_first():
            f(jnp.asarray(-1.0))
    lines = str(info.value).splitlines()
    assert lines[0] == "demo: `x` must be > 0; pass a positive number"
    assert any("_positive" in line for line in lines[1:])  # the stack inside the jit is kept
    assert ds.message_first()(f)(jnp.asarray(2.0)) == 4.0  # as a decorator; no error, same value


def test_message_first_under_jax_jit():
    with pytest.raises(eqx.EquinoxRuntimeError) as info:
        with ds.message_first():
            jax.block_until_ready(jax.jit(_positive)(jnp.asarray(-1.0)))
    assert str(info.value).splitlines()[0] == "demo: `x` must be > 0; pass a positive number"


def test_message_first_lets_other_errors_through():
    with pytest.raises(KeyError, match="z"):
        with ds.message_first():
            {}["z"]
    with pytest.raises(ValueError, match="eager"):
        with ds.message_first():
            raise ValueError("eager")
