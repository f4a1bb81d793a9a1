"""Random variables in plain Python model functions, and the effect handlers that run them.

A model is any Python function that calls `sample(name, dist)`. On its own it cannot draw
(there is no key); handlers give it meaning:

- `seed(model, key)` draws every latent with keys split from `key`;
- `trace(model, key)` runs it and records every site as a `RandomVariable`;
- `condition(model, data)` observes sites; `substitute(model, values)` fixes latents;
- `log_joint(model)` turns it into a log-density over its latent values
  (Edward2's `make_log_joint_fn`).

Two more statements shape what handlers see: `factor(name, log_weight)` adds a term to the
log density (Stan's `target +=`), `deterministic(name, value)` records a derived quantity.

Handlers act while a function is traced, so they compose with each other and with
`jax.jit`, `jax.vmap` and `jax.grad` in any order.
"""

import functools
import threading
from collections.abc import Callable, Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PyTree

from . import _constraints as c
from ._custom_types import KeyArray
from ._distributions import AbstractDistribution


class RandomVariable(eqx.Module):
    """One named random variable from one run of a model.

    **Fields:** `name`; `dist`, its distribution; `value`, the drawn or observed array;
    `log_prob`, the scalar log-density of `value` summed over the site; `observed`,
    whether the value was given as data rather than drawn; `deterministic`, whether the
    site is a derived quantity recorded by `ds.deterministic` (its `log_prob` is 0).
    """

    name: str = eqx.field(static=True)
    dist: AbstractDistribution
    value: Array
    log_prob: Float[Array, ""]
    observed: bool = eqx.field(static=True)
    deterministic: bool = eqx.field(static=True, default=False)


class _Message:
    __slots__ = ("name", "dist", "value", "observed", "sample_shape", "key", "log_prob", "deterministic", "scale")

    def __init__(self, name, dist, value, observed, sample_shape, deterministic=False):
        self.name = name
        self.dist = dist
        self.value = value
        self.observed = observed
        self.sample_shape = sample_shape
        self.key = None
        self.log_prob = None
        self.deterministic = deterministic
        self.scale = 1.0

    def score(self) -> Array:
        if self.log_prob is None:
            self.log_prob = jnp.sum(self.dist.log_prob(self.value)) * self.scale
        return self.log_prob


class _State(threading.local):
    def __init__(self):
        self.stack: list[_Handler] = []
        self.names: set[str] = set()


_state = _State()


class _Handler:
    """Base of all handlers: entered around a model call, sees every site it makes."""

    def process(self, msg: _Message) -> None:
        """Before the value is known (innermost handler first)."""

    def postprocess(self, msg: _Message) -> None:
        """After the value is known (innermost handler first)."""

    def __enter__(self):
        if not _state.stack:
            _state.names = set()
        _state.stack.append(self)
        return self

    def __exit__(self, *exc):
        popped = _state.stack.pop()
        assert popped is self, "difsci handlers were exited out of order"
        return False


def _run(handler: _Handler, model: Callable, args, kwargs):
    with handler:
        return model(*args, **kwargs)


def _site_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"ds.sample: every site needs a non-empty string name, got {name!r}")
    return name


def _check_obs_shape(name: str, dist: AbstractDistribution, obs: Array, sample_shape) -> None:
    dist_shape = tuple(sample_shape) + tuple(dist.batch_shape) + tuple(dist.event_shape)
    try:
        joint = jnp.broadcast_shapes(obs.shape, dist_shape)
    except ValueError:
        joint = None
    if joint != obs.shape:
        raise ValueError(
            f"ds.sample({name!r}): observed value of shape {obs.shape} does not match the "
            f"distribution's shape {dist_shape} (sample_shape + batch_shape + event_shape); "
            "the distribution must broadcast to the data, not the data to the distribution"
        )


def sample(
    name: str,
    dist: AbstractDistribution | PyTree,
    obs: ArrayLike | PyTree | None = None,
    *,
    sample_shape: tuple[int, ...] = (),
) -> Array | PyTree:
    """Declare the random variable `name ~ dist` and return its value.

    Inside `seed`/`trace` the value is drawn; with `obs=` (or under `condition`) it is the
    observed data. `sample_shape` draws that many independent copies. If `dist` is a
    pytree (e.g. an Equinox module) whose leaves include distributions, each of those
    becomes its own site named `name` + its path (e.g. `"net.layers[0].weight"`) and the
    module is returned with values in their place. Names must be unique within a run.
    """
    name = _site_name(name)
    if not isinstance(dist, AbstractDistribution):
        return _sample_pytree(name, dist, obs, sample_shape)
    if obs is not None:
        obs = jnp.asarray(obs)
        _check_obs_shape(name, dist, obs, sample_shape)
    stack = _state.stack
    if not stack:
        if obs is not None:
            return obs
        raise RuntimeError(
            f"ds.sample({name!r}) has no key to draw with: run the model as "
            "ds.seed(model, key)(...) or ds.trace(model, key)(...), or observe the site"
        )
    if name in _state.names:
        raise ValueError(f"ds.sample: the site name {name!r} is used twice in one run; names must be unique")
    _state.names.add(name)
    msg = _Message(name, dist, obs, obs is not None, tuple(sample_shape))
    for handler in reversed(stack):
        handler.process(msg)
    if msg.value is None:
        if msg.key is None:
            raise RuntimeError(
                f"ds.sample({name!r}) has no key to draw with: wrap the model in ds.seed(model, key) "
                "or ds.trace(model, key), or give the site a value"
            )
        msg.value = dist.sample(msg.key, msg.sample_shape)
    for handler in reversed(stack):
        handler.postprocess(msg)
    return msg.value


class _Factor(AbstractDistribution):
    """The site `factor` makes: its log-density is the given log-weight whatever the value."""

    log_weight: Array

    @property
    def batch_shape(self):
        return self.log_weight.shape

    @property
    def support(self):
        return c.real

    def sample(self, key, sample_shape=()):
        return jnp.zeros(self._shape(sample_shape), self.log_weight.dtype)

    def log_prob(self, value):
        return jnp.broadcast_to(self.log_weight, jnp.broadcast_shapes(jnp.shape(value), self.log_weight.shape))


class _Deterministic(AbstractDistribution):
    """The site `deterministic` makes: a point mass carrying no density (log_prob 0)."""

    value: Array

    @property
    def batch_shape(self):
        return self.value.shape

    @property
    def support(self):
        return c.real

    def sample(self, key, sample_shape=()):
        return jnp.broadcast_to(self.value, self._shape(sample_shape))

    def log_prob(self, value):
        return jnp.zeros(jnp.shape(value), jnp.result_type(value, float))


def factor(name: str, log_weight: Float[ArrayLike, "..."]) -> None:
    """Add `sum(log_weight)` to the model's log density (Stan's `target += log_weight`).

    The term counts wherever densities are summed: `log_joint`, `nuts`/`hmc` and `vi`, and
    the site appears in `trace` as an observed site whose `log_prob` is the weight. Use it for
    a likelihood no distribution expresses, a Jacobian adjustment, or a soft constraint.

    ```python
    def model():
        x = ds.sample("x", ds.Normal(0.0, 1.0))
        ds.factor("soft_positive", jax.nn.log_sigmoid(10 * x))
    ```
    """
    log_weight = jnp.asarray(log_weight)
    if not jnp.issubdtype(log_weight.dtype, jnp.inexact):
        log_weight = log_weight.astype(jnp.result_type(float))
    sample(name, _Factor(log_weight), obs=jnp.zeros(log_weight.shape, log_weight.dtype))


def deterministic(name: str, value: ArrayLike) -> Array:
    """Record `value` as the derived quantity `name` and return it; it adds nothing to the density.

    It appears in `trace` (with `deterministic=True`), in `predictive` draws, and in
    `nuts`/`hmc` results beside the latent sites (`result.samples[name]`), as Stan's
    generated quantities and transformed parameters do.
    """
    name = _site_name(name)
    value = jnp.asarray(value)
    stack = _state.stack
    if not stack:
        return value
    if name in _state.names:
        raise ValueError(f"ds.deterministic: the site name {name!r} is used twice in one run; names must be unique")
    _state.names.add(name)
    msg = _Message(name, _Deterministic(value), value, True, (), deterministic=True)
    for handler in reversed(stack):
        handler.process(msg)
    for handler in reversed(stack):
        handler.postprocess(msg)
    return msg.value


class _Plate(_Handler):
    """Scales the log-density of every site made inside it by size / subsample_size."""

    def __init__(self, name: str, size: int, subsample_size: int | None, key: KeyArray | None):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"ds.plate({name!r}): `size` must be a Python int >= 1, got {size!r}")
        if subsample_size is None:
            subsample_size = size
        if isinstance(subsample_size, bool) or not isinstance(subsample_size, int) or not 1 <= subsample_size <= size:
            raise ValueError(
                f"ds.plate({name!r}): `subsample_size` must be a Python int in [1, size={size}], got {subsample_size!r}"
            )
        self.name, self.size, self.subsample_size, self.key = name, size, subsample_size, key
        self.indices = None

    def _draw_indices(self) -> Array:
        if self.subsample_size == self.size:
            return jnp.arange(self.size)
        key = self.key
        if key is None:
            seeds = [h for h in _state.stack if isinstance(h, _Seed)]
            if not seeds:
                raise ValueError(
                    f"ds.plate({self.name!r}): subsampling needs randomness: pass `key=` or run the model "
                    "under ds.seed / ds.trace with a key"
                )
            seeds[-1].key, key = jax.random.split(seeds[-1].key)
        return jax.random.choice(key, self.size, (self.subsample_size,), replace=False)

    def process(self, msg):
        msg.scale = msg.scale * (self.size / self.subsample_size)

    def __enter__(self):
        self.indices = self._draw_indices()
        super().__enter__()
        return self.indices


def plate(name: str, size: int, subsample_size: int | None = None, *, key: KeyArray | None = None) -> _Plate:
    """A context over `size` conditionally independent data, optionally minibatched.

    `with ds.plate("data", N, subsample_size=B) as idx:` gives `B` indices drawn without
    replacement (from `key`, or from the enclosing `ds.seed`/`ds.trace` key) and scales the
    log-density of every site made inside by N / B, so the minibatch log-likelihood is an
    unbiased estimate of the full one (stochastic-gradient VI on large data). Without
    `subsample_size`, `idx` is `arange(N)` and nothing is scaled.

    ```python
    with ds.plate("data", len(y), subsample_size=100, key=k) as idx:
        ds.sample("y", ds.Normal(mu, 1.0), obs=y[idx])
    ```
    """
    return _Plate(name, size, subsample_size, key)


def _is_dist(x) -> bool:
    return isinstance(x, AbstractDistribution)


def _sample_pytree(name, tree, obs, sample_shape):
    leaves_with_paths, treedef = jax.tree_util.tree_flatten_with_path(tree, is_leaf=_is_dist)
    if not any(_is_dist(leaf) for _, leaf in leaves_with_paths):
        raise TypeError(
            f"ds.sample({name!r}): expected a distribution or a pytree holding distributions, "
            f"got {type(tree).__name__}"
        )
    obs_leaves = [None] * len(leaves_with_paths) if obs is None else treedef.flatten_up_to(obs)
    out = []
    for (path, leaf), o in zip(leaves_with_paths, obs_leaves):
        if _is_dist(leaf):
            leaf = sample(name + jax.tree_util.keystr(path), leaf, o, sample_shape=sample_shape)
        out.append(leaf)
    return jax.tree_util.tree_unflatten(treedef, out)


class _Seed(_Handler):
    def __init__(self, key: KeyArray):
        self.key = key

    def process(self, msg):
        if msg.value is None and msg.key is None:
            self.key, msg.key = jax.random.split(self.key)


class _Condition(_Handler):
    def __init__(self, data: Mapping[str, ArrayLike], observe: bool):
        self.data = data
        self.observe = observe

    def process(self, msg):
        if msg.deterministic:
            return  # a derived quantity is computed by the model, never given
        if msg.name in self.data:
            if msg.observed:
                raise ValueError(f"site {msg.name!r} is already observed; it cannot be conditioned again")
            value = jnp.asarray(self.data[msg.name])
            if self.observe:
                _check_obs_shape(msg.name, msg.dist, value, msg.sample_shape)
            msg.value = value
            msg.observed = self.observe


class _Trace(_Handler):
    def __init__(self):
        self.sites: dict[str, RandomVariable] = {}

    def postprocess(self, msg):
        self.sites[msg.name] = RandomVariable(
            name=msg.name, dist=msg.dist, value=msg.value, log_prob=msg.score(), observed=msg.observed,
            deterministic=msg.deterministic,
        )


class _LogJoint(_Handler):
    def __init__(self, values: Mapping[str, ArrayLike]):
        self.values = values
        self.used: set[str] = set()
        self.total = 0.0

    def process(self, msg):
        if msg.deterministic:
            if msg.name in self.values:
                self.used.add(msg.name)  # posterior draws carry derived quantities; they are recomputed
            return
        if msg.name in self.values:
            if msg.observed:
                raise ValueError(
                    f"log_joint: site {msg.name!r} is observed, so its value comes from the data; "
                    "remove it from `values`"
                )
            value = jnp.asarray(self.values[msg.name])
            site_shape = tuple(msg.sample_shape) + tuple(msg.dist.batch_shape) + tuple(msg.dist.event_shape)
            if value.shape != site_shape:
                # A broadcasting value would be scored as several draws summed: a plausible wrong number.
                raise ValueError(
                    f"log_joint: the value for site {msg.name!r} has shape {value.shape}, but the site has "
                    f"shape {site_shape} (sample_shape + batch_shape + event_shape); pass one value of that shape"
                )
            msg.value = value
            self.used.add(msg.name)
        elif not msg.observed:
            raise ValueError(
                f"log_joint: no value for latent site {msg.name!r}; pass every latent site in `values` "
                f"(got {sorted(self.values)})"
            )

    def postprocess(self, msg):
        if not msg.deterministic:
            self.total = self.total + msg.score()


def seed(model: Callable, key: KeyArray) -> Callable:
    """`model` with its latent sites drawn using keys split from `key` (same key, same draws)."""

    @functools.wraps(model)
    def seeded(*args, **kwargs):
        return _run(_Seed(key), model, args, kwargs)

    return seeded


def trace(model: Callable, key: KeyArray | None = None) -> Callable[..., dict[str, RandomVariable]]:
    """`fn(*args, **kwargs) -> {name: RandomVariable}` recording every site of one run, in order.

    With `key`, latents are drawn as by `seed(model, key)` (so `seed(model, key)(...)`
    returns the model's own return value for the very same draws).
    """

    @functools.wraps(model)
    def traced(*args, **kwargs):
        recorder = _Trace()
        with recorder:
            if key is None:
                model(*args, **kwargs)
            else:
                _run(_Seed(key), model, args, kwargs)
        return recorder.sites

    return traced


def condition(model: Callable, data: Mapping[str, ArrayLike]) -> Callable:
    """`model` with the sites named in `data` observed at those values."""

    @functools.wraps(model)
    def conditioned(*args, **kwargs):
        return _run(_Condition(data, observe=True), model, args, kwargs)

    return conditioned


def substitute(model: Callable, values: Mapping[str, ArrayLike]) -> Callable:
    """`model` with the latent sites named in `values` fixed (still latent, not observed)."""

    @functools.wraps(model)
    def substituted(*args, **kwargs):
        return _run(_Condition(values, observe=False), model, args, kwargs)

    return substituted


def log_joint(model: Callable) -> Callable[..., Float[Array, ""]]:
    """`fn(values, *args, **kwargs) -> log p(values, observed data)`, a scalar.

    `values` maps every latent (unobserved) site's name to its value; observed sites
    (`obs=` or `condition`) contribute their likelihood. A missing latent, an unknown
    name, or a value for an observed site is an error naming the site.
    """

    def log_density(values: Mapping[str, ArrayLike], *args, **kwargs) -> Float[Array, ""]:
        handler = _LogJoint(values)
        _run(handler, model, args, kwargs)
        unused = set(values) - handler.used
        if unused:
            raise ValueError(f"log_joint: `values` names sites the model does not have: {sorted(unused)}")
        return jnp.asarray(handler.total)

    functools.update_wrapper(log_density, model, updated=())
    return log_density
