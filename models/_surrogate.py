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


def evaluate_aimer(model: TrebuchetAimer, trebuchet: physics.Trebuchet, targets, winds) -> dict:
    """Miss statistics (percent of the target) of `model` on the given (target, wind) pairs,
    and its time per aim (batched, compiled, after warm-up)."""
    misses = jnp.abs(eqx.filter_jit(relative_miss)(model, trebuchet, targets, winds)) * 100
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
    }
