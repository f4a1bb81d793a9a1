"""The inputs of a controlled run: where it starts and the controller that closes the loop."""

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float


def no_control(t, state):
    """The controller that does nothing (zero force or torque)."""
    return jnp.zeros((), state.dtype)


class ClosedLoop(eqx.Module):
    """`state0` (the start state) and `control(t, state)` (the controller's output; an Equinox
    module's parameters get gradients)."""

    state0: Float[Array, " n"]
    control: Callable = no_control

    def __init__(self, state0: Float[ArrayLike, " n"], control: Callable = no_control):
        self.state0 = jnp.asarray(state0, float)
        if self.state0.ndim != 1:
            raise ValueError(f"ClosedLoop: `state0` must be a state vector (1-D), got shape {self.state0.shape}")
        self.control = control
