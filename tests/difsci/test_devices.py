"""Batches split over devices: `sharded_vmap` and `shard_batch` against plain `vmap`."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import difsci as ds
from ..helpers import run_with_devices

SHARDED = """
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
import difsci as ds

def f(x, scale):
    # A batched while loop: each lane runs a different number of iterations.
    def body(c):
        v, n = c
        return jnp.where(v > 1, v / 2, 3 * v + 1) * scale, n + 1
    return jax.lax.while_loop(lambda c: c[0] > 1.5, body, (x, 0))

x = jnp.arange(1.0, 11.0)                  # 10 lanes: padded to 12 on 4 devices
out = ds.sharded_vmap(f, in_axes=(0, None))(x, 1.0)
again = ds.sharded_vmap(f, in_axes=(0, None))(x, 1.0)
placed = ds.shard_batch(jnp.arange(8.0))
print(jax.device_count(), repr([np.asarray(o).tolist() for o in out]), len(placed.sharding.device_set))
"""


def test_sharded_vmap_on_four_devices_equals_vmap_on_one():
    one = run_with_devices(SHARDED, 1).split(maxsplit=1)
    four = run_with_devices(SHARDED, 4).split(maxsplit=1)
    assert (one[0], four[0]) == ("1", "4")
    values_one, devices_one = one[1].rsplit(maxsplit=1)
    values_four, devices_four = four[1].rsplit(maxsplit=1)
    assert (devices_one, devices_four) == ("1", "4")
    assert eval(values_four) == eval(values_one)

    def f(x):
        v, n = x, 0
        while v > 1.5:
            v, n = (v / 2 if v > 1 else 3 * v + 1), n + 1
        return v, n

    expected = [f(float(x)) for x in range(1, 11)]
    np.testing.assert_allclose(eval(values_one)[0], [e[0] for e in expected])
    assert eval(values_one)[1] == [e[1] for e in expected]


def test_sharded_vmap_is_vmap_on_one_device_and_compiles_once():
    calls = []

    def f(x, y):
        calls.append(1)
        return {"sum": x + y, "prod": x * y}

    g = ds.sharded_vmap(f, in_axes=(0, None))
    out = g(jnp.arange(5.0), 2.0)
    np.testing.assert_array_equal(out["sum"], jnp.arange(5.0) + 2)
    np.testing.assert_array_equal(out["prod"], jnp.arange(5.0) * 2)
    g(jnp.arange(5.0) + 1, 3.0)
    assert len(calls) == 1  # traced once, reused


def test_batch_compiler_options_ask_for_wide_vectors_on_cpu():
    assert jax.default_backend() == "cpu"
    assert ds.batch_compiler_options() == {"xla_cpu_prefer_vector_width": 512}


@pytest.mark.parametrize(
    "in_axes, args, words",
    [
        ((0, 1), (jnp.ones(3), jnp.ones(3)), "in_axes entries must be 0 or None"),
        ((0,), (jnp.ones(3), jnp.ones(3)), "in_axes has 1 entries for 2 arguments"),
        (0, (jnp.ones(3), jnp.ones(4)), "different batch sizes"),
    ],
)
def test_sharded_vmap_bad_arguments(in_axes, args, words):
    with pytest.raises(ValueError, match=words):
        ds.sharded_vmap(lambda a, b: a + b, in_axes=in_axes)(*args)


def test_shard_batch_needs_a_leading_axis():
    with pytest.raises(ValueError, match="leading axis"):
        ds.shard_batch(jnp.float32(1.0))


def test_sharded_vmap_inside_jit_and_grad():
    g = ds.sharded_vmap(lambda x, w: jnp.sin(w * x), in_axes=(0, None))
    x = jnp.linspace(0.0, 1.0, 6)
    loss = jax.jit(lambda w: jnp.sum(g(x, w)))
    np.testing.assert_allclose(loss(0.7), np.sum(np.sin(0.7 * np.asarray(x))), rtol=1e-12)
    np.testing.assert_allclose(jax.grad(loss)(0.7), np.sum(np.asarray(x) * np.cos(0.7 * np.asarray(x))), rtol=1e-12)
