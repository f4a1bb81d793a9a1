"""Finite mixtures: `MixtureSameFamily` (one batched family) and `Mixture` (any components).

The mixing weights are a `Categorical`; the log-density is a log-sum-exp over components, so
the component index is marginalised exactly (what Stan users write by hand with
`log_mix` / `log_sum_exp`), and gradient-based inference sees a continuous density.
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from ._base import AbstractDistribution
from ._discrete import Categorical


def _lift(x, n_sample, ndim):
    """Insert unit axes after the `n_sample` sample axes so `x` has `n_sample + ndim` axes.

    Draws of a distribution with fewer batch axes then broadcast against the mixture's batch
    instead of aligning their sample axes with its batch axes.
    """
    x = jnp.asarray(x)
    extra = n_sample + ndim - x.ndim
    return x.reshape(x.shape[:n_sample] + (1,) * extra + x.shape[n_sample:])


def _select(draws, index, axis):
    """draws[..., index, ...] along `axis`, `index` shaped like draws without that axis."""
    return jnp.take_along_axis(draws, jnp.expand_dims(index, axis), axis=axis).squeeze(axis)


class MixtureSameFamily(AbstractDistribution):
    """A mixture whose K components are the last batch axis of one distribution.

    **Arguments:** `mixing`, a `Categorical` over K components with batch shape `B`;
    `component`, a distribution with batch shape `B + (K,)` (e.g. `Normal(locs, scales)` with
    `locs` of shape `(K,)`). The mixture has batch shape `B` and the components' event shape.
    """

    mixing: Categorical
    component: AbstractDistribution

    def __init__(self, mixing: Categorical, component: AbstractDistribution):
        if not isinstance(mixing, Categorical):
            raise TypeError(f"MixtureSameFamily: `mixing` must be a Categorical, got {type(mixing).__name__}")
        if not isinstance(component, AbstractDistribution):
            raise TypeError(f"MixtureSameFamily: `component` must be a distribution, got {type(component).__name__}")
        k = mixing.num_categories
        if component.batch_shape[-1:] != (k,):
            raise ValueError(
                f"MixtureSameFamily: `component` needs a last batch axis of the {k} mixture components, "
                f"got batch shape {component.batch_shape}"
            )
        try:
            jnp.broadcast_shapes(mixing.batch_shape, component.batch_shape[:-1])
        except ValueError:
            raise ValueError(
                f"MixtureSameFamily: `mixing` batch shape {mixing.batch_shape} does not broadcast with the "
                f"components' {component.batch_shape[:-1]}"
            ) from None
        self.mixing = mixing
        self.component = component

    @property
    def batch_shape(self):
        return jnp.broadcast_shapes(self.mixing.batch_shape, self.component.batch_shape[:-1])

    @property
    def event_shape(self):
        return self.component.event_shape

    @property
    def support(self):
        return self.component.support

    @property
    def _axis(self) -> int:
        return -1 - len(self.event_shape)  # the component axis of a component draw

    def sample(self, key, sample_shape=()):
        k_mix, k_comp = jax.random.split(key)
        n = len(sample_shape)
        shape = tuple(sample_shape) + self.batch_shape
        draws = _lift(self.component.sample(k_comp, sample_shape), n, len(self.batch_shape) + 1 + len(self.event_shape))
        draws = jnp.broadcast_to(draws, shape + self.component.batch_shape[-1:] + self.event_shape)
        index = jnp.broadcast_to(_lift(self.mixing.sample(k_mix, sample_shape), n, len(self.batch_shape)), shape)
        for _ in self.event_shape:
            index = index[..., None]
        index = jnp.broadcast_to(index, shape + self.event_shape)
        return _select(draws, index, self._axis)

    def log_prob(self, value):
        value = jnp.expand_dims(jnp.asarray(value), self._axis)
        return logsumexp(self.mixing.logits + self.component.log_prob(value), axis=-1)

    def _weights(self):
        w = self.mixing.probs
        for _ in self.event_shape:
            w = w[..., None]
        return w

    @property
    def mean(self):
        return jnp.sum(self._weights() * self.component.mean, axis=self._axis)

    @property
    def variance(self):
        w, m = self._weights(), self.component.mean
        mean = jnp.sum(w * m, axis=self._axis)
        second = jnp.sum(w * (self.component.variance + m**2), axis=self._axis)
        return second - mean**2


class Mixture(AbstractDistribution):
    """A mixture of K arbitrary distributions of one batch and event shape (e.g. Normal and StudentT).

    **Arguments:** `mixing`, a `Categorical` over K components; `components`, a sequence of K
    distributions. The support is that of the first component; give components that share it.
    """

    mixing: Categorical
    components: tuple[AbstractDistribution, ...]

    def __init__(self, mixing: Categorical, components: Sequence[AbstractDistribution]):
        if not isinstance(mixing, Categorical):
            raise TypeError(f"Mixture: `mixing` must be a Categorical, got {type(mixing).__name__}")
        components = tuple(components)
        if len(components) != mixing.num_categories:
            raise ValueError(
                f"Mixture: `mixing` has {mixing.num_categories} categories but {len(components)} `components` were given"
            )
        if not all(isinstance(d, AbstractDistribution) for d in components):
            raise TypeError("Mixture: every entry of `components` must be a distribution")
        events = {tuple(d.event_shape) for d in components}
        if len(events) != 1:
            raise ValueError(f"Mixture: `components` must share one event shape, got {sorted(events)}")
        if len({d.is_discrete for d in components}) != 1:
            raise ValueError("Mixture: `components` must be all discrete or all continuous")
        self.mixing = mixing
        self.components = components

    @property
    def batch_shape(self):
        return jnp.broadcast_shapes(self.mixing.batch_shape, *(d.batch_shape for d in self.components))

    @property
    def event_shape(self):
        return self.components[0].event_shape

    @property
    def support(self):
        return self.components[0].support

    def sample(self, key, sample_shape=()):
        k_mix, *k_comps = jax.random.split(key, len(self.components) + 1)
        shape, n = self._shape(sample_shape), len(sample_shape)
        ndim = len(self.batch_shape) + len(self.event_shape)
        draws = [_lift(d.sample(k, sample_shape), n, ndim) for d, k in zip(self.components, k_comps)]
        dtype = jnp.result_type(*draws)
        draws = jnp.stack([jnp.broadcast_to(x, shape).astype(dtype) for x in draws], axis=-1 - len(self.event_shape))
        index = jnp.broadcast_to(_lift(self.mixing.sample(k_mix, sample_shape), n, len(self.batch_shape)),
                                 tuple(sample_shape) + self.batch_shape)
        for _ in self.event_shape:
            index = index[..., None]
        return _select(draws, jnp.broadcast_to(index, shape), -1 - len(self.event_shape))

    def log_prob(self, value):
        lps = jnp.stack(jnp.broadcast_arrays(*(d.log_prob(value) for d in self.components)), axis=-1)
        return logsumexp(self.mixing.logits + lps, axis=-1)

    def _weights(self):
        w = self.mixing.probs
        for _ in self.event_shape:
            w = w[..., None]
        return jnp.moveaxis(w, -1 - len(self.event_shape), 0)

    @property
    def mean(self):
        return jnp.sum(self._weights() * jnp.stack([d.mean for d in self.components]), axis=0)

    @property
    def variance(self):
        w = self._weights()
        m = jnp.stack([d.mean for d in self.components])
        v = jnp.stack([d.variance for d in self.components])
        mean = jnp.sum(w * m, axis=0)
        return jnp.sum(w * (v + m**2), axis=0) - mean**2
