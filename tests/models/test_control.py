import jax
import jax.numpy as jnp
import pytest

import models
import physics


def test_trained_pendulum_policy_beats_the_untrained_one(tmp_path):
    import runpy
    from pathlib import Path

    main = runpy.run_path(str(Path(__file__).parents[2] / "examples" / "pendulum_control.py"))["main"]
    out = main(["--episodes", "8", "--horizon", "3", "--out", str(tmp_path)])
    assert out["cost_trained"] < out["cost_untrained"] - 0.02
    assert out["episodes"] == 8 and (tmp_path / "pendulum_control.png").stat().st_size > 5000


def test_policy_is_bounded_and_validated(key):
    policy = models.Policy(5, models.cartpole_features, 10.0, key=key)
    forces = jax.vmap(lambda s: policy(0.0, s))(100 * jax.random.normal(key, (50, 4)))
    assert float(jnp.abs(forces).max()) <= 10.0
    cost = models.cartpole_swing_up_cost(physics.CartPole().rollout(jnp.array([0.0, 3.0, 0.0, 0.0]), jnp.linspace(0, 0.5, 6), policy))
    assert 0.0 <= float(cost) <= 1.5
    with pytest.raises(ValueError, match="max_output"):
        models.Policy(3, models.pendulum_features, 0.0, key=key)


def _cartpole_example():
    import runpy
    from pathlib import Path

    return runpy.run_path(str(Path(__file__).parents[2] / "examples" / "cartpole_control.py"))["main"]


def test_cartpole_balance_is_learned_in_a_handful_of_episodes(tmp_path):
    out = _cartpole_example()(["--task", "balance", "--episodes", "10", "--out", str(tmp_path)])["balance"]
    assert out["episodes_to_goal"] is not None and out["episodes_to_goal"] <= 10
    assert out["goal_met_at_end"] and out["cost_trained"] < 0.1 * out["cost_untrained"]
    assert (tmp_path / "cartpole_control.png").stat().st_size > 5000


@pytest.mark.slow
def test_cartpole_swing_up_is_learned_within_fifty_episodes(tmp_path):
    out = _cartpole_example()(["--task", "swing-up", "--episodes", "50", "--out", str(tmp_path)])["swing-up"]
    assert out["episodes_to_goal"] is not None and out["episodes_to_goal"] <= 50
    assert out["goal_met_at_end"] and out["cost_trained"] < 0.5 * out["cost_untrained"]


def test_upright_at_end_and_episodes_to_goal():
    ts = jnp.linspace(0.0, 3.0, 31)
    angle = jnp.where(ts < 2.0, 3.0, 0.1)
    states = jnp.stack([jnp.zeros_like(ts), angle], axis=1)
    assert bool(models.upright_at_end(states, ts))
    assert not bool(models.upright_at_end(states, ts, hold=1.5))
    assert not bool(models.upright_at_end(states, ts, tolerance=0.05))
    # Angles are judged modulo 2 pi: a full turn is upright again.
    assert bool(models.upright_at_end(states.at[:, 1].add(2 * jnp.pi), ts))

    class Result:
        evals = ((1, 1.0), (2, 1.0), (3, 0.0), (4, 1.0), (5, 0.0))

    assert models.episodes_to_goal(Result) == 3
    Result.evals = ((1, 1.0),)
    assert models.episodes_to_goal(Result) is None


def test_bad_training_arguments(key, tmp_path):
    policy = models.Policy(5, models.cartpole_features, 10.0, key=key)
    with pytest.raises(ValueError, match="num_episodes"):
        models.train_policy(physics.CartPole(), policy, models.cartpole_swing_up_cost, jnp.zeros(4), jnp.linspace(0, 1, 3), key, num_episodes=0)
    with pytest.raises(SystemExit):
        _cartpole_example()(["--horizon", "0.5", "--out", str(tmp_path)])
