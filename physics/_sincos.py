"""sin and cos together, as a polynomial XLA can vectorise and fuse.

On CPU, XLA evaluates a float64 `sin` or `cos` one element at a time (about 8 ns each here),
and copies it into every fused consumer. The trebuchet's equations of motion need six of
them per state, so they dominated a vmapped shot. This is the textbook method instead:
reduce the angle by the nearest multiple k of pi/2 (Cody-Waite, pi/2 in three parts so the
reduction is exact for |x| < 2^20), evaluate Taylor polynomials on |r| <= pi/4 (truncation
error below 1e-19), and pick signs by k mod 4. Accurate to about 1 ulp for |x| < 1e5 (tests/physics/test_tsit5.py); three times
faster than `jnp.sin` + `jnp.cos` on 2 CPU cores.
"""

import math

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

# pi/2 = _PIO2_1 + _PIO2_2 + _PIO2_3; _PIO2_1 has 33 significant bits, so k * _PIO2_1 is exact.
_PIO2_1 = 1.57079632673412561417e00
_PIO2_2 = 6.07710050650619224932e-11
_PIO2_3 = 2.02226624879595063154e-21
_SIN = tuple((-1) ** i / math.factorial(2 * i + 1) for i in range(9))  # r^1 .. r^17
_COS = tuple((-1) ** i / math.factorial(2 * i) for i in range(10))  # r^0 .. r^18


def _horner(coefficients, z):
    acc = jnp.full_like(z, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        acc = acc * z + c
    return acc


@jax.custom_jvp
def sincos(x: Float[ArrayLike, "*shape"]) -> tuple[Float[Array, "*shape"], Float[Array, "*shape"]]:
    """(sin x, cos x) of x in radians, elementwise; the polynomial for float64, libm otherwise."""
    x = jnp.asarray(x)
    if x.dtype != jnp.float64:
        # The reduction constants and the degree are float64's; float32's sin and cos are
        # already vectorised by XLA.
        return jnp.sin(x), jnp.cos(x)
    k = jnp.round(x * (2 / math.pi))
    r = ((x - k * _PIO2_1) - k * _PIO2_2) - k * _PIO2_3
    z = r * r
    s, c = r * _horner(_SIN, z), _horner(_COS, z)
    quadrant = k.astype(jnp.int32) & 3
    sin = jnp.where(quadrant == 0, s, jnp.where(quadrant == 1, c, jnp.where(quadrant == 2, -s, -c)))
    cos = jnp.where(quadrant == 0, c, jnp.where(quadrant == 1, -s, jnp.where(quadrant == 2, -c, s)))
    return sin, cos


@sincos.defjvp
def _sincos_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    sin, cos = sincos(x)
    return (sin, cos), (cos * dx, -sin * dx)
