"""The cart-pole: a cart on a frictionless track with a uniform pole hinged on top.

Equations of Barto, Sutton & Anderson (1983) without friction (pole angle 0 = upright,
`half_length` = distance from the hinge to the pole's centre of mass).
"""

from collections.abc import Callable

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

import difsci as ds

from ._closed_loop import ClosedLoop, no_control
from ._simulator import AbstractODE, observe
from ._solve import SolverSettings
from ._constants import positive as _positive


class CartPole(AbstractODE):
    """State (x m, angle rad from upright, velocity m/s, angular rate rad/s); force on the cart
    = clip(control(t, state), -max_force, max_force) N. As a simulator its inputs are a
    `ClosedLoop` and its observation the states at the saved times."""

    cart_mass: Float[Array, ""]
    pole_mass: Float[Array, ""]
    half_length: Float[Array, ""]
    gravity: Float[Array, ""]
    max_force: Float[Array, ""]
    settings: SolverSettings

    def __init__(self, cart_mass=1.0, pole_mass=0.1, half_length=0.5, gravity=9.80665, max_force=10.0, settings=SolverSettings()):
        def positive(name, value):
            return _positive("CartPole", name, value)

        # The checked values are the fields: a check whose result is dropped vanishes under jit.
        self.cart_mass, self.pole_mass = positive("cart_mass", cart_mass), positive("pole_mass", pole_mass)
        self.half_length, self.gravity = positive("half_length", half_length), positive("gravity", gravity)
        self.max_force = positive("max_force", max_force)
        self.settings = settings

    def accelerations(self, state: Float[Array, "4"], force: Float[Array, ""]) -> tuple[Array, Array]:
        """(cart acceleration m/s^2, angular acceleration rad/s^2) under `force` (N)."""
        _, th, _, om = state
        total = self.cart_mass + self.pole_mass
        ml = self.pole_mass * self.half_length
        tmp = (force + ml * om**2 * jnp.sin(th)) / total
        alpha = (self.gravity * jnp.sin(th) - jnp.cos(th) * tmp) / (self.half_length * (4.0 / 3.0 - self.pole_mass * jnp.cos(th) ** 2 / total))
        return tmp - ml * alpha * jnp.cos(th) / total, alpha

    def initial_state(self, inputs: ClosedLoop) -> Float[Array, "4"]:
        return inputs.state0

    def vector_field(self, t, y, inputs: ClosedLoop) -> Float[Array, "4"]:
        force = jnp.clip(inputs.control(t, y), -self.max_force, self.max_force)
        acc, alpha = self.accelerations(y, force)
        return jnp.stack([y[2], y[3], acc, alpha])

    def rollout(self, state0: Float[ArrayLike, "4"], ts: Float[ArrayLike, " k"], control: Callable = no_control) -> Float[Array, "k 4"]:
        """States at times `ts` (s) from `state0` under the closed loop `control(t, state)`."""
        return observe(self, ClosedLoop(state0, control), ts=ts)

    def energy(self, state: Float[Array, "*b 4"]) -> Float[Array, "*b"]:
        """Kinetic + potential energy (J) of cart and pole (pole hinge at height 0)."""
        _, th, v, om = state[..., 0], state[..., 1], state[..., 2], state[..., 3]
        m, l = self.pole_mass, self.half_length
        kinetic = 0.5 * (self.cart_mass + m) * v**2 + m * l * jnp.cos(th) * v * om + (2.0 / 3.0) * m * l**2 * om**2
        return kinetic + m * self.gravity * l * jnp.cos(th)
