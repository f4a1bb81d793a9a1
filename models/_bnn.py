"""A Bayesian neural network for regression: an Equinox MLP whose weights are random variables.

The prior is an `eqx.nn.MLP` with a `Normal` in place of every weight and bias array, so
`ds.sample("net", prior)` makes one site per array ("net.layers[0].weight", ...). The
likelihood is Gaussian with an unknown noise scale. Fit it with `ds.nuts` or `ds.vi.fit`,
then read predictive bands from `predictive_bands`.
"""

from collections.abc import Mapping

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

import difsci as ds


def mlp_prior(key: PRNGKeyArray, in_size: int = 1, width: int = 16, depth: int = 1,
              prior_scale: float = 1.0) -> eqx.nn.MLP:
    """An MLP (tanh, scalar output) whose arrays are `Normal(0, prior_scale / sqrt(fan_in))`."""
    if not prior_scale > 0:
        raise ValueError(f"mlp_prior: `prior_scale` must be > 0, got {prior_scale!r}")
    if width < 1 or depth < 1:
        raise ValueError(f"mlp_prior: `width` and `depth` must be >= 1, got {width}, {depth}")
    net = eqx.nn.MLP(in_size, "scalar", width, depth, activation=jnp.tanh, key=key)

    def to_prior(x):
        if not eqx.is_inexact_array(x):
            return x
        fan_in = x.shape[-1] if x.ndim == 2 else 1
        return ds.Normal(jnp.zeros(x.shape), prior_scale / np.sqrt(fan_in) * jnp.ones(x.shape))

    return jax.tree_util.tree_map(to_prior, net)


def bnn_regression(prior: eqx.nn.MLP, x: Float[Array, "n d"], y: Float[Array, " n"] | None = None,
                   noise_scale: float = 0.5) -> Float[Array, " n"]:
    """The model: net ~ prior, noise ~ HalfNormal(noise_scale), y ~ Normal(net(x), noise).

    Returns the network's mean prediction at `x`. With `y=None` the outputs are drawn.
    """
    net = ds.sample("net", prior)
    noise = ds.sample("noise", ds.HalfNormal(noise_scale))
    mean = jax.vmap(net)(x)
    ds.sample("y", ds.Normal(mean, noise * jnp.ones_like(mean)), obs=y)
    return mean


def predictive_bands(prior, samples: Mapping[str, Array], key: PRNGKeyArray, x: Float[Array, "n d"],
                     prob: float = 0.9) -> dict[str, np.ndarray]:
    """Posterior predictive mean and central `prob` band of y at `x` (noise included), and of
    the network's mean alone. `samples` has one leading draw axis."""
    draws = ds.predictive(bnn_regression, samples, key, prior, x)
    lo, hi = (1 - prob) / 2, (1 + prob) / 2
    y = np.asarray(draws["y"])
    return {
        "mean": y.mean(0),
        "low": np.quantile(y, lo, axis=0),
        "high": np.quantile(y, hi, axis=0),
    }


def coverage(bands: Mapping[str, np.ndarray], y: Float[Array, " n"]) -> float:
    """Fraction of `y` inside the predictive band."""
    y = np.asarray(y)
    return float(np.mean((y >= bands["low"]) & (y <= bands["high"])))


def toy_regression(key: PRNGKeyArray, n: int, noise: float = 0.15) -> tuple[Array, Array]:
    """x ~ U(-1.5, 1.5), y = sin(2x) + x/2 + noise: the data of the example and tests."""
    kx, ky = jax.random.split(key)
    x = jax.random.uniform(kx, (n, 1), minval=-1.5, maxval=1.5)
    y = jnp.sin(2 * x[:, 0]) + 0.5 * x[:, 0] + noise * jax.random.normal(ky, (n,))
    return x, y
