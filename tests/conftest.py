import itertools

import jax
import pytest

# Tests run in float64 so finite differences and closed forms can be compared tightly,
# and with strict dtype promotion so an accidental float32/float64 or int/float mix fails.
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")


@pytest.fixture
def key():
    return jax.random.key(0)


@pytest.fixture
def getkey():
    """A function returning a fresh, deterministic key on every call."""
    counter = itertools.count()
    base = jax.random.key(1234)
    return lambda: jax.random.fold_in(base, next(counter))
