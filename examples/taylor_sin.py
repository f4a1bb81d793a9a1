"""The Taylor series of sin, differentiated through its loop, branch and early return.

The Zygote paper's example, in spirit: an ordinary Python function with a `for` loop over
1..19, a branch on odd indices and an early `return` once a term drops below 1e-8. With
`@ds.autograph` it compiles with `jax.jit`, batches with `jax.vmap`, and differentiates
in forward and reverse mode; its derivative is cos to within the series' truncation.

    python examples/taylor_sin.py [--points 10000] [--x 1.0]

Prints sin(x) and d/dx sin(x) from the series (reverse and forward mode, compiled) against
math.sin / math.cos, the worst error over a vmapped grid of points in [-pi, pi], and the
time per derivative: compiled, against eager `jax.grad` of the same plain Python function.
"""

import argparse
import math
import time

import jax
import jax.numpy as jnp
import numpy as np

import difsci as ds


@ds.autograph
def sin_taylor(x):
    """sin(x) as x - x^3/3! + x^5/5! - ..., stopping once a term is below 1e-8."""
    total = jnp.zeros_like(x)
    factorial = jnp.ones_like(x)  # i!
    sign = 1.0
    for i in range(1, 20):
        factorial = factorial * i
        if i % 2 == 1:
            term = x**i / factorial
            if jnp.abs(term) < 1e-8:
                return total
            total = total + sign * term
            sign = -sign
    return total


def _seconds_per_call(fn, x, repeats: int) -> float:
    jax.block_until_ready(fn(x))
    start = time.perf_counter()
    for _ in range(repeats):
        jax.block_until_ready(fn(x))
    return (time.perf_counter() - start) / repeats


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=10_000, help="grid size for the vmapped check")
    parser.add_argument("--x", type=float, default=1.0, help="where to differentiate")
    parser.add_argument("--repeats", type=int, default=20, help="calls per timing")
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    x = jnp.float64(args.x)

    reverse = jax.jit(jax.grad(sin_taylor))
    forward = jax.jit(lambda x: jax.jvp(sin_taylor, (x,), (jnp.ones_like(x),))[1])
    value = float(jax.jit(sin_taylor)(x))
    d_reverse, d_forward = float(reverse(x)), float(forward(x))
    print(f"sin({args.x}):   series {value:.15f}   math.sin {math.sin(args.x):.15f}")
    print(f"d/dx at {args.x}: reverse {d_reverse:.15f}   forward {d_forward:.15f}   math.cos {math.cos(args.x):.15f}")

    grid = jnp.linspace(-math.pi, math.pi, args.points)
    values = jax.jit(jax.vmap(sin_taylor))(grid)
    slopes = jax.jit(jax.vmap(jax.grad(sin_taylor)))(grid)
    value_error = float(jnp.max(jnp.abs(values - jnp.sin(grid))))
    slope_error = float(jnp.max(jnp.abs(slopes - jnp.cos(grid))))
    # The same derivative, eagerly through the undecorated Python function, at a few points.
    plain = sin_taylor.__wrapped__
    sample = np.linspace(0, args.points - 1, min(args.points, 16)).astype(int)
    eager_slopes = np.array([float(jax.grad(plain)(grid[i])) for i in sample])
    eager_gap = float(np.max(np.abs(np.asarray(slopes)[sample] - eager_slopes)))
    print(f"vmapped over {args.points} points in [-pi, pi]: max |series - sin| {value_error:.2e}, "
          f"max |d series - cos| {slope_error:.2e} (near 0 the early return drops terms whose "
          f"slope exceeds 1e-8), max |compiled - eager plain grad| {eager_gap:.2e}")

    eager = _seconds_per_call(jax.grad(plain), x, max(1, args.repeats // 10))
    compiled = _seconds_per_call(reverse, x, args.repeats)
    print(f"derivative per call: compiled {compiled * 1e6:.1f} us, eager jax.grad of the plain function "
          f"{eager * 1e3:.1f} ms ({eager / compiled:.0f}x)")
    return {
        "value": value,
        "d_reverse": d_reverse,
        "d_forward": d_forward,
        "grid_value_error": value_error,
        "grid_slope_error": slope_error,
        "grid_eager_gap": eager_gap,
        "compiled_s": compiled,
        "eager_s": eager,
    }


if __name__ == "__main__":
    from models._cli import enable_compilation_cache

    enable_compilation_cache()  # DIFSCI_NO_CACHE=1 turns it off
    main()
