"""Type aliases shared across difsci (jaxtyping), kept in one place."""

from typing import Union

from jaxtyping import Array, ArrayLike, Float, Int, Key, PRNGKeyArray, Shaped

#: A JAX PRNG key: new-style `jax.random.key(...)` or legacy `jax.random.PRNGKey(...)`.
KeyArray = PRNGKeyArray
#: A scalar that may be a Python number or a 0-d array.
Scalar = Union[float, int, Float[ArrayLike, ""]]
#: A real value of any shape.
RealLike = Float[ArrayLike, "..."]
Shape = tuple[int, ...]

__all__ = ["Array", "ArrayLike", "Float", "Int", "Key", "KeyArray", "Scalar", "RealLike", "Shape", "Shaped"]
