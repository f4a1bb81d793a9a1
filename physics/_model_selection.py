"""Choosing among sparse models on the data: refit each candidate, rank by corrected AIC.

SINDy's threshold decides which terms survive, and no one threshold suits every fit: a term
close to it is kept or dropped by chance. Following Mangan et al. 2017 ("Model selection for
dynamical systems via sparse regression and information criteria", Proc. R. Soc. A 473:
20170009), every candidate support (`sindy_path`) is refitted to the observed trajectory, its
coefficients and start state by Levenberg-Marquardt through the ODE solve, and the one with
the lowest corrected Akaike information criterion (Hurvich & Tsai 1989) is kept. Refitting on
the data also removes the bias a network's imperfect fit leaves in the coefficients.
"""

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import Array, ArrayLike, Bool, Float

from ._simulator import observe
from ._sindy import SINDyResult
from ._solve import SolverSettings
from ._ude import UniversalODE, _check_data


def aicc(rss: Float[ArrayLike, ""], num_observations: int, num_parameters: int) -> Float[Array, ""]:
    """Corrected AIC of a least-squares fit with Gaussian errors of unknown variance:
    `N log(rss / N) + 2 k + 2 k (k + 1) / (N - k - 1)`, lower is better. Needs `N > k + 1`."""
    if not (isinstance(num_parameters, int) and num_parameters >= 0):
        raise ValueError(f"aicc: `num_parameters` must be an int >= 0, got {num_parameters!r}")
    if not (isinstance(num_observations, int) and num_observations > num_parameters + 1):
        raise ValueError(
            f"aicc: `num_observations` must be an int > num_parameters + 1 = {num_parameters + 1}, got {num_observations!r}"
        )
    n, k = num_observations, num_parameters
    rss = jnp.asarray(rss, float)
    rss = eqx.error_if(rss, rss <= 0, "aicc: `rss` (residual sum of squares) must be > 0")
    return n * jnp.log(rss / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)


class SparseFit(eqx.Module):
    """A sparse model refitted to a trajectory.

    **Fields:** `equations` (the candidate's support with the refitted coefficients), `y0` (the
    fitted start state), `rss` (residual sum of squares), `aicc` (inf if the fit failed),
    `converged` (did Levenberg-Marquardt converge).
    """

    equations: SINDyResult
    y0: Float[Array, " n"]
    rss: Float[Array, ""]
    aicc: Float[Array, ""]
    converged: Bool[Array, ""]


@eqx.filter_jit
def _refit(known, candidate, ts, data, settings, max_steps):
    mask = candidate.support.astype(data.dtype)
    settings = settings.with_mode("forward")  # Levenberg-Marquardt takes Jacobians forwards

    def residuals(params, _):
        coefficients, y0 = params
        model = UniversalODE(known, SINDyResult(coefficients * mask, candidate.terms, candidate.degree), settings)
        return observe(model, y0, ts=ts, throw=False) - data

    solver = optx.LevenbergMarquardt(rtol=1e-8, atol=1e-8)
    sol = optx.least_squares(residuals, solver, (candidate.coefficients, data[0]), max_steps=max_steps, throw=False)
    rss = jnp.sum(residuals(sol.value, None) ** 2)
    coefficients, y0 = sol.value
    equations = SINDyResult(coefficients * mask, candidate.terms, candidate.degree)
    return equations, y0, rss, sol.result == optx.RESULTS.successful


def refit_sparse_model(
    known: Callable | None,
    candidate: SINDyResult,
    ts: Float[ArrayLike, " k"],
    data: Float[ArrayLike, "k n"],
    *,
    settings: SolverSettings = SolverSettings(),
    max_steps: int = 200,
) -> SparseFit:
    """Refit the non-zero coefficients of `candidate` and the start state so that
    `dy/dt = known(t, y) + candidate(y)` passes through `data` at `ts` (least squares)."""
    ts, data = _check_data(ts, data)
    if candidate.coefficients.shape[1] != data.shape[1]:
        raise ValueError(f"refit_sparse_model: `candidate` has {candidate.coefficients.shape[1]} outputs, `data` {data.shape[1]} columns")
    equations, y0, rss, converged = _refit(known, candidate, ts, data, settings, max_steps)
    k = int(np.count_nonzero(np.asarray(candidate.support))) + data.shape[1]
    score = aicc(jnp.maximum(rss, jnp.finfo(rss.dtype).tiny), data.size, k) if bool(jnp.isfinite(rss)) else jnp.inf
    return SparseFit(equations, y0, rss, jnp.asarray(score, float), converged)


def select_sparse_model(
    known: Callable | None,
    candidates: tuple[SINDyResult, ...],
    ts: Float[ArrayLike, " k"],
    data: Float[ArrayLike, "k n"],
    *,
    settings: SolverSettings = SolverSettings(),
    max_steps: int = 200,
) -> tuple[SparseFit, tuple[SparseFit, ...]]:
    """Refit every candidate (`refit_sparse_model`); return the one with the lowest AICc, and all fits."""
    if not candidates:
        raise ValueError("select_sparse_model: `candidates` is empty (give it `sindy_path`'s results)")
    fits = tuple(refit_sparse_model(known, c, ts, data, settings=settings, max_steps=max_steps) for c in candidates)
    return fits[int(np.argmin([float(f.aicc) for f in fits]))], fits
