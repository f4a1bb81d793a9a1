"""Shape aliases and array conversion shared across `render` (jaxtyping, kept in one place)."""

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float, Int

import difsci as ds

#: A point or direction in world space, metres.
Vec3 = Float[Array, "*batch 3"]
#: A linear RGB triple (radiance, intensity, albedo, ...).
RGB = Float[Array, "*batch 3"]
#: A linear-radiance image, W/(sr m^2) per channel.
Image = Float[Array, "height width 3"]

__all__ = ["Array", "ArrayLike", "Bool", "Float", "Int", "Vec3", "RGB", "Image"]


def as_float(x: ArrayLike, name: str = "value", *, ndim: int | None = None) -> Array:
    """`x` as a floating JAX array: float inputs keep their dtype, ints become the default float;
    anything not real (a string, complex, bool) is a `ValueError` naming `name`.

    The result is never weakly typed, so a Python-number field and its updated value (after an
    optimiser step) have the same type and a jitted render does not compile twice."""
    return ds.as_real(name, x, ndim=ndim)


def as_vec3(owner: str, name: str, x: ArrayLike) -> Array:
    """`x` as a float array whose last axis has length 3, or a `ValueError` naming it."""
    x = as_float(x, f"{owner} {name}")
    if x.ndim == 0 or x.shape[-1] != 3:
        raise ValueError(f"{owner}: `{name}` must have shape (..., 3) (x, y, z or r, g, b), got shape {x.shape}")
    return x


def as_rgb(owner: str, name: str, x: ArrayLike) -> Array:
    """`x` as an RGB array `(..., 3)`; a scalar means grey and is repeated."""
    x = as_float(x, f"{owner} {name}")
    if x.ndim == 0:
        x = jnp.broadcast_to(x, (3,))
    return as_vec3(owner, name, x)


def is_concrete(*xs) -> bool:
    """True when none of `xs` is a tracer (so NumPy can look at the values)."""
    import jax

    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(xs))


def check_emission(name: str, x: ArrayLike) -> Array:
    """A light's power: >= 0 and finite (an infinite one turns every lit pixel into NaN)."""
    x = jnp.asarray(x)
    return ds.check(x, jnp.isfinite(x) & (x >= 0), f"`{name}` must be >= 0 and finite")
