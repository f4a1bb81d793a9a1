"""What a distribution's parameters may be.

Each family declares `arg_constraints = {"scale": positive, ...}` once; the base class
(`AbstractDistribution._params`) promotes, broadcasts and checks the parameters against it,
with errors worded from `allowed`. Unlike a support (`difsci._constraints`), a parameter
constraint carries no bijection, and it rejects infinities unless it says otherwise: an
infinite scale or concentration is never a usable distribution (`Normal(0, inf)` drew
+-inf, `Beta(inf, 1)` NaN).
"""

import dataclasses
from collections.abc import Callable

import jax.numpy as jnp
from jaxtyping import Array, Bool


@dataclasses.dataclass(frozen=True)
class ArgConstraint:
    """`ok(x)` says, per batch element, whether `x` is allowed; `allowed` words it for errors.

    `event_dim` trailing axes belong to one parameter value (1 for a vector of logits): they
    are kept when the parameters broadcast, and `ok` reduces over them.
    """

    ok: Callable[[Array], Bool[Array, "..."]]
    allowed: str
    event_dim: int = 0


def _finite(x):
    return jnp.isfinite(x)


def _categorical_probs_ok(p):
    # A float32 softmax sums to 1 only to about 1e-7 per category; allow for that.
    tol = (1e-4 if p.dtype == jnp.float32 else 1e-8) * p.shape[-1]
    return jnp.all(p >= 0, -1) & (jnp.abs(jnp.sum(p, -1) - 1) <= tol)


def _scale_tril_ok(x):
    diag = jnp.diagonal(x, axis1=-2, axis2=-1)
    lower = jnp.all(jnp.triu(x, k=1) == 0, (-2, -1))
    return lower & jnp.all(diag > 0, -1) & jnp.all(jnp.isfinite(x), (-2, -1))


real = ArgConstraint(_finite, "finite (no NaN or inf)")
not_nan = ArgConstraint(lambda x: ~jnp.isnan(x), "a number or +-inf, not NaN")
positive = ArgConstraint(lambda x: (x > 0) & _finite(x), "> 0 and finite")
nonnegative = ArgConstraint(lambda x: (x >= 0) & _finite(x), ">= 0 and finite")
nonnegative_integer = ArgConstraint(lambda x: (x >= 0) & _finite(x) & (jnp.floor(x) == x), "a non-negative integer")
unit_interval = ArgConstraint(lambda x: (x >= 0) & (x <= 1), "in [0, 1]")
half_open_unit_interval = ArgConstraint(lambda x: (x >= 0) & (x < 1), "in [0, 1)")
open_closed_unit_interval = ArgConstraint(lambda x: (x > 0) & (x <= 1), "in (0, 1]")
real_vector = ArgConstraint(lambda x: jnp.all(_finite(x), -1), "finite (no NaN or inf)", event_dim=1)
positive_vector = ArgConstraint(lambda x: jnp.all((x > 0) & _finite(x), -1), "> 0 and finite", event_dim=1)
categorical_probs = ArgConstraint(_categorical_probs_ok, ">= 0 and sum to 1 along the last axis", event_dim=1)
categorical_logits = ArgConstraint(
    lambda x: ~jnp.any(jnp.isnan(x), -1) & ~jnp.all(jnp.isneginf(x), -1),
    "free of NaN, and not all -inf along the last axis",
    event_dim=1,
)
lower_cholesky = ArgConstraint(_scale_tril_ok, "lower-triangular with a positive diagonal, all finite", event_dim=2)
