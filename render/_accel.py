"""Finding hits on large triangle meshes: which face a ray meets first, whether a shadow ray is
blocked. A choice, with no gradient; the chosen face's distance and normal are then recomputed
from its differentiable corners by the integrator.

Backends (`render(..., accel=...)`):
- `"embree"`: Intel Embree (PyPI `embreex`) on the host through `jax.pure_callback` (`_embree`:
  rays in packets of 16, split over the CPU's cores); the fastest on CPU.
- `"bvh"`: the portable BVH of `_bvh`, traversed in JAX (every backend, GPU included).
- `"brute"`: every ray against every triangle (the reference; memory grows with faces x rays,
  so `render` traces rays in chunks).
- `"auto"`: `"embree"` where it is installed and JAX computes on the CPU, else `"bvh"`.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _bvh, _embree
from ._triangle import Triangles
from ._types import Array, Bool, Float, Int
from ._vector import Vecs

BACKENDS = ("auto", "embree", "bvh", "brute")


def embree_available() -> bool:
    return _embree.available()


def resolve(accel: str) -> str:
    """The backend `accel` names, `"auto"` decided for this machine."""
    if accel not in BACKENDS:
        raise ValueError(f"render: `accel` must be one of {BACKENDS}, got {accel!r}")
    if accel == "auto":
        return "embree" if jax.default_backend() == "cpu" and embree_available() else "bvh"
    if accel == "embree" and not embree_available():
        raise ValueError("render: accel='embree' needs the `embreex` package (pip install embreex)")
    return accel


class MeshHits(eqx.Module):
    """One mesh as the hit kernels see it: its corners `(F, 3 corners, 3 xyz)`, the unit normals
    at its corners `(F, 3, 3)` when it is smooth-shaded, the BVH (slot order and refitted boxes)
    when the backend is `"bvh"`, and its shading column (the rows of `Batched.shading`, its
    material's), and the half-edge twins of its faces (`TriangleMesh.twins`; `None`: every
    edge a boundary edge), for the boundary terms of its silhouettes."""

    corners: Float[Array, "F 3 3"]
    normals: Float[Array, "F 3 3"] | None
    tree: _bvh.SlotTriangles | None
    column: Float[Array, " 17"]
    twins: Int[Array, " 3F"] | None
    backend: str = eqx.field(static=True)

    @classmethod
    def build(cls, corners, order, column, backend: str, normals=None, twins=None) -> "MeshHits":
        tree = _bvh.refit(corners, order) if backend == "bvh" else None
        return cls(corners, normals, tree, column, twins, backend)

    @classmethod
    def of(cls, mesh, column, backend: str) -> "MeshHits":
        """`mesh` (a `TriangleMesh`) with its current vertices."""
        normals = mesh.vertex_normals()[mesh.faces] if mesh.shading == "smooth" else None
        return cls.build(mesh.corners(), mesh.order, column, backend, normals, mesh.twins)

    @property
    def elements_per_ray(self) -> int:
        """About how many array elements a ray's query holds in memory (every face for brute
        force, a traversal stack for the BVH, a few host values for Embree): `render` sizes its
        ray chunks by it."""
        return {"brute": self.corners.shape[0], "bvh": 64}.get(self.backend, 4)

    def _triangles(self, rank: int) -> Triangles:
        c = self.corners.reshape(self.corners.shape[:1] + (1,) * rank + (3, 3))
        return Triangles.from_corners(*(Vecs.of(c[..., k, :]) for k in range(3)))

    def nearest(self, origins: Vecs, directions: Vecs) -> Int[Array, "*rays"]:
        """The face each ray meets first, `-1` for none."""
        origins, directions = (jax.lax.stop_gradient(v) for v in (origins, directions))
        if self.backend == "bvh":
            return _bvh.nearest_faces(self.tree, origins, directions)
        if self.backend == "brute":
            t = self._triangles(len(origins.shape)).intersect(origins, directions)
            return jnp.where(jnp.isfinite(jnp.min(t, axis=0)), jnp.argmin(t, axis=0), -1).astype(jnp.int32)
        return _embree_query(jax.lax.stop_gradient(self.corners), origins, directions, None)

    def blocks(self, origins: Vecs, directions: Vecs, distances: Float[Array, "*rays"]) -> Bool[Array, "*rays"]:
        """Whether some face lies along each ray at a distance in `(0, distances)`."""
        origins, directions, distances = jax.lax.stop_gradient((origins, directions, distances))
        if self.backend == "bvh":
            return _bvh.any_face(self.tree, origins, directions, distances)
        if self.backend == "brute":
            return jnp.any(self._triangles(len(distances.shape)).occludes(origins, directions, distances), axis=0)
        return _embree_query(jax.lax.stop_gradient(self.corners), origins, directions, distances) >= 0


def _embree_query(corners, origins: Vecs, directions: Vecs, distances) -> Int[Array, "*rays"]:
    shape = origins.shape if distances is None else distances.shape
    flat = lambda a: jnp.broadcast_to(a, shape).reshape(-1)  # noqa: E731
    # Embree computes in float32 from t = 0: rays leaving a surface start a float32-sized step
    # along their direction (the integrator's offset is sized for the scene's dtype, which may
    # be float64), so they never hit the surface they leave.
    step = np.sqrt(np.finfo(np.float32).eps) * (1 + jnp.maximum(jnp.maximum(jnp.abs(origins.x), jnp.abs(origins.y)),
                                                               jnp.abs(origins.z)))
    origins = origins + directions * step
    if distances is not None:
        distances = distances - step
    o = jnp.stack([flat(c) for c in origins], axis=1)
    d = jnp.stack([flat(c) for c in directions], axis=1)
    args = (corners, o, d) if distances is None else (corners, o, d, flat(distances))

    def host(corners, o, d, t=None):
        # Under `vmap` (the render's device axis) the callback sees a leading batch axis.
        if o.ndim == 2:
            return _embree.query(corners, o, d, t)
        corners = np.broadcast_to(corners, o.shape[:1] + corners.shape[-3:])
        return np.stack([_embree.query(corners[i], o[i], d[i], None if t is None else t[i]) for i in range(o.shape[0])])

    out = jax.ShapeDtypeStruct(o.shape[:1], jnp.int32)
    face = jax.pure_callback(host, out, *args, vmap_method="expand_dims")
    return face.reshape(shape)
