import itertools
import os

import jax
import pytest

# Opt-in: DIFSCI_JAXTYPING=1 checks every jaxtyping-annotated function and Module of the four
# packages at run time (jaxtyping's import hook with beartype, a test extra). It must be
# installed before the packages are imported, hence here, at the top of the root conftest.
if os.environ.get("DIFSCI_JAXTYPING") == "1":
    from jaxtyping import install_import_hook

    install_import_hook(["difsci", "physics", "render", "models"], "beartype.beartype")

# Tests run in float64 so finite differences and closed forms can be compared tightly.
# (Strict dtype promotion would be stricter still, but optax's own updates mix int32 step
# counts with floats and fail under it, so the suite runs with standard promotion; the
# `strict_promotion` fixture, or DIFSCI_STRICT_PROMOTION=1 for every test, turns it on.)
jax.config.update("jax_enable_x64", True)

# The persistent compilation cache (on by default in ds.nuts and the CLI) stays off in tests:
# two xdist workers writing one entry could race, and a test must not depend on an earlier run.
# Tests of the cache itself set their own folder.
os.environ.setdefault("DIFSCI_NO_CACHE", "1")


@pytest.fixture
def strict_promotion():
    """Within the test, mixing dtypes (float32 with float64, ints with floats) is an error."""
    with jax.numpy_dtype_promotion("strict"):
        yield


if os.environ.get("DIFSCI_STRICT_PROMOTION") == "1":

    @pytest.fixture(autouse=True)
    def _strict_everywhere(strict_promotion):
        yield


@pytest.fixture
def key():
    return jax.random.key(0)


@pytest.fixture
def getkey():
    """A function returning a fresh, deterministic key on every call."""
    counter = itertools.count()
    base = jax.random.key(1234)
    return lambda: jax.random.fold_in(base, next(counter))
