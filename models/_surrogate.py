"""A network that aims the trebuchet in one forward pass, trained through the simulator.

The Flux "differentiable programming vs RL" set-up in SI units: inputs are the target
distance (20-100 m) and the wind (~ Normal(0, 5) m/s), normalised; outputs are the release
angle and the counterweight through bounded (sigmoid) maps. The loss is the squared relative
miss of the simulated shot, differentiated through `physics.Trebuchet` by diffrax.
"""

import time

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float, PRNGKeyArray

import difsci as ds
import physics

TARGETS = (20.0, 100.0)  # m
WIND_SCALE = 5.0  # m/s


class TrebuchetAimer(eqx.Module):
    """(target m, wind m/s) -> (counterweight kg, release angle rad), each within its bounds."""

    mlp: eqx.nn.MLP
    mass_bounds: tuple[float, float] = eqx.field(static=True)
    angle_bounds: tuple[float, float] = eqx.field(static=True)

    def __init__(
        self,
        hidden: int = 32,
        depth: int = 2,
        mass_bounds: tuple[float, float] = physics._aim.DEFAULT_MASS_BOUNDS,
        angle_bounds: tuple[float, float] = physics._aim.DEFAULT_ANGLE_BOUNDS,
        *,
        key: PRNGKeyArray,
    ):
        if not (mass_bounds[0] < mass_bounds[1] and angle_bounds[0] < angle_bounds[1]):
            raise ValueError("TrebuchetAimer: bounds must be (low, high) with low < high")
        self.mlp = eqx.nn.MLP(2, 2, hidden, depth, activation=jax.nn.tanh, key=key)
        self.mass_bounds = tuple(float(b) for b in mass_bounds)
        self.angle_bounds = tuple(float(b) for b in angle_bounds)

    def __call__(self, target: Float[Array, ""], wind: Float[Array, ""]) -> tuple[Array, Array]:
        mid, half = (TARGETS[0] + TARGETS[1]) / 2, (TARGETS[1] - TARGETS[0]) / 2
        o = self.mlp(jnp.stack([(target - mid) / half, wind / WIND_SCALE]))
        mass = self.mass_bounds[0] + (self.mass_bounds[1] - self.mass_bounds[0]) * jax.nn.sigmoid(o[0])
        angle = self.angle_bounds[0] + (self.angle_bounds[1] - self.angle_bounds[0]) * jax.nn.sigmoid(o[1])
        return mass, angle


def sample_targets(key: PRNGKeyArray, batch_size: int) -> tuple[Float[Array, " b"], Float[Array, " b"]]:
    """Targets ~ Uniform(20, 100) m and winds ~ Normal(0, 5) m/s (the Flux study's distribution)."""
    kt, kw = jax.random.split(key)
    return jax.random.uniform(kt, (batch_size,), minval=TARGETS[0], maxval=TARGETS[1]), WIND_SCALE * jax.random.normal(kw, (batch_size,))


def relative_miss(model: TrebuchetAimer, trebuchet: physics.Trebuchet, targets, winds, *,
                  throw: bool = True) -> Float[Array, " b"]:
    """(distance - target) / target for each aimed shot; with `throw=False` a shot the
    simulator cannot make is NaN instead of an error."""
    mass, angle = jax.vmap(model)(targets, winds)
    distance = jax.vmap(lambda m, r, w: trebuchet.shoot(m, r, w, throw=throw))(mass, angle, winds)
    return (distance - targets) / targets


def _training_loss(model, trebuchet, targets, winds):
    # A failed shot (an extreme wind early in training) counts as a 100 % miss with no
    # gradient, rather than ending the run; the where on both sides keeps NaN out of the grad.
    miss = relative_miss(model, trebuchet, targets, winds, throw=False)
    ok = jnp.isfinite(miss)
    return jnp.mean(jnp.where(ok, jnp.where(ok, miss, 0.0) ** 2, 1.0))


def train_aimer(
    trebuchet: physics.Trebuchet,
    key: PRNGKeyArray,
    *,
    num_steps: int = 1000,
    batch_size: int = 64,
    learning_rate: float = 3e-3,
    hidden: int = 32,
    checkpoint_path=None,
    progress_bar: bool = True,
    stop_after: int | None = None,
) -> tuple[TrebuchetAimer, "ds.TrainResult"]:
    """Train a `TrebuchetAimer` through `trebuchet` with Adam on the mean squared relative miss.

    The batch of shots is split over all devices (data parallel), checkpoints resume exactly.
    """
    init_key, train_key = jax.random.split(key)
    model = TrebuchetAimer(hidden, key=init_key)

    def loss(model, batch, key):
        return _training_loss(model, trebuchet, *batch)

    schedule = optax.cosine_decay_schedule(learning_rate, max(num_steps, 1), alpha=0.05)
    result = ds.train(
        model, loss, optax.adam(schedule), train_key, num_steps=num_steps,
        batch_fn=lambda k: sample_targets(k, batch_size),
        checkpoint_path=checkpoint_path, checkpoint_every=50, progress_bar=progress_bar, stop_after=stop_after,
    )
    return result.model, result


def evaluate_aimer(model: TrebuchetAimer, trebuchet: physics.Trebuchet, targets, winds, reachable=None) -> dict:
    """Miss statistics (percent of the target) of `model` on the given (target, wind) pairs,
    and its time per aim (batched, compiled, after warm-up). With a boolean `reachable` mask
    (e.g. `physics.aim(...).reachable`) the statistics also cover only the pairs some setting
    within the bounds can hit. A shot the simulator cannot make with the aimed settings (say,
    the projectile never lands) counts as a 100 % miss and is counted in `failed_shots`."""
    misses = jnp.abs(eqx.filter_jit(lambda *a: relative_miss(*a, throw=False))(model, trebuchet, targets, winds)) * 100
    failed = ~jnp.isfinite(misses)
    misses = jnp.where(failed, 100.0, misses)
    extra = {"failed_shots": int(jnp.sum(failed))}
    if reachable is not None:
        hit = misses[jnp.asarray(reachable, bool)]
        extra = {"reachable_mean_miss_percent": float(jnp.mean(hit)),
                 "reachable_p95_miss_percent": float(jnp.percentile(hit, 95)),
                 "reachable_fraction": float(jnp.mean(jnp.asarray(reachable, float)))}
    aim_batch = eqx.filter_jit(lambda m, t, w: jax.vmap(m)(t, w))
    jax.block_until_ready(aim_batch(model, targets, winds))
    start = time.perf_counter()
    repeats = 20
    for _ in range(repeats):
        jax.block_until_ready(aim_batch(model, targets, winds))
    per_aim = (time.perf_counter() - start) / repeats / targets.shape[0]
    return {
        "mean_miss_percent": float(jnp.mean(misses)),
        "p95_miss_percent": float(jnp.percentile(misses, 95)),
        "network_seconds_per_aim": per_aim,
        **extra,
    }


def refine_aimer(
    model: TrebuchetAimer,
    trebuchet: physics.Trebuchet,
    key: PRNGKeyArray,
    *,
    num_points: int = 1024,
    num_iterations: int = 30,
    damping: float = 1e-3,
    huber: float = 0.02,
    progress_bar: bool = True,
) -> tuple[TrebuchetAimer, list[float]]:
    """Fit the aimer's weights to `num_points` drawn (target, wind) pairs by Levenberg-Marquardt.

    The residuals are the relative misses; their Jacobian is the chain rule of each shot's
    2-vector of sensitivities (to counterweight and angle, one batched simulator gradient)
    and the network's Jacobian, so an iteration costs about one Adam step on the same batch
    but converges far faster near a solution. Damping adapts (x0.3 on success, x10 on failure).
    Residuals beyond `huber` (relative) are down-weighted (iteratively reweighted, Huber), so
    the few drawn targets that no setting within the bounds can reach (a strong headwind at
    100 m) do not pull the fit away from the reachable ones.
    Returns the refined model and the loss after each iteration.
    """
    if num_points < 1 or num_iterations < 0 or not damping > 0:
        raise ValueError("refine_aimer: `num_points` >= 1, `num_iterations` >= 0 and `damping` > 0 are required")
    from jax.flatten_util import ravel_pytree

    targets, winds = sample_targets(key, num_points)
    params, static = eqx.partition(model, eqx.is_inexact_array)
    flat, unravel = ravel_pytree(params)

    def settings(flat):
        net = eqx.combine(unravel(flat), static)
        return jax.vmap(net)(targets, winds)

    def miss(mass, angle, target, wind):
        return (trebuchet.shoot(mass, angle, wind, throw=False) - target) / target

    def masked(r):
        ok = jnp.isfinite(r)
        return jnp.where(ok, r, 0.0), ok

    @jax.jit
    def linearise(flat):
        mass, angle = settings(flat)
        r, (d_mass, d_angle) = jax.vmap(jax.value_and_grad(miss, argnums=(0, 1)))(mass, angle, targets, winds)
        r, ok = masked(r)
        j_mass, j_angle = jax.jacrev(settings)(flat)
        jac = jnp.where(ok[:, None], jnp.where(ok, d_mass, 0.0)[:, None] * j_mass
                        + jnp.where(ok, d_angle, 0.0)[:, None] * j_angle, 0.0)
        weight = jnp.sqrt(jnp.minimum(1.0, huber / jnp.maximum(jnp.abs(r), 1e-12)))
        return weight * r, weight[:, None] * jac

    @jax.jit
    def loss(flat):  # the Huber loss of the relative misses (failed shots count as 100 %)
        mass, angle = settings(flat)
        r = jnp.abs(jax.vmap(miss)(mass, angle, targets, winds))
        r = jnp.where(jnp.isfinite(r), r, 1.0)
        return jnp.mean(jnp.where(r < huber, r**2, huber * (2 * r - huber)))

    @jax.jit
    def proposal(flat, r, jac, lam):
        gram = jac.T @ jac
        lhs = gram + lam * (jnp.diag(jnp.diag(gram)) + 1e-9 * jnp.eye(gram.shape[0]))
        return flat + jnp.linalg.solve(lhs, -jac.T @ r)

    history = [float(loss(flat))]
    lam = damping
    from tqdm.auto import trange

    for _ in trange(num_iterations, desc="Levenberg-Marquardt", disable=not progress_bar):
        r, jac = linearise(flat)
        for _attempt in range(8):
            candidate = proposal(flat, r, jac, lam)
            value = float(loss(candidate))
            if value < history[-1]:
                flat, lam = candidate, max(lam * 0.3, 1e-9)
                break
            lam *= 10.0
        history.append(min(value, history[-1]))
    return eqx.combine(unravel(flat), static), history
