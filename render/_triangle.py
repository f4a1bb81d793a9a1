"""Triangles and triangle meshes."""

import jax.numpy as jnp
import numpy as np

import difsci as ds

from . import _bvh
from ._base import AbstractGeometry, AbstractMaterial, AbstractPrimitives
from ._types import Array, ArrayLike, Bool, Float, Int, Vec3, as_vec3, is_concrete
from ._vector import Vecs, cross, dot, normalize


class Triangle(AbstractGeometry):
    """The triangle with corners `v0`, `v1`, `v2` (metres, shape `(3,)` each; batched corners
    `(n, 3)` hold `n` triangles). Two-sided; the outward normal follows `(v1 - v0) x (v2 - v0)`."""

    v0: Vec3
    v1: Vec3
    v2: Vec3
    material: AbstractMaterial

    def __init__(self, v0: ArrayLike, v1: ArrayLike, v2: ArrayLike, material: AbstractMaterial):
        self.v0 = ds.check_finite("Triangle v0", as_vec3("Triangle", "v0", v0))
        self.v1 = ds.check_finite("Triangle v1", as_vec3("Triangle", "v1", v1))
        self.v2 = ds.check_finite("Triangle v2", as_vec3("Triangle", "v2", v2))
        self.material = material

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return jnp.broadcast_shapes(self.v0.shape[:-1], self.v1.shape[:-1], self.v2.shape[:-1])

    def primitives(self) -> "Triangles":
        shape = self.batch_shape
        flat = lambda v: Vecs.of(jnp.broadcast_to(v, shape + (3,)).reshape(-1, 3))  # noqa: E731
        return Triangles.from_corners(flat(self.v0), flat(self.v1), flat(self.v2))


class TriangleMesh(AbstractGeometry):
    """An indexed triangle mesh: `vertices` `(V, 3)` metres (differentiable) and integer `faces`
    `(F, 3)` indexing them (counter-clockwise seen from outside). Flat-shaded, two-sided.

    A bounding-volume hierarchy is built once, here (on the host from concrete vertices; by a
    Morton sort when the vertices are traced): `order` puts the faces in the tree's slots. Its
    boxes are refitted from the current vertices in every render, so a mesh updated with
    `eqx.tree_at(lambda m: m.vertices, mesh, new)` keeps its tree. Zero-area faces are never hit.

    The integer `faces` are not differentiable: take gradients with `eqx.filter_grad`, or with
    respect to the `vertices` alone. `render.load_obj` reads one from a Wavefront .obj file.
    """

    vertices: Float[Array, "V 3"]
    faces: Int[Array, "F 3"]
    material: AbstractMaterial
    order: Int[Array, " slots"]

    def __init__(self, vertices: ArrayLike, faces: ArrayLike, material: AbstractMaterial):
        vertices = as_vec3("TriangleMesh", "vertices", vertices)
        if vertices.ndim != 2:
            raise ValueError(f"TriangleMesh: `vertices` must have shape (V, 3), got {vertices.shape}")
        faces = jnp.asarray(faces)
        if faces.ndim != 2 or faces.shape[1] != 3 or not jnp.issubdtype(faces.dtype, jnp.integer):
            raise ValueError(
                f"TriangleMesh: `faces` must be integers of shape (F, 3) indexing `vertices`, "
                f"got {faces.dtype} of shape {faces.shape}"
            )
        if is_concrete(faces) and faces.size and not (0 <= int(np.min(faces)) and int(np.max(faces)) < vertices.shape[0]):
            raise ValueError(
                f"TriangleMesh: `faces` must index `vertices` within [0, {vertices.shape[0] - 1}], "
                f"got indices in [{int(np.min(faces))}, {int(np.max(faces))}]"
            )
        self.vertices = ds.check_finite("TriangleMesh vertices", vertices)
        self.faces = faces
        self.material = material
        corners = self.vertices[faces] if faces.size else jnp.zeros((0, 3, 3), self.vertices.dtype)
        if is_concrete(self.vertices, faces):
            self.order = jnp.asarray(_bvh.host_order(np.asarray(corners, np.float64)))
        else:
            self.order = _bvh.traced_order(corners)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return (self.faces.shape[0],)

    def corners(self) -> Float[Array, "F 3 3"]:
        """Each face's three corners, `(F, 3 corners, 3 xyz)` metres."""
        return self.vertices[self.faces]

    def primitives(self) -> "Triangles":
        corners = self.corners()
        return Triangles.from_corners(Vecs.of(corners[:, 0]), Vecs.of(corners[:, 1]), Vecs.of(corners[:, 2]))


class Triangles(AbstractPrimitives):
    v0: Vecs
    edge1: Vecs
    edge2: Vecs

    @classmethod
    def from_corners(cls, v0: Vecs, v1: Vecs, v2: Vecs) -> "Triangles":
        return cls(v0, v1 - v0, v2 - v0)

    @property
    def count(self) -> int:
        return self.v0.shape[0]

    def _distance(self, origins: Vecs, directions: Vecs):
        # Moller-Trumbore: solve origin + t d = v0 + u e1 + v e2 by Cramer's rule.
        e1, e2, d = self.edge1, self.edge2, directions
        p = cross(d, e2)
        det = dot(e1, p)
        ok = det != 0
        inv = 1 / jnp.where(ok, det, 1)
        s = origins - self.v0
        u = dot(s, p) * inv
        q = cross(s, e1)
        v = dot(d, q) * inv
        t = dot(e2, q) * inv
        return ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0), t

    def intersect(self, origins: Vecs, directions: Vecs) -> Float[Array, "..."]:
        hit, t = self._distance(origins, directions)
        return jnp.where(hit, t, jnp.inf)

    def occludes(self, origins: Vecs, directions: Vecs, distances: Float[Array, "*rays"]) -> Bool[Array, "..."]:
        hit, t = self._distance(origins, directions)
        return hit & (t < distances)

    def normal_coefficients(self) -> Float[Array, "4 n"]:
        n = normalize(cross(self.edge1, self.edge2))
        return jnp.stack([jnp.zeros_like(n.x), n.x, n.y, n.z])
