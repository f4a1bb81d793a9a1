"""Spherical area lights: soft shadows whose penumbrae move smoothly with the light."""

import math

import jax.numpy as jnp

import difsci as ds

from ._base import AbstractLight, AbstractMaterial, LightSamples, Surface
from ._sphere import Sphere
from ._types import check_emission
from ._types import Array, ArrayLike, Float, RGB, Vec3, as_float, as_rgb, as_vec3
from ._vector import Vecs, dot, expand, safe_rsqrt, safe_sqrt


class _Emissive(AbstractMaterial):
    radiance: RGB

    def surface(self) -> Surface:
        zero = jnp.zeros_like(self.radiance)
        return Surface(zero, zero, zero[..., 0], zero, self.radiance)

    @property
    def is_lambertian(self) -> bool:
        return True


class SphereLight(AbstractLight):
    """A sphere of `radius` metres about `center` emitting uniform `radiance` (W/(sr m^2), RGB).

    Seen from a point at distance `d` it subtends a cone of half-angle `asin(radius / d)`; an
    unshadowed surface facing it receives irradiance `pi * radiance * (radius / d)^2` (times the
    cosine to the centre), the same as a `PointLight` of intensity `pi * radius^2 * radiance`.
    Render samples the cone (stratified, `render(..., light_samples=...)` directions per shading
    point, needs a `key`), so shadows have penumbrae: the image changes smoothly as the light
    moves, unlike the hard shadows of point and directional lights. The sphere is visible to
    camera and mirror rays and blocks other lights.
    """

    center: Vec3
    radius: Float[Array, "*batch"]
    radiance: RGB

    def __init__(self, center: ArrayLike, radius: ArrayLike, radiance: ArrayLike):
        self.center = ds.check_finite("SphereLight center", as_vec3("SphereLight", "center", center))
        radius = as_float(radius, "SphereLight radius")
        self.radius = ds.check(
            radius, jnp.isfinite(radius) & (radius > 0),
            "SphereLight: `radius` must be > 0 and finite (metres); use a PointLight for a light of no size",
        )
        self.radiance = check_emission("SphereLight radiance", as_rgb("SphereLight", "radiance", radiance))

    def _flat(self) -> tuple[Vecs, Array, Vecs]:
        shape = jnp.broadcast_shapes(self.center.shape[:-1], self.radius.shape, self.radiance.shape[:-1])
        flat = lambda v: Vecs.of(jnp.broadcast_to(v, shape + (3,)).reshape(-1, 3))  # noqa: E731
        return flat(self.center), jnp.broadcast_to(self.radius, shape).reshape(-1), flat(self.radiance)

    def num_samples(self, light_samples: int) -> int:
        return self._flat()[1].shape[0] * light_samples

    @property
    def needs_random(self) -> bool:
        return True

    def sample(self, points: Vecs, uniforms: Float[Array, "samples 2 *rays"]) -> LightSamples:
        center, radius, radiance = self._flat()
        rays = points.shape
        nlights, nrays = radius.shape[0], len(rays)
        per_light = uniforms.shape[0] // nlights
        u = uniforms.reshape((nlights, per_light, 2) + rays)
        # Per light, then per sample: light axes (L, 1, *rays).
        c, r2 = expand(center, nrays + 1), expand(radius, nrays + 1) ** 2
        towards = c - points
        d2 = dot(towards, towards)
        w = towards * safe_rsqrt(d2)
        sin2 = jnp.where(d2 > r2, r2 / jnp.where(d2 > r2, d2, 1), 1)
        cos_max = safe_sqrt(1 - sin2)
        one_minus_cos_max = sin2 / (1 + cos_max)  # without cancellation for small lights
        # Uniform directions in the cone about w (solid-angle pdf 1 / (2 pi (1 - cos_max))).
        cos_t = 1 - u[:, :, 0] * one_minus_cos_max
        sin_t = safe_sqrt(1 - cos_t * cos_t)
        phi = 2 * math.pi * u[:, :, 1]
        t1, t2 = _tangent_frame(w)
        direction = (t1 * jnp.cos(phi) + t2 * jnp.sin(phi)) * sin_t + w * cos_t
        # Distance to the sphere's near side along each direction (far side from inside it).
        b = dot(towards, direction)
        root = safe_sqrt(b * b - (d2 - r2))
        distance = jnp.where(d2 > r2, b - root, b + root)
        weight = (2 * math.pi / per_light) * one_minus_cos_max
        flat = lambda x: jnp.broadcast_to(x, distance.shape).reshape((-1,) + rays)  # noqa: E731
        # One colour per light, repeated for its samples: (L * per_light, 1, ...).
        color = radiance.map(lambda c: jnp.repeat(c, per_light).reshape((-1,) + (1,) * nrays))
        return LightSamples(direction.map(flat), flat(distance), flat(weight), color)

    def emitter(self) -> Sphere:
        return Sphere(self.center, self.radius, _Emissive(self.radiance))


def _tangent_frame(w: Vecs) -> tuple[Vecs, Vecs]:
    """Two unit vectors completing unit `w` to an orthonormal frame, without a division by zero."""
    # Duff et al. 2017, "Building an orthonormal basis, revisited".
    sign = jnp.where(w.z >= 0, 1.0, -1.0).astype(w.dtype)
    a = -1 / (sign + w.z)
    b = w.x * w.y * a
    t1 = Vecs(1 + sign * w.x * w.x * a, sign * b, -sign * w.x)
    t2 = Vecs(b, sign + w.y * w.y * a, -w.y)
    return t1, t2
