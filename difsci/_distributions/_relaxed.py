"""Gumbel-softmax (Concrete) relaxations of discrete distributions.

References: Maddison, Mnih & Teh (2017), "The Concrete Distribution"; Jang, Gu & Poole
(2017), "Categorical Reparameterization with Gumbel-Softmax". As the temperature goes to 0,
draws approach one-hot (or {0, 1}) draws of the discrete distribution.
"""

from typing import ClassVar

import jax
import jax.numpy as jnp
import jax.scipy.stats as jss
from jax.scipy.special import gammaln
from jaxtyping import Array, ArrayLike, Float

from .. import _constraints as c
from . import _arg_constraints as ac
from ._base import AbstractDistribution, as_value, exactly_one, safe_log
from ._discrete import normalised_logits


def _clip_open(y: Array) -> Array:
    # Saturated draws would score as +-inf; keep them strictly inside (0, 1).
    tiny = jnp.finfo(y.dtype).tiny
    return jnp.clip(y, tiny, 1 - jnp.finfo(y.dtype).epsneg)


class RelaxedBernoulli(AbstractDistribution):
    """Binary Concrete: sigmoid((logits + Logistic noise) / temperature), on (0, 1).

    Give exactly one of `probs` or `logits`; `temperature` > 0.
    """

    temperature: Float[Array, "*batch"]
    logits: Float[Array, "*batch"]
    has_rsample: ClassVar[bool] = True
    arg_constraints: ClassVar = {"temperature": ac.positive, "probs": ac.unit_interval, "logits": ac.not_nan}

    def __init__(
        self,
        temperature: Float[ArrayLike, "*batch"],
        probs: Float[ArrayLike, "*batch"] | None = None,
        logits: Float[ArrayLike, "*batch"] | None = None,
    ):
        exactly_one("probs", probs, "logits", logits, "RelaxedBernoulli")
        if probs is not None:
            self.temperature, p = self._params(temperature=temperature, probs=probs)
            self.logits = jnp.log(p) - jnp.log1p(-p)
        else:
            self.temperature, self.logits = self._params(temperature=temperature, logits=logits)

    @property
    def probs(self) -> Array:
        return jax.nn.sigmoid(self.logits)

    @property
    def batch_shape(self):
        return self.logits.shape

    @property
    def support(self):
        return c.unit_interval

    def sample(self, key, sample_shape=()):
        noise = jax.random.logistic(key, self._shape(sample_shape), self.logits.dtype)
        return _clip_open(jax.nn.sigmoid((self.logits + noise) / self.temperature))

    def log_prob(self, value):
        y = as_value(value, self.logits)
        inside = (y > 0) & (y < 1)
        log_y, log_1my = safe_log(y), safe_log(1 - y)
        # logit(y) is Logistic(logits / T, 1 / T); change variables back to y.
        lp = jss.logistic.logpdf(log_y - log_1my, self.logits / self.temperature, 1 / self.temperature)
        return jnp.where(inside, lp - log_y - log_1my, -jnp.inf)


class RelaxedOneHotCategorical(AbstractDistribution):
    """Concrete / Gumbel-softmax: softmax((logits + Gumbel noise) / temperature) on the simplex.

    The density is with respect to Lebesgue measure on the first K - 1 coordinates.
    """

    temperature: Float[Array, "*batch"]
    logits: Float[Array, "*batch k"]
    has_rsample: ClassVar[bool] = True
    arg_constraints: ClassVar = {
        "temperature": ac.positive, "probs": ac.categorical_probs, "logits": ac.categorical_logits,
    }

    def __init__(
        self,
        temperature: Float[ArrayLike, "*batch"],
        probs: Float[ArrayLike, "*batch k"] | None = None,
        logits: Float[ArrayLike, "*batch k"] | None = None,
    ):
        self.logits, self.temperature = normalised_logits(self, probs, logits, temperature=temperature)

    @property
    def probs(self) -> Array:
        return jnp.exp(self.logits)

    @property
    def batch_shape(self):
        return self.logits.shape[:-1]

    @property
    def event_shape(self):
        return self.logits.shape[-1:]

    @property
    def support(self):
        return c.simplex

    def _relaxed_sample(self, key, sample_shape):
        gumbel = jax.random.gumbel(key, self._shape(sample_shape), self.logits.dtype)
        return jax.nn.softmax((self.logits + gumbel) / self.temperature[..., None], axis=-1)

    def sample(self, key, sample_shape=()):
        return self._relaxed_sample(key, sample_shape)

    def log_prob(self, value):
        y = as_value(value, self.logits)
        k = self.logits.shape[-1]
        t = self.temperature
        inside = jnp.all(y > 0, -1) & c.simplex.check(y)
        log_y = safe_log(y)
        scores = self.logits - t[..., None] * log_y
        lp = (
            gammaln(float(k))
            + (k - 1) * jnp.log(t)
            + jnp.sum(self.logits - (t[..., None] + 1) * log_y, -1)
            - k * jax.nn.logsumexp(scores, -1)
        )
        return jnp.where(inside, lp, -jnp.inf)


class RelaxedOneHotCategoricalStraightThrough(RelaxedOneHotCategorical):
    """Straight-through Gumbel-softmax: one-hot draws forward, relaxed gradients backward.

    `sample` returns exact one-hot vectors whose gradient is that of the relaxed
    (Concrete) draw. Since its values are discrete, `log_prob` is the one-hot categorical
    log-mass of the value (what a discrete-latent ELBO needs), and its support is one-hot.
    """

    @property
    def support(self):
        return c.one_hot

    def sample(self, key, sample_shape=()):
        soft = self._relaxed_sample(key, sample_shape)
        hard = jax.nn.one_hot(jnp.argmax(soft, -1), soft.shape[-1], dtype=soft.dtype)
        return hard + (soft - jax.lax.stop_gradient(soft))

    def log_prob(self, value):
        x = as_value(value, self.logits)
        lp = jnp.sum(x * jnp.where(x > 0, self.logits, 0.0), -1)
        return jnp.where(c.one_hot.check(x), lp, -jnp.inf)

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        p = self.probs
        return p * (1 - p)


