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
