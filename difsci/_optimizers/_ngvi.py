"""Natural-gradient variational inference for Gaussian guides, as an optax transformation.

A Gaussian `q = N(m, S^-1)` is an exponential family; a step of natural-gradient ascent on
the ELBO `L` in its natural parameters `(S m, -S/2)` is a plain gradient step in its mean
parameters `(m, m m^T + S^-1)`, which works out as (Khan & Rue 2021, the Bayesian learning
rule; Hoffman et al. 2013; Salimbeni et al. 2018):

    S <- S - 2 rho dL/dSigma            m <- m + rho S^-1 dL/dm      (new S in the second)

Since `dL/dSigma = (E_q[hess log p] + S) / 2`, the first is `S <- (1 - rho) S + rho E_q[-hess
log p]`: for a Gaussian posterior, `rho = 1` lands on it exactly in one step.
"""

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jax.scipy.linalg import solve_triangular
from jaxtyping import Array, Float, Int, PyTree

from .._distributions import Normal
from ._gaussian_elbo import gaussian_leaves


class NGVIState(NamedTuple):
    """`ngvi`'s state: the number of steps taken (for learning-rate schedules)."""

    count: Int[Array, ""]


def covariance_gradient(
    scale_tril: Float[Array, "d d"], tril_gradient: Float[Array, "d d"]
) -> Float[Array, "d d"]:
    """The symmetric gradient `dL/dSigma` of a function of `Sigma = L L^T`, from `dL/dL`.

    Only the lower triangle of `tril_gradient` is read (the Cholesky factor's free entries).
    This is the adjoint of the Cholesky factorisation (Murray 2016):
    `dL/dSigma = sym(L^-T Phi(L^T dL/dL) L^-1)`, `Phi` taking the lower triangle with
    its diagonal halved.
    """
    phi = jnp.tril(scale_tril.T @ jnp.tril(tril_gradient))
    phi = phi - 0.5 * jnp.diag(jnp.diagonal(phi))
    left = solve_triangular(scale_tril, phi, lower=True, trans="T")  # L^-T Phi
    full = solve_triangular(scale_tril, left.T, lower=True, trans="T").T  # L^-T Phi L^-1
    return 0.5 * (full + full.T)


def inverse_cholesky(precision: Float[Array, "d d"]) -> Float[Array, "d d"]:
    """The lower-triangular `L` with `L L^T = precision^-1`, without forming the inverse.

    With `J` the order-reversing permutation and `M = chol(J P J)`, `L = J M^-T J`.
    """
    flipped = jnp.linalg.cholesky(precision[::-1, ::-1])
    inverse = solve_triangular(flipped, jnp.eye(precision.shape[-1], dtype=precision.dtype), lower=True)
    return inverse.T[::-1, ::-1]


def _full_rank_step(loc, scale_tril, grad_loc, grad_tril, rho, pd_correction):
    scale_tril = jnp.tril(scale_tril)
    eye = jnp.eye(loc.shape[-1], dtype=loc.dtype)
    inverse_tril = solve_triangular(scale_tril, eye, lower=True)
    precision = inverse_tril.T @ inverse_tril
    direction = 2.0 * covariance_gradient(scale_tril, grad_tril)
    new_precision = precision + rho * direction
    if pd_correction:
        covariance = scale_tril @ scale_tril.T
        new_precision = new_precision + 0.5 * rho**2 * direction @ covariance @ direction
    new_precision = 0.5 * (new_precision + new_precision.T)
    new_tril = inverse_cholesky(new_precision)
    new_loc = loc - rho * new_tril @ (new_tril.T @ grad_loc)
    return new_loc, new_tril


def _mean_field_step(loc, scale, grad_loc, grad_scale, rho, pd_correction):
    precision = 1.0 / scale**2
    direction = grad_scale / scale  # 2 dL/dvar, as dL/dscale = 2 scale dL/dvar
    new_precision = precision + rho * direction
    if pd_correction:
        new_precision = new_precision + 0.5 * rho**2 * direction**2 * scale**2
    new_scale = jnp.where(new_precision > 0, 1.0 / jnp.sqrt(jnp.where(new_precision > 0, new_precision, 1.0)), jnp.nan)
    return loc - rho * grad_loc / new_precision, new_scale


_FAILED = (
    "ngvi: the updated precision is not positive definite (or not finite). Likely causes: "
    "a `learning_rate` too large for noisy gradient estimates, or a log density that is not "
    "concave with pd_correction=False; lower `learning_rate`, use more samples, or set "
    "pd_correction=True"
)


def ngvi(learning_rate: float | optax.Schedule = 1.0, *, pd_correction: bool = True) -> optax.GradientTransformation:
    """Natural-gradient VI: Fisher-preconditioned steps on the mean and covariance of Gaussian guides.

    Use it on the gradient of a negative ELBO (e.g. `gaussian_elbo_loss`) with respect to
    the guide: `params` must be a `ds.Normal` (mean-field: the natural gradient is taken
    per element), a `ds.MultivariateNormal` (full-rank, with `scale_tril`), or a pytree
    of them. With `rho = learning_rate`, each guide `N(m, S^-1)` moves to

        S' = S + rho D [+ rho^2/2 D S^-1 D],     m' = m - rho S'^-1 g_m,

    where `D = 2 dloss/dSigma` and `g_m = dloss/dm`. For a Gaussian posterior with exact
    expectations, `rho = 1` gives it in one step (and `D = S_post - S`).

    **Arguments:**
    - `learning_rate`: `rho` in (0, 1], or an optax schedule of it.
    - `pd_correction`: add the bracketed term (Lin, Schmidt & Khan 2020), which keeps `S'`
      positive definite for any gradient — noisy Monte Carlo ones and non-concave log
      densities included — and vanishes at the optimum; then a conjugate model takes a few
      (quadratically convergent) steps instead of one. Without it, a non-positive-definite
      `S'` is an error.

    **Returns:** an `optax.GradientTransformation` whose updates, added with
    `optax.apply_updates`, give the new guide.

    References: Khan & Rue (2021), "The Bayesian learning rule"; Hoffman, Blei, Wang &
    Paisley (2013), "Stochastic variational inference"; Salimbeni, Eleftheriadis & Hensman
    (2018), "Natural gradients in practice"; Lin, Schmidt & Khan (2020), "Handling the
    positive-definite constraint in the Bayesian learning rule".
    """
    if not callable(learning_rate):
        rate = float(learning_rate)
        if not 0.0 < rate <= 1.0:
            raise ValueError(
                f"ngvi: `learning_rate` must lie in (0, 1] (1 is a full natural-gradient step), got {learning_rate!r}"
            )

    def init(params: PyTree) -> NGVIState:
        gaussian_leaves(params, "ngvi")
        return NGVIState(count=jnp.zeros((), jnp.int32))

    def update(updates: PyTree, state: NGVIState, params: PyTree | None = None) -> tuple[PyTree, NGVIState]:
        if params is None:
            raise ValueError("ngvi: `params` (the current guide) is required by update")
        guides, treedef = gaussian_leaves(params, "ngvi")
        grads = treedef.flatten_up_to(updates)
        rho = learning_rate(state.count) if callable(learning_rate) else learning_rate
        rho = jnp.asarray(rho)
        rho = eqx.error_if(rho, ~((rho > 0) & (rho <= 1)), "ngvi: the scheduled `learning_rate` must lie in (0, 1]")
        steps = []
        for guide, grad in zip(guides, grads):
            if isinstance(guide, Normal):
                loc, scale = _mean_field_step(guide.loc, guide.scale, grad.loc, grad.scale, rho, pd_correction)
                new = (loc, scale)
            else:
                step = jnp.vectorize(
                    lambda m, L, gm, gL: _full_rank_step(m, L, gm, gL, rho, pd_correction),
                    signature="(d),(d,d),(d),(d,d)->(d),(d,d)",
                )
                new = step(guide.loc, guide.scale_tril, grad.loc, grad.scale_tril)
            new = tuple(eqx.error_if(x, ~jnp.all(jnp.isfinite(x)), _FAILED) for x in new)
            fields = (lambda g: (g.loc, g.scale)) if isinstance(guide, Normal) else (lambda g: (g.loc, g.scale_tril))
            # An update shaped as the guide: new minus old, so `optax.apply_updates` lands on new.
            delta = eqx.tree_at(fields, guide, tuple(n - o for n, o in zip(new, fields(guide))))
            steps.append(delta)
        return jax.tree_util.tree_unflatten(treedef, steps), NGVIState(count=state.count + 1)

    return optax.GradientTransformation(init, update)
