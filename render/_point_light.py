"""Point lights."""

import jax.numpy as jnp

import difsci as ds

from ._base import AbstractLight, LightSamples
from ._types import check_emission
from ._types import ArrayLike, RGB, Vec3, as_rgb, as_vec3
from ._vector import Vecs, dot, expand, safe_rsqrt


class PointLight(AbstractLight):
    """An isotropic point light at `position` (metres) with radiant `intensity` (W/sr, RGB).

    A surface at distance `r` whose normal makes angle `theta` with the light receives irradiance
    `intensity * max(cos(theta), 0) / r^2`. Its shadows are hard: the edge of a shadow does not
    move smoothly with the light, so its gradient there is zero (use `SphereLight` for soft shadows).
    Batched fields (`position` of shape `(n, 3)`) hold `n` lights.
    """

    position: Vec3
    intensity: RGB

    def __init__(self, position: ArrayLike, intensity: ArrayLike):
        self.position = ds.check_finite("PointLight position", as_vec3("PointLight", "position", position))
        self.intensity = check_emission("PointLight intensity", as_rgb("PointLight", "intensity", intensity))

    def _flat(self) -> tuple[Vecs, Vecs]:
        shape = jnp.broadcast_shapes(self.position.shape, self.intensity.shape)
        flat = lambda v: Vecs.of(jnp.broadcast_to(v, shape).reshape(-1, 3))  # noqa: E731
        return flat(self.position), flat(self.intensity)

    def num_samples(self, light_samples: int) -> int:
        return self._flat()[0].shape[0]

    @property
    def needs_random(self) -> bool:
        return False

    def sample(self, points: Vecs, uniforms=None) -> LightSamples:
        position, intensity = expand(self._flat(), len(points.shape))
        towards = position - points
        dist2 = dot(towards, towards)
        inv = safe_rsqrt(dist2)  # 0 for a light exactly on the point: no light, no NaN
        return LightSamples(towards * inv, dist2 * inv, inv * inv, intensity)

    def emitter(self) -> None:
        return None
