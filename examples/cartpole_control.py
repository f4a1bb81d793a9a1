"""Train a neural cart-pole policy by backpropagating through the simulated closed loop:
balance from a tilted start, and swing up from hanging down and balance.

    python examples/cartpole_control.py [--episodes 50] [--task both|balance|swing-up] [--out control-out]

Each training episode is one 5 s rollout of the closed loop (diffrax, adaptive Tsit5) and one
Adam step on its gradient. After every step the policy is checked (a forward rollout, not an
episode): the goal is the pole within 0.2 rad of upright for the whole last second. Prints the
episodes needed and the cost before and after, and plots the controlled rollouts.
"""

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import models
import physics

TASKS = {
    # name: (start state (x m, angle rad from upright, v m/s, rate rad/s), seed)
    "balance": ((0.0, 0.3, 0.0, 0.0), 1),
    "swing-up": ((0.0, float(np.pi), 0.0, 0.0), 0),
}


def train_task(name: str, episodes: int, horizon: float, learning_rate: float, seed_offset: int = 0) -> dict:
    start, seed = TASKS[name]
    seed += seed_offset
    cartpole = physics.CartPole(settings=physics.SolverSettings(rtol=1e-6, atol=1e-6, max_steps=4096))
    ts = jnp.linspace(0.0, horizon, int(round(horizon * 20)) + 1)
    start = jnp.asarray(start)
    policy = models.Policy(5, models.cartpole_features, float(cartpole.max_force), key=jax.random.key(seed))
    before = models.episode_cost(cartpole, policy, models.cartpole_swing_up_cost, start, ts)
    trained, result = models.train_policy(
        cartpole, policy, models.cartpole_swing_up_cost, start, ts, jax.random.key(seed + 100),
        num_episodes=episodes, learning_rate=learning_rate, goal=models.upright_at_end, progress_bar=False,
    )
    states = np.asarray(cartpole.rollout(start, ts, trained))
    return {
        "episodes_to_goal": models.episodes_to_goal(result),
        "goal_met_at_end": bool(models.upright_at_end(jnp.asarray(states), ts)),
        "cost_untrained": before,
        "cost_trained": models.episode_cost(cartpole, trained, models.cartpole_swing_up_cost, start, ts),
        "max_cart_travel_m": float(np.abs(states[:, 0]).max()),
        "training_seconds": result.seconds,
        "states": states,
        "ts": np.asarray(ts),
    }


def plot(path: Path, results: dict) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 3.2), squeeze=False)
    for ax, (name, r) in zip(axes[0], results.items()):
        angle = np.angle(np.exp(1j * r["states"][:, 1]))
        ax.plot(r["ts"], angle, label="pole angle from upright (rad)")
        ax.plot(r["ts"], r["states"][:, 0], label="cart position (m)")
        ax.axhspan(-0.2, 0.2, color="green", alpha=0.12, lw=0)
        reached = r["episodes_to_goal"]
        ax.set_title(f"{name}: goal after {reached} episodes" if reached else f"{name}: goal not reached", fontsize=9)
        ax.set_xlabel("time (s)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=50, help="training rollouts per task")
    parser.add_argument("--task", choices=["both", *TASKS], default="both")
    parser.add_argument("--horizon", type=float, default=5.0, help="seconds per rollout")
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0, help="added to each task's network seed")
    parser.add_argument("--out", default="control-out")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes must be >= 1, got {args.episodes}")
    if not args.horizon > 1.0:
        parser.error(f"--horizon must be > 1 s (the goal is judged on the last second), got {args.horizon}")
    jax.config.update("jax_enable_x64", True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = list(TASKS) if args.task == "both" else [args.task]
    results = {name: train_task(name, args.episodes, args.horizon, args.learning_rate, args.seed) for name in names}
    summary = {name: {k: v for k, v in r.items() if k not in ("states", "ts")} for name, r in results.items()}
    summary["png"] = str(plot(out / "cartpole_control.png", results))
    print(summary)
    return summary


if __name__ == "__main__":
    from models._cli import enable_compilation_cache

    enable_compilation_cache()  # DIFSCI_NO_CACHE=1 turns it off
    main()
