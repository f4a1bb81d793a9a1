"""A damped, driven pendulum with an optional controller torque."""

from collections.abc import Callable

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

import difsci as ds

from ._closed_loop import ClosedLoop, no_control
from ._simulator import AbstractODE, observe
from ._solve import SolverSettings
from ._constants import checked_constant


class Pendulum(AbstractODE):
    """A point mass `mass` (kg) on a massless rod of `length` (m), angle 0 hanging down.

    Torque = -`damping` * rate + `drive_amplitude` cos(`drive_frequency` t) + control(t, state) (N m).
    State: (angle rad, rate rad/s). As a simulator its inputs are a `ClosedLoop` and its
    observation the states at the saved times.
    """

    length: Float[Array, ""]
    mass: Float[Array, ""]
    damping: Float[Array, ""]
    gravity: Float[Array, ""]
    drive_amplitude: Float[Array, ""]
    drive_frequency: Float[Array, ""]
    settings: SolverSettings

    def __init__(self, length=1.0, mass=1.0, damping=0.0, gravity=9.80665, drive_amplitude=0.0, drive_frequency=1.0, settings=SolverSettings()):
        def checked(name, value, ok, rule):
            return checked_constant("Pendulum", name, value, ok, rule)

        self.length = checked("length", length, lambda v: v > 0, "(m) must be > 0 and finite")
        self.mass = checked("mass", mass, lambda v: v > 0, "(kg) must be > 0 and finite")
        self.damping = checked("damping", damping, lambda v: v >= 0, "(N m s) must be >= 0 and finite")
        self.gravity = checked("gravity", gravity, lambda v: v > 0, "must be > 0 and finite")
        self.drive_amplitude = checked("drive_amplitude", drive_amplitude, lambda v: True, "must be finite")
        self.drive_frequency = checked("drive_frequency", drive_frequency, lambda v: True, "must be finite")
        self.settings = settings

    def initial_state(self, inputs: ClosedLoop) -> Float[Array, "2"]:
        return inputs.state0

    def vector_field(self, t, y, inputs: ClosedLoop) -> Float[Array, "2"]:
        inertia = self.mass * self.length**2
        torque = -self.damping * y[1] + self.drive_amplitude * jnp.cos(self.drive_frequency * t) + inputs.control(t, y)
        return jnp.stack([y[1], -self.gravity / self.length * jnp.sin(y[0]) + torque / inertia])

    def rollout(self, state0: Float[ArrayLike, "2"], ts: Float[ArrayLike, " k"], control: Callable = no_control) -> Float[Array, "k 2"]:
        """States at times `ts` (s) from `state0`, with torque `control(t, state)` added."""
        return observe(self, ClosedLoop(state0, control), ts=ts)

    def energy(self, state: Float[Array, "*b 2"]) -> Float[Array, "*b"]:
        """Kinetic + potential energy (J), zero hanging at rest."""
        return 0.5 * self.mass * self.length**2 * state[..., 1] ** 2 + self.mass * self.gravity * self.length * (1 - jnp.cos(state[..., 0]))
