"""Every simulator through one interface: observe, simulate, events, gradients in every mode."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import physics

TIGHT = dict(rtol=1e-10, atol=1e-10, max_steps=4096)


class Decay(physics.AbstractODE):
    """A user's model in a few lines: dy/dt = -rate y, stopped where y falls to `level`."""

    rate: jax.Array
    level: float
    settings: physics.SolverSettings

    def initial_state(self, inputs):
        return jnp.array([inputs])

    def vector_field(self, t, y, inputs):
        return -self.rate * y

    def event(self, t, y, inputs):
        return y[0] - self.level


def _decay(theta, mode):
    sim = Decay(theta, 0.5, physics.SolverSettings(mode=mode, **TIGHT))
    return physics.observe(sim, 2.0, observation=lambda tr, y0: jnp.stack([tr.event_times[0], tr.event_states[0, 0]]))


def _projectile(theta, mode):
    sim = physics.Projectile(settings=physics.SolverSettings(mode=mode, **TIGHT))
    launch = physics.Launch(theta, 0.7, 1.0, 2.0)
    return physics.observe(sim, launch, observation=lambda tr, u: jnp.stack([sim.observation(tr, u), tr.event_times[0]]))


TS = jnp.linspace(0.0, 1.5, 4)


def _pendulum(theta, mode):
    sim = physics.Pendulum(damping=theta, drive_amplitude=0.3, settings=physics.SolverSettings(mode=mode, **TIGHT))
    return physics.observe(sim, physics.ClosedLoop(jnp.array([1.0, 0.0]), lambda t, y: -0.2 * y[0]), ts=TS)[-1]


def _cartpole(theta, mode):
    sim = physics.CartPole(pole_mass=theta, settings=physics.SolverSettings(mode=mode, **TIGHT))
    return physics.observe(sim, physics.ClosedLoop(jnp.array([0.0, 0.3, 0.0, 0.0]), lambda t, y: -2.0 * y[1]), ts=TS)[-1]


def _trebuchet(theta, mode):
    sim = physics.Trebuchet(settings=physics.SolverSettings(mode=mode, rtol=1e-10, atol=1e-10, max_steps=2048))
    shot = physics.ShotSettings(physics.pounds(theta), physics.degrees(40.0), 1.0)
    return physics.observe(sim, shot, observation=lambda tr, u: jnp.concatenate([sim.observation(tr, u)[None], tr.event_times]))


SIMULATORS = {"decay": (_decay, 0.8), "projectile": (_projectile, 25.0), "pendulum": (_pendulum, 0.3),
              "cartpole": (_cartpole, 0.2), "trebuchet": (_trebuchet, 180.0)}
# Which transforms each mode offers: diffrax's RecursiveCheckpointAdjoint is reverse only,
# ForwardMode forward only; DirectAdjoint and the forward-sensitivity rule offer both.
MODES = {"recursive_checkpoint": ("rev",), "forward": ("fwd",), "direct": ("rev", "fwd"), "forward_sensitivities": ("rev", "fwd")}
# Compiling a solve takes seconds: the default suite checks the user's template with the
# forward-sensitivity rule (both transforms) and two built-in simulators in the mode "auto"
# picks for them; the slow suite (-m slow) checks every simulator in every mode.
DEFAULT = {("decay", "forward_sensitivities"), ("projectile", "forward_sensitivities"), ("pendulum", "recursive_checkpoint")}
CASES = [
    pytest.param(name, mode, marks=[] if (name, mode) in DEFAULT else [pytest.mark.slow])
    for name in SIMULATORS for mode in MODES
]


@pytest.mark.parametrize("name, mode", CASES)
def test_derivatives_against_finite_differences_in_every_mode(name, mode):
    f, theta = SIMULATORS[name]
    h = 1e-5 * theta
    plus, minus = jax.jit(jax.vmap(lambda x: f(x, mode)))(jnp.array([theta + h, theta - h]))
    fd = (np.asarray(plus) - np.asarray(minus)) / (2 * h)
    if name == "decay":  # the event time ln(y0 / level) / rate and its derivative, in closed form
        np.testing.assert_allclose(plus[0], math.log(4.0) / (theta + h), rtol=1e-9)
        np.testing.assert_allclose(fd, [-math.log(4.0) / theta**2, 0.0], rtol=1e-6, atol=1e-8)
    for transform in MODES[mode]:
        jac = jax.jacrev if transform == "rev" else jax.jacfwd
        np.testing.assert_allclose(jax.jit(jac(lambda x: f(x, mode)))(theta), fd, rtol=2e-5, atol=1e-8, err_msg=transform)


def test_user_model_batches_and_saves_times():
    sim = Decay(jnp.asarray(0.8), 0.1, physics.SolverSettings(**TIGHT))
    ts = jnp.linspace(0.0, 1.0, 5)
    trajectory = eqx.filter_jit(jax.vmap(lambda y0: physics.simulate(sim, y0, ts=ts)))(jnp.array([1.0, 3.0]))
    np.testing.assert_allclose(trajectory.ys[..., 0], jnp.array([[1.0], [3.0]]) * jnp.exp(-0.8 * ts), rtol=1e-8)
    np.testing.assert_allclose(trajectory.event_times[:, 0], jnp.log(jnp.array([10.0, 30.0])) / 0.8, rtol=1e-8)
    assert trajectory.failure.tolist() == [0, 0]


def test_a_run_whose_event_never_happens_raises_or_is_nan():
    sim = Decay(jnp.asarray(0.8), 5.0, physics.SolverSettings(max_steps=64))  # decays away from 5
    with pytest.raises(Exception, match="Decay: the event never happened"):
        jax.block_until_ready(eqx.filter_jit(lambda s: physics.observe(s, 2.0))(sim))
    assert np.all(np.isnan(eqx.filter_jit(lambda s: physics.observe(s, 2.0, throw=False))(sim)))


def test_bad_arguments_name_themselves():
    sim = physics.Pendulum()
    with pytest.raises(ValueError, match="give the times `ts`"):
        physics.simulate(sim, physics.ClosedLoop(jnp.zeros(2)))
    with pytest.raises(ValueError, match="`ts`.*increasing"):
        physics.simulate(sim, physics.ClosedLoop(jnp.zeros(2)), ts=jnp.array([0.0, 1.0, 0.5]))
    with pytest.raises(ValueError, match="`ts` must be a 1-D"):
        physics.simulate(sim, physics.ClosedLoop(jnp.zeros(2)), ts=jnp.array([0.0]))
    with pytest.raises(ValueError, match="state0"):
        physics.ClosedLoop(jnp.zeros((2, 2)))
    with pytest.raises(ValueError, match="renamed.*direct"):
        physics.SolverSettings(mode="both")
    with pytest.raises(ValueError, match="max_steps"):
        physics.SolverSettings(max_steps=0)


def test_trebuchet_failures_are_an_enumeration_with_messages():
    # The codes follow Trajectory.failure: 2 i + 1 phase i cannot start, 2 i + 2 it never ends.
    messages = physics.Trebuchet().failure_messages()
    for failure in list(physics.TrebuchetFailure)[1:]:
        assert messages[failure - 1] == "Trebuchet: " + failure.message
    assert "too light" in physics.TrebuchetFailure.TOO_LIGHT.message
    assert "release angle" in messages[physics.TrebuchetFailure.NO_RELEASE - 1]
