"""Posterior predictive draws: run a model once per posterior draw."""

from collections.abc import Callable, Mapping
from typing import Any

import jax
from jaxtyping import Array, PRNGKeyArray

from .._handlers import substitute, trace


def predictive(
    model: Callable, samples: Mapping[str, Array], key: PRNGKeyArray, *args: Any, **kwargs: Any
) -> dict[str, Array]:
    """Every site's value when `model(*args, **kwargs)` runs with each posterior draw.

    `samples` maps latent site names to draws with one leading axis (flatten chains first,
    e.g. `x.reshape(-1, *x.shape[2:])`). Sites not in `samples` (new data, an unobserved `y`)
    are drawn afresh, one key per draw. Returns `{name: (num_draws, ...)}`.
    """
    sizes = {jax.numpy.shape(v)[0] for v in samples.values()}
    if len(sizes) != 1:
        raise ValueError(f"predictive: every entry of `samples` needs the same leading axis, got sizes {sorted(sizes)}")
    (num,) = sizes

    def one(values, k):
        rvs = trace(substitute(model, values), k)(*args, **kwargs)
        return {n: rv.value for n, rv in rvs.items()}

    return jax.jit(jax.vmap(one))(dict(samples), jax.random.split(key, num))
