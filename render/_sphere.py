"""Spheres."""

import jax.numpy as jnp

import difsci as ds

from ._base import AbstractGeometry, AbstractMaterial, AbstractPrimitives
from ._types import Array, ArrayLike, Bool, Float, Vec3, as_float, as_vec3
from ._vector import Vecs, dot, safe_sqrt


class Sphere(AbstractGeometry):
    """A sphere of `radius` metres about `center` (metres, shape `(3,)`), both differentiable.

    Batched fields (`center` of shape `(n, 3)`, `radius` of shape `(n,)`) make one module hold
    `n` spheres, intersected together as one array operation.
    """

    center: Vec3
    radius: Float[Array, "*batch"]
    material: AbstractMaterial

    def __init__(self, center: ArrayLike, radius: ArrayLike, material: AbstractMaterial):
        self.center = ds.check_finite("Sphere center", as_vec3("Sphere", "center", center))
        radius = as_float(radius, "Sphere radius")
        self.radius = ds.check(
            radius, jnp.isfinite(radius) & (radius > 0),
            "Sphere: `radius` must be > 0 and finite (metres); pass the absolute value, or a Plane for a flat surface",
        )
        self.material = material

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return jnp.broadcast_shapes(self.center.shape[:-1], self.radius.shape)

    def primitives(self) -> "Spheres":
        shape = self.batch_shape
        center = jnp.broadcast_to(self.center, shape + (3,)).reshape(-1, 3)
        return Spheres(Vecs.of(center), jnp.broadcast_to(self.radius, shape).reshape(-1))


class Spheres(AbstractPrimitives):
    center: Vecs
    radius: Float[Array, " n"]

    @property
    def count(self) -> int:
        return self.radius.shape[0]

    def _roots(self, origins: Vecs, directions: Vecs):
        oc = origins - self.center
        b = dot(oc, directions)
        disc = b * b - (dot(oc, oc) - self.radius**2)
        root = safe_sqrt(disc)
        return disc > 0, -b - root, -b + root

    def intersect(self, origins: Vecs, directions: Vecs) -> Float[Array, "..."]:
        hit, near, far = self._roots(origins, directions)
        t = jnp.where(near > 0, near, far)
        return jnp.where(hit & (t > 0), t, jnp.inf)

    def occludes(self, origins: Vecs, directions: Vecs, distances: Float[Array, "*rays"]) -> Bool[Array, "..."]:
        hit, near, far = self._roots(origins, directions)
        # A crossing of the surface strictly between the origin and the end of the ray: the near
        # side ahead of the origin, or (origin inside the sphere) the far side before the end.
        crosses = ((near > 0) & (near < distances)) | ((far > 0) & (far < distances))
        return hit & crosses

    def normal_coefficients(self) -> Float[Array, "4 n"]:
        inv = 1 / self.radius
        return jnp.stack([inv, -self.center.x * inv, -self.center.y * inv, -self.center.z * inv])
