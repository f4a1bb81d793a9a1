"""A Gaussian-latent variational autoencoder (Kingma & Welling 2014; Rezende et al. 2014).

The generative model and the amortised guide are ordinary difsci model functions; the
ELBO and the importance-weighted bound (Burda et al. 2016) come from `ds.trace` of the
guide and `ds.log_joint` of the model, so nothing here is specific to Gaussians but the
choice of distributions.
"""

import math
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

import difsci as ds


class GaussianVAE(eqx.Module):
    """z ~ Normal(0, I) (latent_dim), x | z ~ Bernoulli(logits=decoder(z)) or Normal(decoder(z), s).

    The guide q(z | x) = Normal(mu(x), sigma(x)) is amortised by `encoder`.
    """

    encoder: eqx.nn.MLP
    decoder: eqx.nn.MLP
    log_scale: Float[Array, ""]
    latent_dim: int = eqx.field(static=True)
    likelihood: str = eqx.field(static=True)

    def __init__(
        self,
        data_dim: int,
        latent_dim: int = 2,
        hidden: int = 128,
        depth: int = 2,
        likelihood: Literal["bernoulli", "gaussian"] = "bernoulli",
        *,
        key: PRNGKeyArray,
    ):
        if likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"GaussianVAE: `likelihood` must be 'bernoulli' or 'gaussian', got {likelihood!r}")
        if min(data_dim, latent_dim) < 1 or depth < 0 or hidden < 1:
            raise ValueError("GaussianVAE: data_dim, latent_dim, hidden must be >= 1 and depth >= 0")
        ke, kd = jax.random.split(key)
        self.encoder = eqx.nn.MLP(data_dim, 2 * latent_dim, hidden, depth, activation=jax.nn.relu, key=ke)
        self.decoder = eqx.nn.MLP(latent_dim, data_dim, hidden, depth, activation=jax.nn.relu, key=kd)
        self.log_scale = jnp.asarray(math.log(0.3))
        self.latent_dim = latent_dim
        self.likelihood = likelihood

    def observation(self, z: Float[Array, " latent"]) -> ds.AbstractDistribution:
        out = self.decoder(z)
        if self.likelihood == "bernoulli":
            return ds.Bernoulli(logits=out)
        return ds.Normal(out, jnp.exp(self.log_scale))

    def model(self, x: Float[Array, " data"]) -> None:
        """The generative model p(z) p(x | z) as a difsci model function."""
        z = ds.sample("z", ds.Normal(jnp.zeros(self.latent_dim), 1.0))
        ds.sample("x", self.observation(z), obs=x)

    def posterior(self, x: Float[Array, " data"]) -> ds.Normal:
        mu, raw = jnp.split(self.encoder(x), 2)
        return ds.Normal(mu, jax.nn.softplus(raw) + 1e-4)

    def guide(self, x: Float[Array, " data"]) -> Array:
        """The amortised guide q(z | x) as a difsci model function."""
        return ds.sample("z", self.posterior(x))

    def decode_mean(self, z: Float[Array, " latent"]) -> Float[Array, " data"]:
        return self.observation(z).mean


def log_weights(model: GaussianVAE, x: Float[Array, " data"], key: PRNGKeyArray, num_samples: int) -> Float[Array, " k"]:
    """log p(x, z_k) - log q(z_k | x) for `num_samples` draws z_k ~ q(z | x)."""

    def one(k):
        q = ds.trace(model.guide, k)(x)["z"]
        log_p = ds.log_joint(model.model)({"z": q.value}, x)
        return log_p - q.log_prob

    return jax.vmap(one)(jax.random.split(key, num_samples))


def elbo(model: GaussianVAE, x: Float[Array, "n data"], key: PRNGKeyArray, num_samples: int = 1) -> Float[Array, " n"]:
    """Monte Carlo ELBO per example (nats), reparameterised so it differentiates."""
    keys = jax.random.split(key, x.shape[0])
    return jax.vmap(lambda xi, k: jnp.mean(log_weights(model, xi, k, num_samples)))(x, keys)


def iwae_bound(model: GaussianVAE, x: Float[Array, "n data"], key: PRNGKeyArray, num_samples: int = 100) -> Float[Array, " n"]:
    """Importance-weighted bound log (1/K) sum_k w_k per example; tends to log p(x) as K grows."""
    keys = jax.random.split(key, x.shape[0])

    def one(xi, k):
        lw = log_weights(model, xi, k, num_samples)
        return jax.nn.logsumexp(lw) - math.log(num_samples)

    return jax.vmap(one)(x, keys)


def vae_loss(model: GaussianVAE, batch: Float[Array, "n data"], key: PRNGKeyArray) -> Float[Array, ""]:
    """Negative ELBO, averaged over the batch (nats per example)."""
    return -jnp.mean(elbo(model, batch, key))


def minibatches(data: Float[Array, "n d"], batch_size: int):
    """A keyed `batch_fn` drawing `batch_size` rows of `data` without replacement."""
    data = jnp.asarray(data)
    if not 1 <= batch_size <= data.shape[0]:
        raise ValueError(f"minibatches: `batch_size` must lie in [1, {data.shape[0]}], got {batch_size}")

    def batch_fn(key):
        return data[jax.random.choice(key, data.shape[0], (batch_size,), replace=False)]

    return batch_fn


def train_vae(
    train_x: Float[Array, "n d"],
    key: PRNGKeyArray,
    *,
    latent_dim: int = 2,
    hidden: int = 128,
    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli",
    num_steps: int = 3000,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    progress_bar: bool = True,
    checkpoint_path=None,
) -> tuple[GaussianVAE, "ds.TrainResult"]:
    """Fit a `GaussianVAE` to the rows of `train_x` by maximising the ELBO with Adam."""
    import optax

    init_key, train_key = jax.random.split(key)
    model = GaussianVAE(train_x.shape[1], latent_dim, hidden, likelihood=likelihood, key=init_key)
    result = ds.train(
        model,
        vae_loss,
        optax.adam(learning_rate),
        train_key,
        num_steps=num_steps,
        batch_fn=minibatches(train_x, batch_size),
        progress_bar=progress_bar,
        checkpoint_path=checkpoint_path,
    )
    return result.model, result
