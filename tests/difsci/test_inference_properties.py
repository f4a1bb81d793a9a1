"""Property tests over the entry points that run a model: `ds.train`, `ds.nuts`,
`ds.sample_log_density` and `ds.vi.fit`. Random valid problems give finite results; random
invalid arguments (negative, zero, fractional or boolean counts, NaN, wrong types, a key that
is not a key, starts of the wrong shape or outside the support) are a ValueError naming the
argument, raised before anything compiles; a loss that turns NaN is an error naming `loss_fn`.

Valid runs are tiny (a few steps, 20 draws) and few; argument checks cost nothing.
"""

import math
import warnings

import equinox as eqx
import hypothesis.strategies as hs
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import HealthCheck, given, settings

import difsci as ds

from ..helpers import assert_finite, assert_rejected

SETTINGS = settings(max_examples=3, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
EAGER = settings(SETTINGS, max_examples=30)

BAD_COUNTS = [-1, 0, 2.5, True, "5", None, math.nan]
BAD_KEYS = [0, None, "key", np.zeros(3), jnp.zeros(2), jnp.zeros((2,), jnp.int32)]


class Linear(eqx.Module):
    w: jax.Array


def _quadratic(target):
    return lambda model, batch, key: jnp.sum((model.w - target) ** 2)


# --- ds.train -----------------------------------------------------------------------------


@SETTINGS
@given(target=hs.lists(hs.floats(-5.0, 5.0), min_size=3, max_size=3), lr=hs.floats(0.01, 0.3))
def test_train_valid_problems_give_finite_models_and_losses(target, lr):
    result = ds.train(Linear(jnp.zeros(3)), _quadratic(jnp.asarray(target)), optax.adam(lr), jax.random.key(0),
                      num_steps=3, progress_bar=False)
    assert_finite((result.model, result.losses))
    assert result.step == 3 and result.losses.shape == (3,)


TRAIN_INVALID = {"num_steps": [-1, 2.5, True, "5", None, math.nan], "eval_every": BAD_COUNTS,
                 "checkpoint_every": BAD_COUNTS, "patience": [0, -2, 1.5], "key": BAD_KEYS}


@EAGER
@given(data=hs.data())
def test_train_invalid_arguments_name_the_argument(data):
    name = data.draw(hs.sampled_from(sorted(TRAIN_INVALID)))
    kwargs = {"key": jax.random.key(0), "num_steps": 2, name: data.draw(hs.sampled_from(TRAIN_INVALID[name]))}
    key = kwargs.pop("key")
    assert_rejected(lambda: ds.train(Linear(jnp.zeros(3)), _quadratic(1.0), optax.sgd(0.1), key,
                                     progress_bar=False, **kwargs), name)


@SETTINGS
@given(bad=hs.sampled_from([math.nan, math.inf]))
def test_train_loss_that_turns_nan_names_loss_fn(bad):
    loss = lambda model, batch, key: jnp.sum(model.w) * bad  # noqa: E731
    assert_rejected(lambda: ds.train(Linear(jnp.ones(3)), loss, optax.sgd(0.1), jax.random.key(0), num_steps=2,
                                     progress_bar=False).losses, "loss_fn", jitted=True)


# --- ds.nuts and ds.sample_log_density ----------------------------------------------------


def scale_model(loc, y):
    sigma = ds.sample("sigma", ds.HalfNormal(2.0))
    mu = ds.sample("mu", ds.Normal(loc, 3.0))
    ds.sample("y", ds.Normal(mu, sigma), obs=y)


TINY = dict(num_warmup=20, num_samples=20, num_chains=2, max_tree_depth=4)


def _quiet(run):
    # Chains of 20 draws are too short for the chain-health report; only finiteness is checked.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ds.ChainHealthWarning)
        warnings.filterwarnings("ignore", "ds.nuts: .* divergent transitions", RuntimeWarning)
        return run()


@pytest.mark.slow  # each example compiles the sampler anew (about 30 s)
@SETTINGS
@given(loc=hs.floats(-5.0, 5.0), y=hs.lists(hs.floats(-8.0, 8.0), min_size=4, max_size=4))
def test_nuts_valid_models_give_finite_draws_inside_the_support(loc, y):
    result = _quiet(lambda: ds.nuts(scale_model, jax.random.key(1), jnp.asarray(loc), jnp.asarray(y), **TINY))
    assert_finite(result.samples)
    assert result.samples["sigma"].shape == (2, 20) and bool(jnp.all(result.samples["sigma"] > 0))


NUTS_INVALID = {"num_warmup": [-1, 2.5, True, "5", None], "num_samples": BAD_COUNTS, "num_chains": BAD_COUNTS,
                "max_tree_depth": BAD_COUNTS, "target_accept": [0.0, 1.0, -0.5, 1.5, math.nan, "high", None, True],
                "chain_method": ["serial", None, 1], "max_init_tries": BAD_COUNTS, "key": BAD_KEYS,
                "init_params": [{"sigma": -1.0, "mu": 0.0}, {"sigma": 1.0, "mu": jnp.zeros(3)},
                                {"sigma": math.nan, "mu": 0.0}]}


@EAGER
@given(data=hs.data())
def test_nuts_invalid_arguments_name_the_argument(data):
    name = data.draw(hs.sampled_from(sorted(NUTS_INVALID)))
    bad = data.draw(hs.sampled_from(NUTS_INVALID[name]))
    kwargs = {**TINY, "key": jax.random.key(0), name: bad}
    key = kwargs.pop("key")
    # A bad start names the site it is for.
    expected = name if name != "init_params" else ("sigma" if not isinstance(bad["mu"], jax.Array) else "mu")
    assert_rejected(lambda: ds.nuts(scale_model, key, 0.0, jnp.zeros(4), **kwargs), expected)


DENSITY_INVALID = {"num_samples": BAD_COUNTS, "num_chains": BAD_COUNTS, "kernel": ["mala", None],
                   "num_integration_steps": BAD_COUNTS, "key": BAD_KEYS}


@EAGER
@given(data=hs.data())
def test_sample_log_density_invalid_arguments_name_the_argument(data):
    name = data.draw(hs.sampled_from(sorted(DENSITY_INVALID)))
    kwargs = {**TINY, "key": jax.random.key(0), name: data.draw(hs.sampled_from(DENSITY_INVALID[name]))}
    key = kwargs.pop("key")
    assert_rejected(lambda: ds.sample_log_density(lambda x: -jnp.sum(x**2), key, jnp.zeros(2), **kwargs), name)


# --- ds.vi.fit ----------------------------------------------------------------------------


def _guide():
    return ds.vi.AutoNormal(scale_model, jax.random.key(0), 0.0, jnp.zeros(4))


@SETTINGS
@given(loc=hs.floats(-5.0, 5.0), y=hs.lists(hs.floats(-8.0, 8.0), min_size=4, max_size=4), lr=hs.floats(1e-3, 0.1))
def test_vi_fit_valid_models_give_finite_guides_and_losses(loc, y, lr):
    result = ds.vi.fit(scale_model, _guide(), jax.random.key(2), jnp.asarray(loc), jnp.asarray(y), num_steps=3,
                       num_particles=2, optimizer=optax.adam(lr))
    assert_finite((result.guide, result.losses))
    assert result.losses.shape == (3,)


VI_INVALID = {"num_steps": BAD_COUNTS, "num_particles": BAD_COUNTS, "key": BAD_KEYS}


@EAGER
@given(data=hs.data())
def test_vi_fit_invalid_arguments_name_the_argument(data):
    name = data.draw(hs.sampled_from(sorted(VI_INVALID)))
    kwargs = {"key": jax.random.key(0), "num_steps": 2, name: data.draw(hs.sampled_from(VI_INVALID[name]))}
    key = kwargs.pop("key")
    assert_rejected(lambda: ds.vi.fit(scale_model, _guide(), key, 0.0, jnp.zeros(4), **kwargs), name)


@pytest.mark.parametrize("guide", [None, "normal", scale_model])
def test_vi_fit_needs_a_guide(guide):
    with pytest.raises(TypeError, match="`guide` must be a guide"):
        ds.vi.fit(scale_model, guide, jax.random.key(0), 0.0, jnp.zeros(4), num_steps=2)
