"""Variational inference: fit a guide q to a model's posterior by maximising the ELBO.

ELBO = E_q[log p(z, x) - log q(z)], estimated with `num_particles` draws of z.
Reparameterised sites give pathwise gradients (stochastic backpropagation; Kingma & Welling
2014, Rezende et al. 2014); sites that cannot be reparameterised (discrete ones) add the
score-function term (z's log q times the ELBO minus a leave-one-out baseline over particles),
written so that the loss's value stays the ELBO while its gradient is unbiased.
"""

import abc
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float, PRNGKeyArray

from .._checks import require_key
from .._handlers import log_joint, trace
from .._train import train
from ._density import LatentSite, constrain, latent_sites, unconstrained_log_density


class AbstractGuide(eqx.Module):
    """A variational family: `particle(model, key, args, kwargs) -> (elbo term, log q of
    the non-reparameterisable sites)` for one draw z ~ q."""

    @abc.abstractmethod
    def particle(self, model: Callable, key: PRNGKeyArray, args, kwargs) -> tuple[Array, Array]:
        ...

    @abc.abstractmethod
    def sample(self, model: Callable, key: PRNGKeyArray, *args, **kwargs) -> dict[str, Array]:
        """One draw of every latent site from q, on the sites' supports."""

    def sample_posterior(self, model: Callable, key: PRNGKeyArray, num_samples: int, *args, **kwargs
                         ) -> dict[str, Array]:
        """`num_samples` draws from q: `{name: (num_samples, *site_shape)}`."""
        return jax.jit(jax.vmap(lambda k: self.sample(model, k, *args, **kwargs)))(
            jax.random.split(key, num_samples))


class _AutoGaussian(AbstractGuide):
    loc: Float[Array, " dim"]
    unravel: Callable = eqx.field(static=True)

    @abc.abstractmethod
    def _draw(self, key) -> tuple[Array, Array]:
        """(u, log q(u)) in unconstrained coordinates, flattened."""

    def particle(self, model, key, args, kwargs):
        flat, log_q = self._draw(key)
        log_p = unconstrained_log_density(model, args, kwargs)(self.unravel(flat))
        return log_p - log_q, jnp.zeros(())

    def sample(self, model, key, *args, **kwargs):
        flat, _ = self._draw(key)
        return constrain(model, self.unravel(flat), args, kwargs)


def _init_loc(model, key, args, kwargs, caller):
    sites = latent_sites(model, key, args, kwargs, caller=caller)
    zeros = {n: jnp.zeros(s.unconstrained_shape) for n, s in sites.items()}
    flat, unravel = ravel_pytree(zeros)
    return flat, unravel


class AutoNormal(_AutoGaussian):
    """Mean-field Gaussian guide over the model's latents in unconstrained space.

    Built from one abstract trace of `model(*args, **kwargs)`; `loc` starts at 0 (the
    centre of each support's bijection) and the scales at `init_scale`.
    """

    raw_scale: Float[Array, " dim"]

    def __init__(self, model: Callable, key: PRNGKeyArray, *args: Any, init_scale: float = 0.1, **kwargs: Any):
        if not init_scale > 0:
            raise ValueError(f"AutoNormal: `init_scale` must be > 0, got {init_scale!r}")
        self.loc, self.unravel = _init_loc(model, key, args, kwargs, "AutoNormal")
        self.raw_scale = jnp.full_like(self.loc, np.log(np.expm1(init_scale)))

    @property
    def scale(self) -> Float[Array, " dim"]:
        return jax.nn.softplus(self.raw_scale)

    def _draw(self, key):
        eps = jax.random.normal(key, self.loc.shape, self.loc.dtype)
        u = self.loc + self.scale * eps
        log_q = jnp.sum(jax.scipy.stats.norm.logpdf(eps) - jnp.log(self.scale))
        return u, log_q


class AutoMultivariateNormal(_AutoGaussian):
    """Full-rank Gaussian guide in unconstrained space: u = loc + L eps, L lower-triangular
    with a positive (softplus) diagonal."""

    raw_tril: Float[Array, "dim dim"]

    def __init__(self, model: Callable, key: PRNGKeyArray, *args: Any, init_scale: float = 0.1, **kwargs: Any):
        if not init_scale > 0:
            raise ValueError(f"AutoMultivariateNormal: `init_scale` must be > 0, got {init_scale!r}")
        self.loc, self.unravel = _init_loc(model, key, args, kwargs, "AutoMultivariateNormal")
        self.raw_tril = jnp.eye(self.loc.size, dtype=self.loc.dtype) * np.log(np.expm1(init_scale))

    @property
    def scale_tril(self) -> Float[Array, "dim dim"]:
        tril = jnp.tril(self.raw_tril, -1)
        return tril + jnp.diag(jax.nn.softplus(jnp.diag(self.raw_tril)))

    @property
    def covariance(self) -> Float[Array, "dim dim"]:
        return self.scale_tril @ self.scale_tril.T

    def _draw(self, key):
        eps = jax.random.normal(key, self.loc.shape, self.loc.dtype)
        tril = self.scale_tril
        u = self.loc + tril @ eps
        log_q = jnp.sum(jax.scipy.stats.norm.logpdf(eps)) - jnp.sum(jnp.log(jnp.diag(tril)))
        return u, log_q


class ModelGuide(AbstractGuide):
    """A guide written as a model function: `fn(*args, **kwargs)` declares every latent site
    of the model with `ds.sample` under the same names.

    `fn` is usually an Equinox module (its arrays are the variational parameters); an
    amortised guide is a module holding a network that maps the data in `args` to the
    parameters of each site's distribution, as a VAE's encoder does.
    """

    fn: Callable

    def particle(self, model, key, args, kwargs):
        rvs = trace(self.fn, key)(*args, **kwargs)
        values = {n: rv.value for n, rv in rvs.items()}
        log_q = sum(rv.log_prob for rv in rvs.values())
        score_log_q = sum((rv.log_prob for rv in rvs.values() if not rv.dist.has_rsample), jnp.zeros(()))
        return log_joint(model)(values, *args, **kwargs) - log_q, score_log_q

    def sample(self, model, key, *args, **kwargs):
        return {n: rv.value for n, rv in trace(self.fn, key)(*args, **kwargs).items()}


def _check_guide_matches(model, guide, key, args, kwargs):
    """A `ValueError` naming the site when the guide lacks a latent site of the model or gives it
    another shape (a broadcasting guide value would otherwise train a different model)."""
    sites = latent_sites(model, key, args, kwargs, caller="vi.fit", allow_discrete=True)
    if isinstance(guide, ModelGuide):
        have = {n: s.shape for n, s in latent_sites(guide.fn, key, args, kwargs, caller="vi.fit",
                                                   allow_discrete=True).items()}
        what = "the guide function draws"
    elif isinstance(guide, _AutoGaussian):
        have = {n: tuple(jnp.shape(x)) for n, x in guide.unravel(guide.loc).items()}
        sites = {n: LatentSite(n, s.unconstrained_shape, s.unconstrained_shape, s.reparameterised)
                 for n, s in sites.items()}
        what = f"{type(guide).__name__} was built with (unconstrained)"
    else:
        return
    missing = sorted(set(sites) - set(have))
    if missing:
        raise ValueError(f"vi.fit: the guide has no site for latent sites {missing} of the model "
                         f"({what} {sorted(have)}); give the guide a ds.sample site of the same name for each")
    for name, site in sites.items():
        if have[name] != site.shape:
            raise ValueError(f"vi.fit: guide site {name!r} has shape {have[name]} but the model's site {name!r} has "
                             f"shape {site.shape}; {what} that shape. Make the guide draw the model's shape (for an "
                             "auto guide, build it from the same model and arguments)")


def elbo(model: Callable, guide: AbstractGuide, key: PRNGKeyArray, *args: Any, num_particles: int = 1,
         **kwargs: Any) -> Float[Array, ""]:
    """Monte Carlo ELBO of `guide` for `model(*args, **kwargs)` with `num_particles` draws."""
    return _surrogate(model, guide, key, args, kwargs, num_particles)[1]


def _surrogate(model, guide, key, args, kwargs, num_particles):
    """(surrogate objective whose gradient is the ELBO's, ELBO estimate)."""
    terms, score_log_q = jax.vmap(lambda k: guide.particle(model, k, args, kwargs))(
        jax.random.split(key, num_particles))
    estimate = jnp.mean(terms)
    if num_particles > 1:
        baseline = (jnp.sum(terms) - terms) / (num_particles - 1)  # leave-one-out
    else:
        baseline = jnp.zeros_like(terms)
    weight = jax.lax.stop_gradient(terms - baseline)
    score = jnp.mean(weight * (score_log_q - jax.lax.stop_gradient(score_log_q)))
    return estimate + score, estimate


class VIResult(eqx.Module):
    """What `fit` returns: the fitted `guide` and the negative ELBO per step (`losses`)."""

    guide: AbstractGuide
    losses: np.ndarray
    seconds: float = eqx.field(static=True)


def fit(
    model: Callable,
    guide: AbstractGuide,
    key: PRNGKeyArray,
    *args: Any,
    optimizer: optax.GradientTransformation | None = None,
    num_steps: int = 1000,
    num_particles: int = 1,
    progress_bar: bool = False,
    checkpoint_path=None,
    **kwargs: Any,
) -> VIResult:
    """Maximise the ELBO of `guide` for `model(*args, **kwargs)` with `optimizer` (Adam 1e-2).

    Guides with non-reparameterisable (discrete) sites need `num_particles >= 2` for the
    leave-one-out baseline of their score-function gradient. Training runs in `ds.train`
    (progress bar, optional atomic checkpoints that resume exactly).
    """
    if not isinstance(guide, AbstractGuide):
        raise TypeError(
            f"vi.fit: `guide` must be a guide (AutoNormal, AutoMultivariateNormal, ModelGuide(fn)), got "
            f"{type(guide).__name__}; wrap a guide function as ds.vi.ModelGuide(fn)"
        )
    require_key("vi.fit", key)
    if not isinstance(num_particles, int) or isinstance(num_particles, bool) or num_particles < 1:
        raise ValueError(f"vi.fit: `num_particles` must be an integer >= 1, got {num_particles!r}")
    if not isinstance(num_steps, int) or isinstance(num_steps, bool) or num_steps < 1:
        raise ValueError(f"vi.fit: `num_steps` must be an integer >= 1, got {num_steps!r}")
    if isinstance(guide, ModelGuide) and num_particles < 2:
        sites = latent_sites(guide.fn, key, args, kwargs, caller="vi.fit", allow_discrete=True)
        discrete = [n for n, s in sites.items() if not s.reparameterised]
        if discrete:
            raise ValueError(
                f"vi.fit: guide sites {discrete} cannot be reparameterised, so their gradient uses the "
                "score function with a leave-one-out baseline: pass `num_particles` >= 2 (e.g. 8), or use "
                "a relaxed distribution (RelaxedOneHotCategorical) instead"
            )
    _check_guide_matches(model, guide, key, args, kwargs)
    optimizer = optax.adam(1e-2) if optimizer is None else optimizer

    def loss_fn(g, batch, k):
        return -_surrogate(model, g, k, args, kwargs, num_particles)[0]

    result = train(guide, loss_fn, optimizer, key, num_steps=num_steps, progress_bar=progress_bar,
                   checkpoint_path=checkpoint_path)
    return VIResult(guide=result.model, losses=result.losses, seconds=result.seconds)
