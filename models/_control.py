"""Control policies trained by backpropagating through a simulated closed loop.

A policy is a small network from observed features of the state to a bounded force or
torque; the loss is the cost of the whole rollout, differentiated through diffrax. Each
optimiser step costs one rollout (an "episode"), so the number of steps is the number of
episodes needed.
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float, PRNGKeyArray

import difsci as ds


def pendulum_features(state: Float[Array, "2"]) -> Float[Array, "3"]:
    """A pendulum policy's inputs from its state (angle rad, rate rad/s): cos, sin, rate / 5."""
    return jnp.stack([jnp.cos(state[0]), jnp.sin(state[0]), state[1] / 5.0])


#: Scales of the cart-pole's angle and rate features. Balancing the default cart-pole takes
#: gains of tens of newtons per radian; with these scales they are weights of order one, and
#: training balances in a handful of episodes (unscaled, Adam needs many times more).
CARTPOLE_ANGLE_SCALE, CARTPOLE_RATE_SCALE = 16.0, 6.0


def cartpole_features(state: Float[Array, "4"]) -> Float[Array, "5"]:
    """(x m, cos angle, 16 sin angle, velocity m/s, 6 rate rad/s) of a cart-pole state."""
    return jnp.stack([state[0], jnp.cos(state[1]), CARTPOLE_ANGLE_SCALE * jnp.sin(state[1]), state[2],
                      CARTPOLE_RATE_SCALE * state[3]])


class Policy(eqx.Module):
    """`max_output * tanh(mlp(features(state)))`: a bounded force (N) or torque (N m)."""

    mlp: eqx.nn.MLP
    max_output: float = eqx.field(static=True)
    features: Callable = eqx.field(static=True)

    def __init__(self, num_features: int, features: Callable, max_output: float, hidden: int = 32, *, key: PRNGKeyArray):
        if max_output <= 0:
            raise ValueError(f"Policy: `max_output` must be > 0, got {max_output}")
        self.mlp = eqx.nn.MLP(num_features, "scalar", hidden, 2, activation=jnp.tanh, key=key)
        self.max_output = float(max_output)
        self.features = features

    def __call__(self, t, state):
        return self.max_output * jnp.tanh(self.mlp(self.features(state)))


def pendulum_swing_up_cost(states: Float[Array, "k 2"]) -> Float[Array, ""]:
    """Mean of (1 + cos angle) / 2 over the rollout: 0 upright, 1 hanging down."""
    return jnp.mean((1 + jnp.cos(states[:, 0])) / 2)


def cartpole_swing_up_cost(states: Float[Array, "k 4"]) -> Float[Array, ""]:
    """Mean of (1 - cos angle) / 2 over the rollout: 0 upright, 1 hanging down.

    No penalty on the cart's position: one (even 0.01 x^2) pulls training from a hanging
    start into the stationary point of doing nothing.
    """
    return jnp.mean((1 - jnp.cos(states[:, 1])) / 2)


def upright_at_end(states: Float[Array, "k n"], ts: Float[Array, " k"], *, angle_index: int = 1,
                   tolerance: float = 0.2, hold: float = 1.0, upright: float = 0.0) -> Array:
    """Whether the angle stays within `tolerance` (rad) of `upright` (mod 2 pi) for the last
    `hold` seconds of the rollout: the goal of a swing-up or balance task."""
    wrapped = jnp.angle(jnp.exp(1j * (states[:, angle_index] - upright)))
    return jnp.all(jnp.where(ts >= ts[-1] - hold, jnp.abs(wrapped) < tolerance, True))


def train_policy(
    system,
    policy: Policy,
    cost: Callable[[Array], Array],
    state0: Float[Array, " n"],
    ts: Float[Array, " k"],
    key: PRNGKeyArray,
    *,
    num_episodes: int = 50,
    learning_rate: float = 1e-2,
    progress_bar: bool = True,
    goal: Callable[[Array, Array], Array] | None = None,
) -> tuple[Policy, "ds.TrainResult"]:
    """Fit `policy` to minimise `cost(system.rollout(state0, ts, policy))` with Adam, one rollout a step.

    With `goal(states, ts) -> bool` (e.g. `upright_at_end`), the policy is checked after every
    step (a forward rollout, not a training episode): `result.evals` holds `(episodes, 0.0)`
    where the goal is met and `(episodes, 1.0)` where not; `episodes_to_goal(result)` reads it.
    """
    if num_episodes < 1:
        raise ValueError(f"train_policy: `num_episodes` must be >= 1, got {num_episodes}")

    def loss(policy, batch, key):
        return cost(system.rollout(state0, ts, policy))

    eval_fn = None
    if goal is not None:
        eval_fn = eqx.filter_jit(lambda p: jnp.where(goal(system.rollout(state0, ts, p), ts), 0.0, 1.0))
    result = ds.train(policy, loss, optax.adam(learning_rate), key, num_steps=num_episodes,
                      progress_bar=progress_bar, eval_fn=eval_fn, eval_every=1)
    return result.model, result


def episodes_to_goal(result: "ds.TrainResult") -> int | None:
    """The first number of training episodes after which `train_policy`'s goal was met, or None."""
    return next((int(step) for step, value in result.evals if value == 0.0), None)


def episode_cost(system, policy, cost, state0, ts) -> float:
    """`cost` of one closed-loop rollout of `system` under `policy` from `state0` over times `ts`."""
    return float(eqx.filter_jit(lambda p: cost(system.rollout(state0, ts, p)))(policy))


def plot_rollout(states: Float[Array, "k n"], ts: Float[Array, " k"], path, labels: tuple[str, ...], title: str):
    """Plot each state component against time to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    for i, label in enumerate(labels):
        ax.plot(ts, states[:, i], label=label)
    ax.set_xlabel("time (s)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


