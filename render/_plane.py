"""Infinite planes."""

import jax.numpy as jnp

import difsci as ds

from ._base import AbstractGeometry, AbstractMaterial, AbstractPrimitives
from ._types import Array, ArrayLike, Bool, Float, Vec3, as_vec3
from ._vector import Vecs, dot, normalize


class Plane(AbstractGeometry):
    """The infinite plane through `point` (metres) with `normal` (any non-zero length; it is
    normalised). Both sides are lit and seen alike; the normal only fixes its orientation."""

    point: Vec3
    normal: Vec3
    material: AbstractMaterial

    def __init__(self, point: ArrayLike, normal: ArrayLike, material: AbstractMaterial):
        self.point = ds.check_finite("Plane point", as_vec3("Plane", "point", point))
        normal = as_vec3("Plane", "normal", normal)
        self.normal = ds.check(
            normal, (jnp.sum(normal * normal, axis=-1) > 0) & jnp.all(jnp.isfinite(normal), axis=-1),
            "Plane: `normal` must be a non-zero vector with finite components; e.g. (0, 1, 0) for a floor",
        )
        self.material = material

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return jnp.broadcast_shapes(self.point.shape[:-1], self.normal.shape[:-1])

    def primitives(self) -> "Planes":
        shape = self.batch_shape
        flat = lambda v: Vecs.of(jnp.broadcast_to(v, shape + (3,)).reshape(-1, 3))  # noqa: E731
        return Planes(flat(self.point), normalize(flat(self.normal)))


class Planes(AbstractPrimitives):
    point: Vecs
    normal: Vecs

    @property
    def count(self) -> int:
        return self.point.shape[0]

    def _distance(self, origins: Vecs, directions: Vecs):
        denom = dot(self.normal, directions)
        num = dot(self.point - origins, self.normal)
        ok = denom != 0
        t = num / jnp.where(ok, denom, 1)
        return ok & (t > 0), t

    def intersect(self, origins: Vecs, directions: Vecs) -> Float[Array, "..."]:
        hit, t = self._distance(origins, directions)
        return jnp.where(hit, t, jnp.inf)

    def occludes(self, origins: Vecs, directions: Vecs, distances: Float[Array, "*rays"]) -> Bool[Array, "..."]:
        hit, t = self._distance(origins, directions)
        return hit & (t < distances)

    def normal_coefficients(self) -> Float[Array, "4 n"]:
        return jnp.stack([jnp.zeros_like(self.normal.x), self.normal.x, self.normal.y, self.normal.z])
