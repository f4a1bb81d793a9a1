"""A VAE with categorical latents, trained three ways on the same budget.

The latent is `num_vars` independent categorical variables of `num_classes` classes each,
with a uniform prior. Its ELBO, E_q[log p(x | z)] - KL(q(z | x) || p(z)), has an exact KL;
the reconstruction term's gradient is estimated by

- `"gumbel"`: the Gumbel-softmax / Concrete relaxation (Jang et al. 2017; Maddison et al.
  2017): reparameterised through a relaxed one-hot draw at a temperature;
- `"straight_through"`: exact one-hot draws forward, the relaxed gradient backward;
- `"score"`: the score-function (REINFORCE) estimator with a leave-one-out baseline over
  `num_samples` exact draws (Kool et al. 2019), unbiased for the discrete ELBO.
"""

import math
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

import difsci as ds

Estimator = Literal["gumbel", "straight_through", "score"]


class CategoricalVAE(eqx.Module):
    """x | z ~ Bernoulli(logits=decoder(one_hot(z))), z = num_vars categoricals of num_classes."""

    encoder: eqx.nn.MLP
    decoder: eqx.nn.MLP
    num_vars: int = eqx.field(static=True)
    num_classes: int = eqx.field(static=True)

    def __init__(self, data_dim: int, num_vars: int = 8, num_classes: int = 8, hidden: int = 128, *, key: PRNGKeyArray):
        if min(data_dim, num_vars, hidden) < 1 or num_classes < 2:
            raise ValueError("CategoricalVAE: need data_dim, num_vars, hidden >= 1 and num_classes >= 2")
        ke, kd = jax.random.split(key)
        self.encoder = eqx.nn.MLP(data_dim, num_vars * num_classes, hidden, 2, activation=jax.nn.relu, key=ke)
        self.decoder = eqx.nn.MLP(num_vars * num_classes, data_dim, hidden, 2, activation=jax.nn.relu, key=kd)
        self.num_vars = num_vars
        self.num_classes = num_classes

    def logits(self, x: Float[Array, " d"]) -> Float[Array, "v k"]:
        return jax.nn.log_softmax(self.encoder(x).reshape(self.num_vars, self.num_classes), axis=-1)

    def log_likelihood(self, x: Float[Array, " d"], z_one_hot: Float[Array, "v k"]) -> Float[Array, ""]:
        return jnp.sum(ds.Bernoulli(logits=self.decoder(z_one_hot.reshape(-1))).log_prob(x))

    def kl_to_uniform(self, logits: Float[Array, "v k"]) -> Float[Array, ""]:
        p = jnp.exp(logits)
        return jnp.sum(p * (logits + math.log(self.num_classes)))


def surrogate_elbo(
    model: CategoricalVAE,
    x: Float[Array, " d"],
    key: PRNGKeyArray,
    estimator: Estimator = "gumbel",
    temperature: float = 1.0,
    num_samples: int = 2,
) -> Float[Array, ""]:
    """A scalar whose gradient is the chosen estimator of the ELBO's gradient, for one example.

    For `"score"` its value is also an unbiased estimate of the discrete ELBO; for the
    relaxed estimators it is the relaxed objective.
    """
    logits = model.logits(x)
    kl = model.kl_to_uniform(logits)
    keys = jax.random.split(key, num_samples)
    if estimator == "gumbel":
        family = ds.RelaxedOneHotCategorical
    elif estimator == "straight_through":
        family = ds.RelaxedOneHotCategoricalStraightThrough
    elif estimator == "score":
        z = jax.vmap(lambda k: ds.Categorical(logits=logits).sample(k))(keys)  # (s, v)
        one_hot = jax.nn.one_hot(z, model.num_classes)
        f = jax.vmap(lambda oh: model.log_likelihood(x, oh))(one_hot)
        log_q = jax.vmap(lambda zz: jnp.sum(ds.Categorical(logits=logits).log_prob(zz)))(z)
        baseline = (jnp.sum(f) - f) / (num_samples - 1)  # leave-one-out
        advantage = jax.lax.stop_gradient(f - baseline)
        # Value: mean f; gradient: mean of (f - b) grad log q + grad f (the decoder's own gradient).
        reinforce = jnp.mean(advantage * (log_q - jax.lax.stop_gradient(log_q)))
        return jnp.mean(f) + reinforce - kl
    else:
        raise ValueError(f"surrogate_elbo: `estimator` must be 'gumbel', 'straight_through' or 'score', got {estimator!r}")
    dist = family(temperature, logits=logits)
    f = jax.vmap(lambda k: model.log_likelihood(x, dist.sample(k)))(keys)
    return jnp.mean(f) - kl


def discrete_elbo(model: CategoricalVAE, x: Float[Array, "n d"], key: PRNGKeyArray, num_samples: int = 16) -> Float[Array, " n"]:
    """Monte Carlo estimate of the exact (discrete-latent) ELBO per example."""

    def one(xi, k):
        logits = model.logits(xi)
        z = ds.Categorical(logits=logits).sample(k, (num_samples,))
        f = jax.vmap(lambda zz: model.log_likelihood(xi, jax.nn.one_hot(zz, model.num_classes)))(z)
        return jnp.mean(f) - model.kl_to_uniform(logits)

    return jax.vmap(one)(x, jax.random.split(key, x.shape[0]))


def discrete_vae_loss(estimator: Estimator, temperature_schedule, num_samples: int = 2):
    """A `loss_fn(model, batch, key, step)` for `ds.train(..., with_step=True)` using `estimator`.

    `temperature_schedule(step)` gives the relaxation temperature (ignored by `"score"`).
    """
    if num_samples < 2 and estimator == "score":
        raise ValueError("discrete_vae_loss: the leave-one-out baseline needs num_samples >= 2")

    def loss(model, x, key, step):
        t = temperature_schedule(step)
        keys = jax.random.split(key, x.shape[0])
        return -jnp.mean(jax.vmap(lambda xi, k: surrogate_elbo(model, xi, k, estimator, t, num_samples))(x, keys))

    return loss


def annealed_temperature(start: float = 1.0, end: float = 0.3, rate: float = 1e-3):
    """Jang et al.'s schedule: max(end, start * exp(-rate * step))."""
    if not 0 < end <= start:
        raise ValueError(f"annealed_temperature: need 0 < end <= start, got start={start}, end={end}")
    return lambda step: jnp.maximum(end, start * jnp.exp(-rate * step))
