"""A model function as a log density over unconstrained coordinates of its latent sites.

Samplers and guides work in unconstrained space: each latent site's value is
`dist.support.from_unconstrained(u[name])`, using the support of the distribution the model
builds *in that run* (so a support may depend on other latents), and the density of `u`
gains the bijection's log-Jacobian.
"""

from collections.abc import Callable, Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._handlers import _Handler, _run, trace


class LatentSite(eqx.Module):
    """Name and shapes of one latent site of a model."""

    name: str = eqx.field(static=True)
    shape: tuple[int, ...] = eqx.field(static=True)
    unconstrained_shape: tuple[int, ...] = eqx.field(static=True)
    reparameterised: bool = eqx.field(static=True)


def latent_sites(model: Callable, key: PRNGKeyArray, args=(), kwargs=None, *, caller: str = "inference",
                 allow_discrete: bool = False) -> dict[str, LatentSite]:
    """The latent (unobserved) sites of `model`, in the order it draws them (traced abstractly).

    Errors name the site when a latent is discrete (gradient-based inference needs continuous
    latents; pass `allow_discrete` where score-function gradients handle them) and when the
    model has no latent site at all.
    """
    kwargs = kwargs or {}
    found: dict[str, LatentSite] = {}

    def probe(k):
        for name, rv in trace(model, k)(*args, **kwargs).items():
            if rv.observed:
                continue
            support = rv.dist.support
            if support.is_discrete and not allow_discrete:
                raise ValueError(
                    f"{caller}: latent site {name!r} is discrete ({type(rv.dist).__name__}); gradient-based "
                    "inference needs continuous latents. Marginalise it out, observe it (ds.condition or "
                    "obs=), or use a relaxed distribution (RelaxedOneHotCategorical, RelaxedBernoulli)"
                )
            shape = tuple(jnp.shape(rv.value))
            u_shape = shape if support.is_discrete else tuple(support.unconstrained_shape(shape))
            found[name] = LatentSite(name, shape, u_shape, bool(rv.dist.has_rsample))
        return 0

    jax.eval_shape(probe, key)
    if not found:
        raise ValueError(
            f"{caller}: the model has no latent sites: every ds.sample site is observed, so there is "
            "nothing to infer"
        )
    return found


class _Unconstrained(_Handler):
    """Sets each latent site from unconstrained coordinates; sums log p and log|J|."""

    def __init__(self, u: Mapping[str, Array]):
        self.u = u
        self.values: dict[str, Array] = {}
        self.log_prob = 0.0
        self.log_det = 0.0

    def process(self, msg):
        if msg.deterministic:
            self.values[msg.name] = msg.value  # returned with the latents, so samplers report it
            return
        if msg.observed:
            return
        if msg.name not in self.u:
            raise ValueError(f"no unconstrained value for latent site {msg.name!r} (have {sorted(self.u)})")
        support = msg.dist.support
        u = self.u[msg.name]
        msg.value = support.from_unconstrained(u)
        self.values[msg.name] = msg.value
        self.log_det = self.log_det + jnp.sum(support.log_abs_det_jacobian(u))

    def postprocess(self, msg):
        if not msg.deterministic:
            self.log_prob = self.log_prob + msg.score()


def constrain(model: Callable, u: Mapping[str, Array], args=(), kwargs=None) -> dict[str, Array]:
    """Each latent site's value on its support for unconstrained coordinates `u`, and each
    `ds.deterministic` quantity the model records."""
    handler = _Unconstrained(u)
    _run(handler, model, args, kwargs or {})
    return handler.values


def unconstrained_log_density(
    model: Callable, args=(), kwargs=None
) -> Callable[[dict[str, Array]], Float[Array, ""]]:
    """`fn(u) -> log p(constrain(u), data) + log|J|`, with -inf wherever that is not finite.

    A non-finite value (a simulator whose solve failed, an overflow in a corner of parameter
    space) becomes -inf, which HMC/NUTS treat as a divergent, rejected proposal.
    """
    kwargs = kwargs or {}

    def log_density(u):
        handler = _Unconstrained(u)
        _run(handler, model, args, kwargs)
        value = handler.log_prob + handler.log_det
        return jnp.where(jnp.isfinite(value), value, -jnp.inf)

    return log_density


def unconstrain(model: Callable, values: Mapping[str, Any], key: PRNGKeyArray, args=(), kwargs=None
                ) -> dict[str, Array]:
    """Unconstrained coordinates of latent values (the supports come from a run of the model)."""
    from .._handlers import substitute

    rvs = trace(substitute(model, values), key)(*args, **(kwargs or {}))
    return {n: rv.dist.support.to_unconstrained(rv.value) for n, rv in rvs.items() if not rv.observed}


def prior_draws_unconstrained(model: Callable, key: PRNGKeyArray, num: int, args=(), kwargs=None
                              ) -> dict[str, Array]:
    """`num` draws of each latent site from the model's prior, in unconstrained coordinates."""
    kwargs = kwargs or {}

    def one(k):
        rvs = trace(model, k)(*args, **kwargs)
        return {n: rv.dist.support.to_unconstrained(rv.value) for n, rv in rvs.items() if not rv.observed}

    return jax.vmap(one)(jax.random.split(key, num))
