"""Spreading a batch axis (shots, pixels, chains, data) over every device.

`sharded_vmap(fn)` is `vmap(fn)` whose batch is split evenly over all devices: the batch is
placed across a one-axis device mesh and XLA's SPMD partitioner runs each device's slice
where it lives. A batch that does not divide evenly is padded with copies of its first
element and trimmed. With one device it is exactly `jax.vmap(fn)`.
"""

import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

BATCH_AXIS = "batch"


def batch_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A one-axis mesh named `"batch"` over `devices` (default: all devices)."""
    devices = list(jax.devices() if devices is None else devices)
    return Mesh(np.array(devices), (BATCH_AXIS,))


def shard_batch(tree, mesh: Mesh | None = None):
    """Place every leaf of `tree` split along its leading axis over `mesh`'s devices.

    The leading axis must be a multiple of the number of devices.
    """
    mesh = batch_mesh() if mesh is None else mesh
    n = mesh.devices.size

    def place(x):
        x = jnp.asarray(x)
        if x.ndim == 0 or x.shape[0] % n:
            raise ValueError(
                f"shard_batch: leading axis of size {x.shape[:1]} must be a positive multiple of "
                f"the {n} devices; pad the batch or use `sharded_vmap`, which pads for you"
            )
        return jax.device_put(x, NamedSharding(mesh, P(BATCH_AXIS)))

    return jax.tree_util.tree_map(place, tree)


def batch_compiler_options() -> dict | None:
    """XLA options for programs whose every operation runs across a batch.

    On CPU, LLVM is asked for 512-bit vectors where the processor has them (AVX-512): a
    batch of 4,096 vmapped float64 trebuchet shots runs 12 % faster than with XLA's default
    256 bits (`python benchmarks/trebuchet.py`); on a processor without them it changes nothing.
    """
    return {"xla_cpu_prefer_vector_width": 512} if jax.default_backend() == "cpu" else None


def _pad(x, size):
    extra = size - x.shape[0]
    if extra == 0:
        return x
    return jnp.concatenate([x, jnp.broadcast_to(x[:1], (extra,) + x.shape[1:])], axis=0)


def sharded_vmap(
    fn: Callable, *, in_axes=0, devices: Sequence[jax.Device] | None = None
) -> Callable:
    """Like `jax.vmap(fn, in_axes)`, with the batch split over all devices.

    Arguments with `in_axes` entry `None` are broadcast (replicated) to every device; mapped
    arguments must share their leading-axis size. Outputs are batched along axis 0. Results
    equal `jax.vmap(fn)`'s: only where the work runs changes.
    """

    compiled: dict[tuple, Callable] = {}  # one jitted vmap per in_axes pattern, reused across calls

    def batched(axes, args):
        if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(args)):
            return jax.vmap(fn, in_axes=axes)  # inside someone's jit: theirs compiles it
        if axes not in compiled:
            compiled[axes] = jax.jit(jax.vmap(fn, in_axes=axes), compiler_options=batch_compiler_options())
        return compiled[axes]

    @functools.wraps(fn)
    def wrapped(*args):
        axes = in_axes if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(args)
        if len(axes) != len(args):
            raise ValueError(f"sharded_vmap: in_axes has {len(axes)} entries for {len(args)} arguments")
        for a in axes:
            if a not in (0, None):
                raise ValueError(f"sharded_vmap: in_axes entries must be 0 or None, got {a!r}")
        sizes = {
            leaf.shape[0]
            for arg, ax in zip(args, axes)
            if ax == 0
            for leaf in jax.tree_util.tree_leaves(arg)
        }
        if len(sizes) != 1:
            raise ValueError(f"sharded_vmap: mapped arguments have different batch sizes {sorted(sizes)}")
        (size,) = sizes
        mesh = batch_mesh(devices)
        n = mesh.devices.size
        if n == 1:
            return batched(tuple(axes), args)(*args)
        padded = -(-size // n) * n
        args = tuple(
            jax.tree_util.tree_map(lambda x: _pad(jnp.asarray(x), padded), arg) if ax == 0 else arg
            for arg, ax in zip(args, axes)
        )
        sharding = NamedSharding(mesh, P(BATCH_AXIS))
        args = tuple(
            jax.tree_util.tree_map(lambda x: jax.device_put(x, sharding), arg) if ax == 0 else arg
            for arg, ax in zip(args, axes)
        )
        out = batched(tuple(axes), args)(*args)
        return jax.tree_util.tree_map(lambda x: x[:size], out)

    return wrapped


def set_host_device_count(n: int) -> None:
    """Expose `n` CPU devices (e.g. one per core) so batches can be split across cores.

    XLA runs each CPU device's work on its own thread, so splitting chains, shots or a data
    batch over `n` host devices uses `n` cores even where one device's kernels would run on
    one. Must be called before JAX starts its backends (before the first array is made).
    """
    import os
    import re

    if not isinstance(n, int) or n < 1:
        raise ValueError(f"set_host_device_count: `n` must be a positive integer, got {n!r}")
    from jax._src import xla_bridge

    if xla_bridge.backends_are_initialized():
        raise RuntimeError(
            "set_host_device_count must run before JAX initialises its backends; call it at the top "
            "of your program, before creating any array (or set XLA_FLAGS="
            f"--xla_force_host_platform_device_count={n} in the environment)"
        )
    flags = re.sub(r"--xla_force_host_platform_device_count=\S+", "", os.environ.get("XLA_FLAGS", ""))
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={n}".strip()
