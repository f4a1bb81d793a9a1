"""The negative ELBO of Gaussian guides, by reparameterisation or by cubature."""

import itertools
import math
from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PyTree

from .._custom_types import KeyArray
from .._distributions import MultivariateNormal, Normal


def is_gaussian(x) -> bool:
    """A guide leaf: a mean-field `Normal` or a full-rank `MultivariateNormal`."""
    return isinstance(x, (Normal, MultivariateNormal))


def gaussian_leaves(guide: PyTree, caller: str) -> tuple[list, jax.tree_util.PyTreeDef]:
    """The guide's Gaussian leaves and its structure; any other leaf is an error naming it."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(guide, is_leaf=is_gaussian)
    for path, leaf in leaves:
        if not is_gaussian(leaf):
            where = jax.tree_util.keystr(path) or "the guide itself"
            raise TypeError(
                f"{caller}: `guide` must be a ds.Normal, a ds.MultivariateNormal or a pytree of them; "
                f"{where} is a {type(leaf).__name__}. Keep other parameters out of the guide "
                "(close over them in `log_density`, or give them their own optimiser with optax.multi_transform)"
            )
    return [leaf for _, leaf in leaves], treedef


def _draw(leaf, eps: Array) -> Array:
    if isinstance(leaf, Normal):
        return leaf.loc + leaf.scale * eps
    return leaf.loc + jnp.einsum("...ij,...j->...i", jnp.tril(leaf.scale_tril), eps)


def _entropy(leaf) -> Float[Array, ""]:
    # log|.| keeps the entropy that of the covariance (scale scale^T) for either sign of the
    # diagonal, so unconstrained optimisers (Adam on `scale`) see a well-defined objective.
    if isinstance(leaf, Normal):
        log_scale, size = jnp.log(jnp.abs(leaf.scale)), leaf.loc.size
    else:
        log_scale = jnp.log(jnp.abs(jnp.diagonal(leaf.scale_tril, axis1=-2, axis2=-1)))
        size = leaf.loc.size
    return jnp.sum(log_scale) + 0.5 * size * (1.0 + math.log(2 * math.pi))


def gaussian_elbo_loss(
    guide: PyTree,
    log_density: Callable[[PyTree], Float[Array, ""]],
    key: KeyArray | None = None,
    *,
    num_samples: int = 1,
    estimator: Literal["antithetic", "reparameterised", "cubature"] = "antithetic",
) -> Float[Array, ""]:
    """Negative evidence lower bound `-(E_q[log p(z)] + H[q])` of a Gaussian guide `q`.

    `E_q` is estimated with `num_samples` reparameterised draws `z = m + L eps` (needs `key`);
    `"antithetic"` (the default) also evaluates each mirror image `m - L eps`, which removes
    the noise that `grad log p(m)` adds to the covariance gradient (all of the noise when
    `log p` is quadratic), at twice the evaluations. `"cubature"` uses the spherical-radial rule, `2D` points `m ± sqrt(D) L e_i` over all `D`
    latent dimensions, which is exact when `log p` is a polynomial of degree <= 3 (so exact,
    gradients included, for a Gaussian posterior) and deterministic. `H[q]` is closed form.

    **Arguments:**
    - `guide`: a `ds.Normal` (mean-field, any shape), a `ds.MultivariateNormal` (full rank,
      `loc` of shape `(..., d)`), or a pytree of them (independent blocks).
    - `log_density(z)`: the unnormalised log posterior of one draw `z`, a pytree shaped as
      `guide` with each distribution replaced by its value; e.g.
      `lambda z: ds.log_joint(model)(z, x, y)` for a guide `{"w": ds.MultivariateNormal(...)}`.
    - `key`, `num_samples`: for the Monte Carlo estimators.

    **Returns:** a scalar; its gradient with respect to the guide feeds `ngvi` or any optax
    optimiser.
    """
    leaves, treedef = gaussian_leaves(guide, "gaussian_elbo_loss")
    sizes = [leaf.loc.size for leaf in leaves]
    total = sum(sizes)
    dtype = jnp.result_type(*(leaf.loc.dtype for leaf in leaves))
    if estimator in ("antithetic", "reparameterised"):
        if key is None:
            raise ValueError(f"gaussian_elbo_loss: `key` is required with estimator={estimator!r}")
        if not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"gaussian_elbo_loss: `num_samples` must be an int >= 1, got {num_samples!r}")
        eps = jax.random.normal(key, (num_samples, total), dtype)
        if estimator == "antithetic":
            eps = jnp.concatenate([eps, -eps])
    elif estimator == "cubature":
        eye = math.sqrt(total) * jnp.eye(total, dtype=dtype)
        eps = jnp.concatenate([eye, -eye])
    else:
        raise ValueError(
            f"gaussian_elbo_loss: `estimator` must be 'antithetic', 'reparameterised' or 'cubature', got {estimator!r}"
        )

    def log_density_at(eps_row: Float[Array, " D"]) -> Float[Array, ""]:
        pieces = jnp.split(eps_row, list(itertools.accumulate(sizes))[:-1])
        draws = [_draw(leaf, piece.reshape(leaf.loc.shape)) for leaf, piece in zip(leaves, pieces)]
        value = jnp.asarray(log_density(jax.tree_util.tree_unflatten(treedef, draws)))
        if value.shape != ():
            raise ValueError(f"gaussian_elbo_loss: `log_density` must return a scalar, got shape {value.shape}")
        return value

    expected_log_density = jnp.mean(jax.vmap(log_density_at)(eps))
    entropy = sum(_entropy(leaf) for leaf in leaves)
    return -(expected_log_density + entropy)
