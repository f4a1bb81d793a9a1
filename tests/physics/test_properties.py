"""Property tests over the simulators' constructors and entry points: random valid constants
and settings give finite results and finite gradients; random invalid ones (NaN, inf,
negative, zero, out of range, wrong shape, wrong dtype, wrong type) are a ValueError naming
the argument eagerly, and under `eqx.filter_jit` the same message on the error's first line.

One table per simulator (the kind of every argument); each jitted function is compiled once
and reused by every example. Compiling a simulator's gradient takes 15-60 s on a CPU, so in the
default run only the user-written ODE (the `AbstractODE` path Pendulum and CartPole share)
runs valid inputs through `jax.grad`; the built-in simulators' runs are `-m slow`. Their
constructors and settings are all checked here, eagerly and under jit.
"""

import math

import equinox as eqx
import hypothesis.strategies as hs
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import physics

from ..helpers import assert_finite, assert_rejected

SETTINGS = settings(max_examples=4, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
EAGER = settings(SETTINGS, max_examples=30)  # eager constructors cost microseconds

VALID = {
    "positive": hs.floats(0.3, 3.0),
    "nonnegative": hs.floats(0.0, 2.0),
    "real": hs.floats(-3.0, 3.0),
    "angle": hs.floats(0.2, 1.3),  # (0, pi/2) rad above the horizontal
    "release": hs.floats(-1.2, 1.2),  # (-pi/2, pi/2)
}
INVALID = {
    "positive": [math.nan, math.inf, -math.inf, 0.0, -1.5],
    "nonnegative": [math.nan, math.inf, -0.5],
    "real": [math.nan, math.inf, -math.inf],
    "angle": [math.nan, math.inf, 0.0, -0.3, 1.6],
    "release": [math.nan, math.inf, -1.6, 1.6],
}
# Not a real scalar: rejected whatever the argument's range (eagerly, and while tracing).
MALFORMED = ["1.0", None, True, 1.0 + 2.0j, np.ones(2), np.ones((1, 1)), np.array([1 + 1j])]

SIMULATORS = {
    "Pendulum": (physics.Pendulum, {"length": "positive", "mass": "positive", "damping": "nonnegative",
                                    "gravity": "positive", "drive_amplitude": "real", "drive_frequency": "real"}),
    "CartPole": (physics.CartPole, {"cart_mass": "positive", "pole_mass": "positive", "half_length": "positive",
                                    "gravity": "positive", "max_force": "positive"}),
    "Projectile": (physics.Projectile, {"mass": "positive", "radius": "positive", "drag_coefficient": "nonnegative",
                                        "air_density": "nonnegative", "gravity": "positive"}),
    "Launch": (physics.Launch, {"speed": "positive", "angle": "angle", "wind": "real", "height": "nonnegative"}),
    "ShotSettings": (physics.ShotSettings, {"counterweight_mass": "positive", "release_angle": "release",
                                            "wind": "real"}),
    # Every constant must be > 0 except the two drag factors (and the long arm must exceed the
    # pivot height: valid values here keep long_arm >= 0.3 > pivot_height's default scale).
    "Trebuchet": (physics.Trebuchet, {"projectile_radius": "positive", "arm_mass": "positive",
                                      "projectile_mass": "positive", "weight_inertia": "positive",
                                      "air_density": "nonnegative", "drag_coefficient": "nonnegative",
                                      "gravity": "positive", "short_arm": "positive", "sling_length": "positive"}),
}


@hs.composite
def valid_params(draw, table):
    return {name: draw(VALID[kind]) for name, kind in table.items()}


@hs.composite
def one_invalid(draw, table, bad_values):
    params = draw(valid_params(table))
    name = draw(hs.sampled_from(sorted(table)))
    params[name] = draw(hs.sampled_from(bad_values(table[name])))
    return params, name


def _arrays(params):
    return {k: jnp.asarray(v, float) for k, v in params.items()}


# One constructor per simulator under jit, traced over all its constants at once.
_JIT_MAKE = {key: eqx.filter_jit(lambda p, make=make: make(**p)) for key, (make, _) in SIMULATORS.items()}


@pytest.mark.parametrize("key", sorted(SIMULATORS))
@EAGER
@given(data=hs.data())
def test_valid_constants_are_kept_as_finite_float_scalars(key, data):
    make, table = SIMULATORS[key]
    params = data.draw(valid_params(table))
    obj = make(**params)
    for name, value in params.items():
        field = getattr(obj, name)
        assert field.shape == () and jnp.issubdtype(field.dtype, jnp.floating)
        np.testing.assert_allclose(field, value, rtol=1e-15)


@pytest.mark.parametrize("key", sorted(SIMULATORS))
@EAGER
@given(data=hs.data())
def test_invalid_values_name_the_argument(key, data):
    make, table = SIMULATORS[key]
    params, name = data.draw(one_invalid(table, lambda kind: INVALID[kind] + MALFORMED))
    assert_rejected(lambda: make(**params), name)


@pytest.mark.parametrize("key", sorted(SIMULATORS))
@SETTINGS
@given(data=hs.data())
def test_invalid_values_name_the_argument_under_jit(key, data):
    _, table = SIMULATORS[key]
    params, name = data.draw(one_invalid(table, lambda kind: INVALID[kind]))
    assert_rejected(lambda: _JIT_MAKE[key](_arrays(params)), name, jitted=True)


def test_long_arm_shorter_than_the_pivot_is_rejected():
    assert_rejected(lambda: physics.Trebuchet(long_arm=1.0, pivot_height=1.5), "long_arm")
    assert_rejected(lambda: _JIT_MAKE["Trebuchet"]({"long_arm": jnp.asarray(1.0), "pivot_height": jnp.asarray(1.5)}),
                    "long_arm", jitted=True)


# --- valid inputs run: finite results and finite gradients --------------------------------

TS = jnp.linspace(0.0, 0.5, 3)


@eqx.filter_jit
def _pendulum(p, y0):
    return jax.value_and_grad(lambda p: jnp.sum(physics.Pendulum(**p).rollout(y0, TS)[-1]))(p)


@eqx.filter_jit
def _cartpole(p, y0):
    def run(p):
        cartpole = physics.CartPole(**p)
        return jnp.sum(cartpole.rollout(y0, TS, lambda t, s: -s[1] - s[3])[-1])

    return jax.value_and_grad(run)(p)


@eqx.filter_jit
def _projectile(p, launch):
    return jax.value_and_grad(lambda p, u: physics.Projectile(**p).range(**u), argnums=(0, 1))(p, launch)


@pytest.mark.slow
@SETTINGS
@given(p=valid_params(SIMULATORS["Pendulum"][1]), y0=hs.tuples(VALID["real"], VALID["real"]))
def test_pendulum_valid_inputs_give_finite_values_and_gradients(p, y0):
    value, grad = _pendulum(_arrays(p), jnp.asarray(y0))
    assert_finite((value, grad))


@pytest.mark.slow
@SETTINGS
@given(p=valid_params(SIMULATORS["CartPole"][1]), y0=hs.tuples(*[hs.floats(-0.5, 0.5)] * 4))
def test_cartpole_valid_inputs_give_finite_values_and_gradients(p, y0):
    value, grad = _cartpole(_arrays(p), jnp.asarray(y0))
    assert_finite((value, grad))


@pytest.mark.slow
@SETTINGS
@given(p=valid_params(SIMULATORS["Projectile"][1]), u=valid_params(SIMULATORS["Launch"][1]))
def test_projectile_valid_inputs_give_finite_values_and_gradients(p, u):
    value, grads = _projectile(_arrays(p), _arrays(u))
    assert_finite((value, grads))
    assert value > 0


class Epidemic(physics.AbstractODE):
    """The README's user-written ODE (SIR model), with no checks of its own."""

    beta: float
    gamma: float
    settings: physics.SolverSettings = physics.SolverSettings()

    def initial_state(self, inputs):
        return jnp.array([0.99, 0.01, 0.0])

    def vector_field(self, t, y, inputs):
        s, i, _ = y
        return jnp.stack([-self.beta * s * i, self.beta * s * i - self.gamma * i, self.gamma * i])


@eqx.filter_jit
def _epidemic(rates, ts):
    return jax.value_and_grad(lambda r: physics.observe(Epidemic(r[0], r[1]), ts=ts)[:, 1].max())(rates)


EPI_TS = jnp.linspace(0.0, 20.0, 5)


@SETTINGS
@given(rates=hs.tuples(hs.floats(0.05, 1.0), hs.floats(0.05, 1.0)))
def test_user_ode_valid_inputs_give_finite_values_and_gradients(rates):
    value, grad = _epidemic(jnp.asarray(rates), EPI_TS)
    assert_finite((value, grad))


@SETTINGS
@given(bad=hs.sampled_from([math.nan, math.inf, -math.inf]), where=hs.integers(0, 4), sort=hs.booleans())
def test_user_ode_bad_times_name_ts(bad, where, sort):
    ts = np.asarray(EPI_TS).copy()
    if sort:  # a decreasing step instead of a non-finite time
        ts[where], ts[(where + 1) % 5] = ts[(where + 1) % 5], ts[where]
    else:
        ts[where] = bad
    assert_rejected(lambda: physics.observe(Epidemic(0.3, 0.1), ts=ts), "ts")
    assert_rejected(lambda: _epidemic(jnp.asarray([0.3, 0.1]), jnp.asarray(ts)), "ts", jitted=True)


@pytest.mark.parametrize("ts", [np.zeros((2, 2)), np.zeros(1), "0, 1", np.array([0.0, 1j])])
def test_user_ode_malformed_times_name_ts(ts):
    assert_rejected(lambda: physics.observe(Epidemic(0.3, 0.1), ts=ts), "ts")


@SETTINGS
@given(bad=hs.sampled_from([math.nan, math.inf]))
def test_user_ode_that_blows_up_is_an_error_not_nan(bad):
    # The user's ODE has no checks: a non-finite rate makes the solve fail, which must raise.
    with pytest.raises(eqx.EquinoxRuntimeError, match="solver|steps|failed"):
        jax.block_until_ready(_epidemic(jnp.asarray([bad, 0.1]), EPI_TS))


@pytest.mark.slow
@settings(SETTINGS, max_examples=10)
@given(mass_lb=hs.floats(150.0, 400.0), angle=hs.floats(0.5, 1.0), wind=hs.floats(-3.0, 3.0))
def test_trebuchet_valid_shots_give_finite_distances_and_gradients(mass_lb, angle, wind):
    value, grads = _shoot(jnp.asarray([physics.pounds(mass_lb), angle, wind]), physics.Trebuchet())
    assert_finite((value, grads))
    assert value > 0


@eqx.filter_jit
def _shoot(s, trebuchet):
    return jax.value_and_grad(lambda s, t: t.shoot(s[0], s[1], s[2]), argnums=(0, 1))(s, trebuchet)


# --- physics.aim --------------------------------------------------------------------------

TREBUCHET = physics.Trebuchet()
AIM_INVALID = {
    "target": [math.nan, math.inf, -math.inf, 0.0, -20.0, "75", None, 1j, np.ones(2)],
    "wind": [math.nan, math.inf, -math.inf, "0", None, 1j, np.ones(2)],
    "tolerance": [math.nan, math.inf, 0.0, -0.1, "0.01", None],
    "max_steps": [0, -3, 2.5, True, None],
    "mass_bounds": [(math.nan, 100.0), (10.0, math.inf), (100.0, 10.0), (-10.0, 100.0), (10.0,), "10,100", None],
    "angle_bounds": [(0.1, 2.0), (-2.0, 1.0), (1.0, 0.5), (math.nan, 1.0), (0.1,), None],
}


@settings(EAGER, max_examples=40)
@given(data=hs.data())
def test_aim_invalid_arguments_name_the_argument(data):
    name = data.draw(hs.sampled_from(sorted(AIM_INVALID)))
    kwargs = {"target": data.draw(hs.floats(30.0, 90.0)), name: data.draw(hs.sampled_from(AIM_INVALID[name]))}
    assert_rejected(lambda: physics.aim(TREBUCHET, **kwargs), name)


@pytest.mark.parametrize("trebuchet", [physics.Pendulum(), "trebuchet", None])
def test_aim_needs_a_trebuchet(trebuchet):
    with pytest.raises(TypeError, match="`trebuchet` must be a physics.Trebuchet"):
        physics.aim(trebuchet, 50.0)


_AIM = eqx.filter_jit(jax.vmap(lambda target, wind: physics.aim(TREBUCHET, target, wind)))


@pytest.mark.slow
@settings(SETTINGS, max_examples=3)
@given(targets=hs.lists(hs.floats(40.0, 90.0), min_size=2, max_size=2), wind=hs.floats(-3.0, 3.0))
def test_aim_valid_targets_are_reached_with_finite_settings(targets, wind):
    result = _AIM(jnp.asarray(targets), jnp.full(2, wind))
    assert_finite(result)
    assert bool(jnp.all(result.reachable))


@pytest.mark.slow  # compiles aim (about 100 s)
@SETTINGS
@given(target=hs.sampled_from([math.nan, math.inf, -5.0]))
def test_aim_invalid_traced_target_names_it(target):
    assert_rejected(lambda: _AIM(jnp.asarray([50.0, target]), jnp.zeros(2)), "target", jitted=True)
