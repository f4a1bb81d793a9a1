import itertools

import jax
import pytest

# Tests run in float64 so finite differences and closed forms can be compared tightly.
# (Strict dtype promotion would be stricter still, but optax's own updates mix int32 step
# counts with floats and fail under it, so the suite runs with standard promotion.)
jax.config.update("jax_enable_x64", True)


@pytest.fixture
def key():
    return jax.random.key(0)


@pytest.fixture
def getkey():
    """A function returning a fresh, deterministic key on every call."""
    counter = itertools.count()
    base = jax.random.key(1234)
    return lambda: jax.random.fold_in(base, next(counter))
