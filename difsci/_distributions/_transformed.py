"""A distribution pushed through a chain of bijections: y = f_n(... f_1(x)), x ~ base."""

from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp

from .._bijections import AbstractBijection
from .._constraints import AbstractConstraint
from ._base import AbstractDistribution, as_value


def _sum_last(x, n):
    return jnp.sum(x, axis=tuple(range(-n, 0))) if n else x


class _TransformedSupport(AbstractConstraint):
    """The image of a base support under the bijections, with the composed bijection to R^n."""

    base: AbstractConstraint
    bijections: tuple[AbstractBijection, ...]
    ndim: int = eqx.field(static=True)

    @property
    def event_dim(self):
        return self.ndim

    def _inverse(self, y):
        for b in reversed(self.bijections):
            y = b.inverse(y)
        return y

    def _forward_with_log_det(self, x):
        log_det = 0.0
        for b in self.bijections:
            log_det = log_det + _sum_last(b.log_abs_det_jacobian(x), self.ndim - b.event_dim)
            x = b.forward(x)
        return x, log_det

    def check(self, y):
        x = self._inverse(jnp.asarray(y))
        ok = _sum_last(~self.base.check(x), self.ndim - self.base.event_dim) == 0
        return ok & (_sum_last(~jnp.isfinite(x), self.ndim) == 0)

    def unconstrained_shape(self, shape):
        return self.base.unconstrained_shape(shape)

    def from_unconstrained(self, u):
        return self._forward_with_log_det(self.base.from_unconstrained(u))[0]

    def to_unconstrained(self, y):
        return self.base.to_unconstrained(self._inverse(jnp.asarray(y)))

    def log_abs_det_jacobian(self, u):
        base_log_det = _sum_last(self.base.log_abs_det_jacobian(u), self.ndim - self.base.event_dim)
        return base_log_det + self._forward_with_log_det(self.base.from_unconstrained(u))[1]


class TransformedDistribution(AbstractDistribution):
    """The law of y = f_n(... f_1(x)) for x ~ `base` and `bijections` = [f_1, ..., f_n].

    log p(y) = log p_base(x) - sum_i log|det J_{f_i}|, and draws are reparameterised when the
    base's are. A bijection acting on vectors (`bijections.Ordered`) turns the base's last
    batch axis into an event axis. The support carries the composed bijection, so NUTS and
    VI work on transformed latents directly.

    ```python
    log_normal = ds.TransformedDistribution(ds.Normal(0.0, 1.0), [ds.bijections.Exp()])
    cutpoints = ds.TransformedDistribution(ds.Normal(jnp.zeros(4), 3.0), [ds.bijections.Ordered()])
    ```
    """

    base: AbstractDistribution
    bijections: tuple[AbstractBijection, ...]

    def __init__(self, base: AbstractDistribution, bijections: Sequence[AbstractBijection]):
        if not isinstance(base, AbstractDistribution):
            raise TypeError(f"TransformedDistribution: `base` must be a distribution, got {type(base).__name__}")
        if base.is_discrete:
            raise ValueError(f"TransformedDistribution: `base` must be continuous, got {type(base).__name__}")
        bijections = tuple([bijections] if isinstance(bijections, AbstractBijection) else bijections)
        if not all(isinstance(b, AbstractBijection) for b in bijections):
            raise TypeError("TransformedDistribution: every entry of `bijections` must be a bijection (ds.bijections.*)")
        shape = tuple(base.batch_shape) + tuple(base.event_shape)
        need = max([len(base.event_shape)] + [b.event_dim for b in bijections])
        if need > len(shape):
            raise ValueError(
                f"TransformedDistribution: `bijections` act on {need} trailing axes but the base has shape {shape}"
            )
        self.base = base
        self.bijections = bijections

    @property
    def _ndim(self) -> int:
        return max([len(self.base.event_shape)] + [b.event_dim for b in self.bijections])

    @property
    def has_rsample(self):
        return self.base.has_rsample

    @property
    def batch_shape(self):
        shape = tuple(self.base.batch_shape) + tuple(self.base.event_shape)
        return shape[: len(shape) - self._ndim]

    @property
    def event_shape(self):
        shape = tuple(self.base.batch_shape) + tuple(self.base.event_shape)
        return shape[len(shape) - self._ndim:]

    @property
    def support(self):
        return _TransformedSupport(self.base.support, self.bijections, self._ndim)

    def sample(self, key, sample_shape=()):
        x = self.base.sample(key, sample_shape)
        for b in self.bijections:
            x = b.forward(x)
        return x

    def log_prob(self, value):
        support = self.support
        y = as_value(value, jnp.zeros((), float))
        x = support._inverse(y)
        ok = support.check(y)
        x_safe = jnp.where(jnp.isfinite(x), x, 0.0)
        _, log_det = support._forward_with_log_det(x_safe)
        base_lp = _sum_last(self.base.log_prob(x_safe), self._ndim - len(self.base.event_shape))
        return jnp.where(ok, base_lp - log_det, -jnp.inf)
