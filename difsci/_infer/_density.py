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

from .._checks import checks_as_values
from .._constraints import Interval
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


def _interior(support, x):
    """Where `x` lies strictly inside `support` and is finite (shaped like the support's batch)."""
    ok = support.check(x)
    if isinstance(support, Interval):  # closed in `check`; the endpoints are limits, not values
        ok = ok & (x > support.low) & (x < support.high)
    finite = jnp.isfinite(x)
    if support.event_dim:
        finite = jnp.all(finite, axis=tuple(range(-support.event_dim, 0)))
    return ok & finite


class _Unconstrained(_Handler):
    """Sets each latent site from unconstrained coordinates; sums log p and log|J|.

    The model only ever sees valid values, so the checks its distributions make never fire
    for a sampler's proposal: a non-finite coordinate, or one whose constrained value leaves
    the open support (a scale exp(u) underflowing to 0), is replaced by the bijection's image of
    0 and marks the point invalid (`valid`), which the density scores -inf.
    """

    def __init__(self, u: Mapping[str, Array]):
        self.u = u
        self.values: dict[str, Array] = {}
        self.log_prob = 0.0
        self.log_det = 0.0
        self.valid = jnp.asarray(True)

    def process(self, msg):
        if msg.deterministic:
            self.values[msg.name] = msg.value  # returned with the latents, so samplers report it
            return
        if msg.observed:
            return
        if msg.name not in self.u:
            raise ValueError(f"no unconstrained value for latent site {msg.name!r} (have {sorted(self.u)})")
        support = msg.dist.support
        u = jnp.asarray(self.u[msg.name])
        finite = jnp.isfinite(u)
        u = jnp.where(finite, u, 0.0)
        x = support.from_unconstrained(u)
        ok = _interior(support, x)
        safe = support.from_unconstrained(jnp.zeros_like(u))
        msg.value = jnp.where(jnp.reshape(ok, jnp.shape(ok) + (1,) * support.event_dim), x, safe)
        self.valid = self.valid & jnp.all(finite) & jnp.all(ok)
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
    space) becomes -inf, which HMC/NUTS treat as a divergent, rejected proposal; so does a
    coordinate that is not finite or maps outside its site's open support (the model never sees
    it, but a valid stand-in), and a failed check made by the model's own code (a distribution
    given a failed simulation's NaN); see `checks_as_values`.
    """
    kwargs = kwargs or {}

    def log_density(u):
        handler = _Unconstrained(u)
        with checks_as_values() as checks:
            _run(handler, model, args, kwargs)
        value = handler.log_prob + handler.log_det
        return jnp.where(handler.valid & checks.passed() & jnp.isfinite(value), value, -jnp.inf)

    return log_density


def unconstrain(model: Callable, values: Mapping[str, Any], key: PRNGKeyArray, args=(), kwargs=None
                ) -> dict[str, Array]:
    """Unconstrained coordinates of latent values (the supports come from a run of the model).

    The model's own checks record their verdicts instead of raising (`checks_as_values`): a start
    that fails one scores -inf in the sampler's density, which reports it, and the sampler's
    program keeps no host callback (JAX's persistent cache stores no program with one)."""
    from .._handlers import substitute

    with checks_as_values():
        rvs = trace(substitute(model, values), key)(*args, **(kwargs or {}))
    return {n: rv.dist.support.to_unconstrained(rv.value) for n, rv in rvs.items() if not rv.observed}


def prior_draws_unconstrained(model: Callable, key: PRNGKeyArray, num: int, args=(), kwargs=None
                              ) -> dict[str, Array]:
    """`num` draws of each latent site from the model's prior, in unconstrained coordinates
    (checks as in `unconstrain`: the sampler's density scores what fails them)."""
    kwargs = kwargs or {}

    def one(k):
        with checks_as_values():
            rvs = trace(model, k)(*args, **kwargs)
        return {n: rv.dist.support.to_unconstrained(rv.value) for n, rv in rvs.items() if not rv.observed}

    return jax.vmap(one)(jax.random.split(key, num))


def check_latent_values(model: Callable, values: Mapping[str, Any], sites: Mapping[str, LatentSite], key: PRNGKeyArray,
                        args=(), kwargs=None, *, caller: str, what: str) -> None:
    """Raise a `ValueError` naming the site when a value in `values` (e.g. `init_params`) has another
    shape than its latent site or lies outside the support of the site's distribution."""
    from .._handlers import substitute

    for name, site in sites.items():
        if name in values and tuple(jnp.shape(values[name])) != site.shape:
            raise ValueError(f"{caller}: `{what}[{name!r}]` has shape {tuple(jnp.shape(values[name]))}, but latent "
                             f"site {name!r} has shape {site.shape}")

    described: dict[str, str] = {}

    def inside(k):
        with checks_as_values():  # only the supports are asked about here; the sampler scores the rest
            rvs = trace(substitute(model, values), k)(*args, **(kwargs or {}))
        for n, rv in rvs.items():  # recorded while tracing: names only, no values
            described[n] = f"{type(rv.dist).__name__} (support {type(rv.dist.support).__name__})"
        return {n: jnp.all(rv.dist.support.check(rv.value)) & jnp.all(jnp.isfinite(rv.value))
                for n, rv in rvs.items() if n in values and not rv.observed}

    for name, ok in jax.jit(inside)(key).items():
        if not bool(ok):
            raise ValueError(
                f"{caller}: `{what}[{name!r}]` = {values[name]!r} is outside the support of latent site {name!r}, "
                f"a {described[name]}, or is not finite: pass a value inside the support")
