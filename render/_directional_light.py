"""Directional (distant) lights, such as the sun."""

import jax.numpy as jnp

import difsci as ds

from ._base import AbstractLight, LightSamples
from ._types import check_emission
from ._types import ArrayLike, RGB, Vec3, as_rgb, as_vec3
from ._vector import Vecs, expand, normalize


class DirectionalLight(AbstractLight):
    """Parallel light travelling along `direction` (any non-zero length) with `irradiance` (W/m^2,
    RGB) on a surface facing it. Casts hard shadows; shadows and irradiance do not fall with distance.
    """

    direction: Vec3
    irradiance: RGB

    def __init__(self, direction: ArrayLike, irradiance: ArrayLike):
        direction = as_vec3("DirectionalLight", "direction", direction)
        self.direction = ds.check(
            direction, (jnp.sum(direction * direction, axis=-1) > 0) & jnp.all(jnp.isfinite(direction), axis=-1),
            "DirectionalLight: `direction` must be a non-zero vector with finite components (the way the light travels), e.g. (0, -1, 0)",
        )
        self.irradiance = check_emission(
            "DirectionalLight irradiance", as_rgb("DirectionalLight", "irradiance", irradiance)
        )

    def _flat(self) -> tuple[Vecs, Vecs]:
        shape = jnp.broadcast_shapes(self.direction.shape, self.irradiance.shape)
        flat = lambda v: Vecs.of(jnp.broadcast_to(v, shape).reshape(-1, 3))  # noqa: E731
        return flat(self.direction), flat(self.irradiance)

    def num_samples(self, light_samples: int) -> int:
        return self._flat()[0].shape[0]

    @property
    def needs_random(self) -> bool:
        return False

    def sample(self, points: Vecs, uniforms=None) -> LightSamples:
        direction, irradiance = expand(self._flat(), len(points.shape))
        shape = direction.shape[:1] + points.shape
        towards = (-normalize(direction)).map(lambda a: jnp.broadcast_to(a, shape))
        return LightSamples(towards, jnp.full(shape, jnp.inf, points.dtype), jnp.ones(shape, points.dtype), irradiance)

    def emitter(self) -> None:
        return None
