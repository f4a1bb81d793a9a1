"""Aiming: Levenberg-Marquardt through the simulator, bounds, many targets, unreachable ones."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import physics

TREBUCHET = physics.Trebuchet()
AIM_MANY = eqx.filter_jit(jax.vmap(lambda target, wind: physics.aim(TREBUCHET, target, wind)))


def test_aims_many_targets_at_once_and_reports_unreachable_ones():
    targets = jnp.array([75.0, 30.0, 95.0, 400.0])
    winds = jnp.array([-3.0, 2.0, 0.0, 0.0])
    result = AIM_MANY(targets, winds)
    np.testing.assert_array_equal(result.reachable, [True, True, True, False])
    assert np.all(np.asarray(result.miss[:3]) < 0.01)
    # The settings found really land there, checked with an independent forward solve.
    for i in range(3):
        d = eqx.filter_jit(TREBUCHET.shoot)(result.counterweight_mass[i], result.release_angle[i], winds[i])
        np.testing.assert_allclose(d, targets[i], atol=0.01)
    lo, hi = physics._aim.DEFAULT_MASS_BOUNDS
    assert np.all((lo <= np.asarray(result.counterweight_mass)) & (np.asarray(result.counterweight_mass) <= hi))
    # The unreachable target gets the farthest shot the bounds allow, well short of it.
    assert float(result.distance[3]) < 200


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(target=75.0, counterweight_mass=90.0, release_angle=0.7), "nothing to adjust"),
        (dict(target=75.0, mass_bounds=(100.0, 50.0)), "mass_bounds"),
        (dict(target=75.0, tolerance=0.0), "tolerance"),
        (dict(target=-5.0), "target"),
        (dict(target=75.0, angle_bounds=(0.1, 2.0)), r"angle_bounds.*\(-pi/2, pi/2\)"),
        (dict(target=75.0, angle_bounds=(-2.0, 1.0)), r"angle_bounds.*\(-pi/2, pi/2\)"),
        (dict(target=75.0, mass_bounds=(-10.0, 100.0)), "mass_bounds.*positive"),
        (dict(target=75.0, mass_bounds=(10.0, float("inf"))), "mass_bounds.*finite"),
        (dict(target=75.0, tolerance=float("nan")), "tolerance.*> 0 and finite"),
    ],
)
def test_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        physics.aim(TREBUCHET, **kwargs)


def test_plot_shot_writes_png(tmp_path):
    shot = eqx.filter_jit(TREBUCHET.simulate)(physics.pounds(200.0), physics.degrees(45.0), 0.0, num_points=20)
    path = physics.plot_shot(TREBUCHET, shot, tmp_path / "shot.png")
    assert path.stat().st_size > 10_000
