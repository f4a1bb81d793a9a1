"""Sparse identification of nonlinear dynamics (SINDy) by sequentially thresholded least squares.

Brunton, Proctor & Kutz 2016 (PNAS 113, 3932): regress the derivatives on a library of
candidate terms (here the monomials of the state up to a degree), zero every coefficient
smaller than a threshold, refit the rest, and repeat. Pure JAX: the refits solve the
least-squares problem with the dropped columns masked out, so it jits and vmaps.
"""

import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float


def _exponents(num_variables: int, degree: int) -> list[tuple[int, ...]]:
    terms = []
    for d in range(degree + 1):
        for combo in itertools.combinations_with_replacement(range(num_variables), d):
            terms.append(tuple(combo.count(i) for i in range(num_variables)))
    return terms


def polynomial_library(x: Float[ArrayLike, "m d"], degree: int) -> Float[Array, "m f"]:
    """Every monomial of the columns of `x` up to total `degree`, in graded order (1, x, y, x^2, xy, y^2, ...)."""
    x = jnp.asarray(x, float)
    if x.ndim != 2:
        raise ValueError(f"polynomial_library: `x` must have shape (samples, variables), got {x.shape}")
    if not (isinstance(degree, int) and degree >= 0):
        raise ValueError(f"polynomial_library: `degree` must be an int >= 0, got {degree!r}")
    powers = jnp.asarray(_exponents(x.shape[1], degree), x.dtype)
    return jnp.prod(x[:, None, :] ** powers[None, :, :], axis=-1)


def polynomial_names(names: tuple[str, ...], degree: int) -> tuple[str, ...]:
    """Names of the `polynomial_library` columns, e.g. ('1', 'x', 'y', 'x^2', 'x y', 'y^2')."""

    def name(e):
        parts = [n if p == 1 else f"{n}^{p}" for n, p in zip(names, e) if p > 0]
        return " ".join(parts) if parts else "1"

    return tuple(name(e) for e in _exponents(len(names), degree))


class SINDyResult(eqx.Module):
    """Sparse polynomial equations: coefficients (library term x output) over the monomials up to
    `degree`, and the terms' names. Calling it on a state `y` (d,) evaluates the equations, so it
    can stand for a network in a `UniversalODE`; `equations()` prints them.
    """

    coefficients: Float[Array, "f n"]
    terms: tuple[str, ...] = eqx.field(static=True)
    degree: int = eqx.field(static=True, default=2)

    def __call__(self, y: Float[Array, " d"]) -> Float[Array, " n"]:
        return polynomial_library(y[None], self.degree)[0] @ self.coefficients

    @property
    def support(self) -> Bool[Array, "f n"]:
        """Which coefficients are non-zero."""
        return self.coefficients != 0

    def equations(self, outputs: tuple[str, ...], precision: int = 4) -> list[str]:
        lines = []
        for j, out in enumerate(outputs):
            parts = [f"{float(c):+.{precision}g} {t}" for c, t in zip(self.coefficients[:, j], self.terms) if float(c) != 0.0]
            lines.append(f"d{out}/dt = " + (" ".join(parts) if parts else "0"))
        return lines


def stlsq(
    library: Float[ArrayLike, "m f"], targets: Float[ArrayLike, "m n"], threshold: float, iterations: int = 10
) -> Float[Array, "f n"]:
    """Sequentially thresholded least squares: `targets ~ library @ coefficients`, sparse."""
    theta, y = jnp.asarray(library, float), jnp.asarray(targets, float)
    if theta.ndim != 2 or y.ndim != 2 or theta.shape[0] != y.shape[0]:
        raise ValueError(f"stlsq: `library` (m, f) and `targets` (m, n) need the same m, got {theta.shape} and {y.shape}")
    if not threshold >= 0:
        raise ValueError(f"stlsq: `threshold` must be >= 0, got {threshold}")
    if not (isinstance(iterations, int) and iterations >= 1):
        raise ValueError(f"stlsq: `iterations` must be an int >= 1, got {iterations!r}")

    def fit(mask, column):
        # Masked columns are zero, so the minimum-norm solution leaves their coefficients at 0.
        return jnp.linalg.lstsq(theta * mask[None, :], column)[0] * mask

    def one_output(column):
        coef = fit(jnp.ones(theta.shape[1], theta.dtype), column)
        for _ in range(iterations):
            coef = fit((jnp.abs(coef) >= threshold).astype(theta.dtype), column)
        return coef

    return jax.vmap(one_output, in_axes=1, out_axes=1)(y)


def sindy(
    x: Float[ArrayLike, "m d"],
    dxdt: Float[ArrayLike, "m n"],
    *,
    degree: int = 2,
    threshold: float = 0.1,
    iterations: int = 10,
    names: tuple[str, ...] | None = None,
) -> SINDyResult:
    """Sparse polynomial equations `dxdt ~ sum_k c_k * monomial_k(x)` up to `degree`.

    `x`: states (samples, variables); `dxdt`: what to explain at those states (samples,
    outputs), e.g. derivatives, or a fitted network's output in a universal ODE.
    """
    x = jnp.asarray(x, float)
    names = tuple(f"x{i}" for i in range(x.shape[-1])) if names is None else tuple(names)
    if x.ndim != 2 or len(names) != x.shape[1]:
        raise ValueError(f"sindy: `x` must have shape (samples, {len(names)}) to match `names`, got {x.shape}")
    coefficients = stlsq(polynomial_library(x, degree), dxdt, threshold, iterations)
    return SINDyResult(coefficients, polynomial_names(names, degree), degree)


def sindy_path(
    x: Float[ArrayLike, "m d"],
    dxdt: Float[ArrayLike, "m n"],
    thresholds: Float[ArrayLike, " t"],
    *,
    degree: int = 2,
    iterations: int = 10,
    names: tuple[str, ...] | None = None,
) -> tuple[SINDyResult, ...]:
    """`sindy` at every threshold, one result per distinct support, sparsest last.

    One threshold rarely suits every data set (a term near the threshold is kept or dropped
    by chance); choose among the candidates on the data, e.g. with `select_sparse_model`.
    """
    thresholds = np.asarray(thresholds, float)
    if thresholds.ndim != 1 or thresholds.size == 0 or not np.all(thresholds >= 0):
        raise ValueError(f"sindy_path: `thresholds` must be a non-empty 1-D array of values >= 0, got {thresholds}")
    results, seen = [], set()
    for threshold in np.sort(thresholds):
        result = sindy(x, dxdt, degree=degree, threshold=float(threshold), iterations=iterations, names=names)
        key = np.asarray(result.support).tobytes()
        if key not in seen:
            seen.add(key)
            results.append(result)
    return tuple(results)
