"""Triangles and triangle meshes."""

import equinox as eqx
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


SHADINGS = ("flat", "smooth")


class TriangleMesh(AbstractGeometry):
    """An indexed triangle mesh: `vertices` `(V, 3)` metres (differentiable) and integer `faces`
    `(F, 3)` indexing them (counter-clockwise seen from outside). Two-sided.

    `shading="flat"` shades each face with its own normal; `"smooth"` interpolates vertex normals
    over each face: `normals` `(V, 3)` if given (a .obj file's `vn`), else the area-weighted mean
    of the normals of the faces around each vertex, recomputed from the current vertices in every
    render (so they follow vertices being fitted). Shadow and mirror rays leave the face's own
    plane either way.

    A bounding-volume hierarchy is built once, here (on the host from concrete vertices; by a
    Morton sort when the vertices are traced): `order` puts the faces in the tree's slots. Its
    boxes are refitted from the current vertices in every render, so a mesh updated with
    `eqx.tree_at(lambda m: m.vertices, mesh, new)` keeps its tree. Zero-area faces are never hit.
    `twins` pairs the half-edges of faces sharing an edge (`half_edge_twins`), for the boundary
    terms at its silhouettes.

    The integer `faces` are not differentiable: take gradients with `eqx.filter_grad`, or with
    respect to the `vertices` alone. `render.load_obj` reads one from a Wavefront .obj file.
    """

    vertices: Float[Array, "V 3"]
    faces: Int[Array, "F 3"]
    material: AbstractMaterial
    order: Int[Array, " slots"]
    twins: Int[Array, " 3F"]
    normals: Float[Array, "V 3"] | None
    shading: str = eqx.field(static=True)

    def __init__(
        self,
        vertices: ArrayLike,
        faces: ArrayLike,
        material: AbstractMaterial,
        *,
        shading: str = "flat",
        normals: ArrayLike | None = None,
    ):
        vertices = as_vec3("TriangleMesh", "vertices", vertices)
        if vertices.ndim != 2:
            raise ValueError(f"TriangleMesh: `vertices` must have shape (V, 3), got {vertices.shape}")
        try:
            if isinstance(faces, (str, bytes)) or faces is None:
                raise TypeError
            faces = jnp.asarray(faces)
        except (TypeError, ValueError):
            raise ValueError(f"TriangleMesh: `faces` must be integers of shape (F, 3) indexing `vertices`, "
                             f"got {type(faces).__name__}") from None
        if faces.ndim != 2 or faces.shape[1] != 3 or not jnp.issubdtype(faces.dtype, jnp.integer):
            raise ValueError(
                f"TriangleMesh: `faces` must be integers of shape (F, 3) indexing `vertices`, "
                f"got {faces.dtype} of shape {faces.shape}"
            )
        if shading not in SHADINGS:
            raise ValueError(f"TriangleMesh: `shading` must be one of {SHADINGS}, got {shading!r}")
        count = vertices.shape[0]
        message = f"TriangleMesh: every index in `faces` must lie in [0, {count - 1}] (a face refers to no vertex)"
        if is_concrete(faces):
            bad = np.flatnonzero(np.any((np.asarray(faces) < 0) | (np.asarray(faces) >= count), axis=1))
            if bad.size:
                raise ValueError(f"{message}: face {bad[0]} is {np.asarray(faces)[bad[0]].tolist()}"
                                 + (f" ({bad.size} such faces)" if bad.size > 1 else ""))
        elif faces.size:
            faces = eqx.error_if(faces, jnp.any((faces < 0) | (faces >= count)), message)
        self.vertices = ds.check_finite("TriangleMesh vertices", vertices)
        self.faces = faces
        self.material = material
        self.shading = shading
        if normals is not None:
            normals = as_vec3("TriangleMesh", "normals", normals)
            if normals.shape != vertices.shape:
                raise ValueError(f"TriangleMesh: `normals` must have the shape of `vertices` {vertices.shape}, "
                                 f"got {normals.shape}")
            length = jnp.linalg.norm(normals, axis=-1)
            normals = ds.check(normals, jnp.isfinite(length) & (length > 0),
                               "`TriangleMesh normals` must be finite and non-zero")
        self.normals = normals
        corners = self.vertices[faces] if faces.size else jnp.zeros((0, 3, 3), self.vertices.dtype)
        self.twins = half_edge_twins(faces)
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

    def vertex_normals(self) -> Float[Array, "V 3"]:
        """Unit normals at the vertices: `normals` normalised, or (if none were given) the
        area-weighted mean of the adjacent faces' normals. A vertex on no face of non-zero area
        gets `(0, 0, 1)`."""
        if self.normals is not None:
            n = self.normals
        else:
            c = self.corners()
            # The cross product's length is twice the face's area: summing weights by area.
            face_n = jnp.cross(c[:, 1] - c[:, 0], c[:, 2] - c[:, 0])
            n = jnp.zeros_like(self.vertices).at[self.faces.reshape(-1)].add(jnp.repeat(face_n, 3, axis=0))
        length = jnp.linalg.norm(n, axis=-1, keepdims=True)
        ok = length > 0
        return jnp.where(ok, n / jnp.where(ok, length, 1), jnp.asarray([0.0, 0.0, 1.0], n.dtype))

    def primitives(self) -> "Triangles":
        corners = self.corners()
        return Triangles.from_corners(Vecs.of(corners[:, 0]), Vecs.of(corners[:, 1]), Vecs.of(corners[:, 2]))


def half_edge_twins(faces: Int[Array, "F 3"]) -> Int[Array, " 3F"]:
    """For each half-edge `3 f + k` (face `f`'s corner `k` to corner `k + 1`), the half-edge of
    another face along the same edge; `-1` on a boundary edge (one face), `-2` for the second
    half-edge of a shared edge (so each edge is listed once). On an edge of three or more faces
    the first two pair and the rest are skipped."""
    start = faces.reshape(-1)
    end = jnp.roll(faces, -1, axis=1).reshape(-1)
    lo, hi = jnp.minimum(start, end), jnp.maximum(start, end)
    order = jnp.lexsort((hi, lo))
    lo, hi = lo[order], hi[order]
    same = (lo[1:] == lo[:-1]) & (hi[1:] == hi[:-1])  # sorted half-edge i + 1 is along i's edge
    follows = jnp.concatenate([jnp.zeros(1, bool), same])
    paired = jnp.concatenate([same, jnp.zeros(1, bool)])
    partner = jnp.concatenate([order[1:], order[:1]])
    twin = jnp.where(follows, -2, jnp.where(paired, partner, -1)).astype(jnp.int32)
    return jnp.zeros(start.shape, jnp.int32).at[order].set(twin)


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
