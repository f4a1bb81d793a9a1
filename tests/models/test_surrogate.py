import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import models
import physics
from models._cli import main


def test_briefly_trained_aimer_beats_a_constant_guess(tmp_path, capsys):
    trebuchet = physics.Trebuchet()
    model, result = models.train_aimer(trebuchet, jax.random.key(0), num_steps=40, batch_size=16, hidden=8, learning_rate=2e-2, progress_bar=False)
    targets = jnp.array([30.0, 50.0, 70.0, 90.0, 40.0, 80.0])
    winds = jnp.array([0.0, -4.0, 3.0, 0.0, 5.0, -2.0])
    trained = models.evaluate_aimer(model, trebuchet, targets, winds)
    # A constant guess: the settings that land at about the middle target (60 m) without wind.
    mass, angle = physics.pounds(120.0), physics.degrees(40.0)
    middle = float(eqx.filter_jit(trebuchet.shoot)(mass, angle, 0.0))
    assert 45.0 < middle < 75.0
    miss_constant = jnp.abs(
        eqx.filter_jit(jax.vmap(lambda w: trebuchet.shoot(mass, angle, w)))(winds) - targets
    ) / targets * 100
    assert trained["mean_miss_percent"] < float(jnp.mean(miss_constant))
    assert trained["failed_shots"] == 0
    assert result.losses[-5:].mean() < result.losses[:5].mean()
    mass, angle = jax.vmap(model)(targets, winds)
    lo, hi = model.mass_bounds
    assert np.all((np.asarray(mass) >= lo) & (np.asarray(mass) <= hi))

    # Saved, loaded by the CLI, and used to aim.
    path = tmp_path / "aimer.eqx"
    eqx.tree_serialise_leaves(path, model)
    assert main(["trebuchet", "aim", "--target", "70", "--wind", "3", "--network", str(path), "--hidden", "8", "--json"]) in (0, 1)
    out = capsys.readouterr().out
    import json

    got = json.loads(out)
    m, a = model(jnp.asarray(70.0), jnp.asarray(3.0))
    np.testing.assert_allclose(got["counterweight_mass"], m, rtol=1e-12)
    np.testing.assert_allclose(got["release_angle"], a, rtol=1e-12)
    assert main(["trebuchet", "aim", "--target", "70", "--network", str(path), "--hidden", "16"]) == 2


def test_aimer_bad_bounds(key):
    with pytest.raises(ValueError, match="bounds"):
        models.TrebuchetAimer(mass_bounds=(10.0, 5.0), key=key)


@pytest.mark.slow
def test_levenberg_marquardt_refinement_lowers_the_loss():
    trebuchet = physics.Trebuchet()
    model = models.TrebuchetAimer(8, key=jax.random.key(3))
    refined, history = models.refine_aimer(model, trebuchet, jax.random.key(4), num_points=24, num_iterations=4,
                                           progress_bar=False)
    assert len(history) == 5
    assert all(b <= a for a, b in zip(history, history[1:]))
    assert history[-1] < 0.5 * history[0]
    with pytest.raises(ValueError, match="damping"):
        models.refine_aimer(model, trebuchet, jax.random.key(4), damping=0.0)
