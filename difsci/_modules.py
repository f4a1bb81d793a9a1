"""Random variables inside Equinox modules.

A module whose fields are distributions (a Bayesian MLP whose weights are `Normal`s, a
simulator whose wind is uncertain) is a *prior* over modules. `draw` turns it into a
concrete module; `score` gives the log-density of a concrete module under it. Inside a
model function, `ds.sample(name, prior)` does the same with one site per distribution.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PyTree

from ._custom_types import KeyArray
from ._distributions import AbstractDistribution


def _is_dist(x) -> bool:
    return isinstance(x, AbstractDistribution)


def _dist_leaves(prior):
    leaves, treedef = jax.tree_util.tree_flatten(prior, is_leaf=_is_dist)
    if not any(_is_dist(leaf) for leaf in leaves):
        raise TypeError(f"expected a pytree holding distributions, got one with none: {type(prior).__name__}")
    return leaves, treedef


def draw(prior: PyTree, key: KeyArray) -> PyTree:
    """Replace every distribution in `prior` by a draw from it (independent keys).

    **Returns:** a pytree of `prior`'s structure with arrays where distributions were.
    """
    leaves, treedef = _dist_leaves(prior)
    keys = iter(jax.random.split(key, len(leaves)))
    drawn = [leaf.sample(next(keys)) if _is_dist(leaf) else leaf for leaf in leaves]
    return jax.tree_util.tree_unflatten(treedef, drawn)


def score(prior: PyTree, value: PyTree) -> Float[Array, ""]:
    """Log-density of the concrete `value` under the distributions held by `prior`.

    `value` must have `prior`'s structure with arrays in place of distributions; the sum
    of every distribution's `log_prob` over all its elements is returned.
    """
    leaves, treedef = _dist_leaves(prior)
    try:
        values = treedef.flatten_up_to(value)
    except (ValueError, TypeError) as e:
        raise ValueError(f"score: `value` does not have the structure of `prior`: {e}") from None
    total = jnp.asarray(0.0)
    for leaf, v in zip(leaves, values):
        if _is_dist(leaf):
            total = total + jnp.sum(leaf.log_prob(v))
    return total
