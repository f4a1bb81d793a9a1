"""Train a torque-limited pendulum policy by backpropagating through the simulated closed loop.

    python examples/pendulum_control.py [--episodes 50] [--out control-out]

Reports the swing-up cost (0 = upright throughout, 1 = hanging throughout) before and after
training, the number of episodes (rollouts) used, and plots the controlled trajectory.
"""

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import models
import physics


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--max-torque", type=float, default=5.0, help="N m (m g L is 9.8 N m: a swing-up must pump)")
    parser.add_argument("--horizon", type=float, default=6.0, help="seconds")
    parser.add_argument("--out", default="control-out")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pendulum = physics.Pendulum(damping=0.05)
    ts = jnp.linspace(0.0, args.horizon, 61)
    start = jnp.array([0.1, 0.0])
    policy = models.Policy(3, models.pendulum_features, args.max_torque, key=jax.random.key(args.seed))
    before = models.episode_cost(pendulum, policy, models.pendulum_swing_up_cost, start, ts)
    trained, result = models.train_policy(
        pendulum, policy, models.pendulum_swing_up_cost, start, ts, jax.random.key(args.seed + 1),
        num_episodes=args.episodes, learning_rate=3e-2,
    )
    after = models.episode_cost(pendulum, trained, models.pendulum_swing_up_cost, start, ts)
    states = np.asarray(pendulum.rollout(start, ts, trained))
    png = models.plot_rollout(states, np.asarray(ts), out / "pendulum_control.png", ("angle (rad, pi = upright)", "rate (rad/s)"),
                              f"after {result.step} episodes: cost {after:.3f} (untrained {before:.3f})")
    summary = {"cost_untrained": before, "cost_trained": after, "episodes": result.step, "png": str(png)}
    print(summary)
    return summary


if __name__ == "__main__":
    from models._cli import enable_compilation_cache

    enable_compilation_cache()  # DIFSCI_NO_CACHE=1 turns it off
    main()
