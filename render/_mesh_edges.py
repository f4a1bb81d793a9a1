"""The edges of triangles and meshes for the boundary terms (`_boundary`): which are silhouettes
seen from a point, how points are sampled on them, and where their shadows fall.

Edge sampling (Li et al. 2018, Sec. 4). Each mesh, and the batch of all lone `Triangle`s, is one
`EdgeSet`, every edge listed once. Seen from the eye the candidates are its silhouette edges (both
faces on one side of the plane through the eye and the edge), its boundary edges (one face) and,
when it is flat-shaded, its creases (the shading jumps where the normal turns); seen from a hard
light, its silhouette and boundary edges, whose shadows fall where the rays grazing them meet the
next surface. Samples are stratified over the candidates joined end to end, each edge weighted by
its projected length (creases also by how far the normal turns), so the estimate of the line
integral is consistent whatever the weights: each sample carries the inverse of its density.
Which edge a sample lands on and where along it are choices, made without a gradient; the point
then moves with every float it depends on. A sample counts only where its edge point is the
first surface seen from the eye (or, for a shadow, the rim is the first surface seen from the
light), so hidden edges cost a ray and add nothing.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from ._camera import Camera
from ._directional_light import DirectionalLight
from ._integrator import nearest_hit, occluded, offset_length
from ._point_light import PointLight
from ._scene import Batched
from ._triangle import Triangles
from ._types import Array, Bool, Float, Int
from ._vector import Vecs, cross, dot, normalize, safe_rsqrt, safe_sqrt, vecs_where


class EdgeSet(eqx.Module):
    """The edges of one mesh (or of all lone triangles), one entry per half-edge `E`: its two
    ends, the third corner of its face and of the face across it (`other`, equal to `opposite`
    on a boundary edge), whether a second face shares it, and whether the entry is listed (each
    shared edge is listed by one of its half-edges)."""

    start: Vecs
    end: Vecs
    opposite: Vecs
    other: Vecs
    shared: Bool[Array, " E"]
    listed: Bool[Array, " E"]
    flat: bool = eqx.field(static=True)

    @property
    def count(self) -> int:
        return self.shared.shape[0]

    def point(self, index: Int[Array, "*n"], t: Float[Array, "*n"]) -> Vecs:
        """The point a fraction `t` of the way along edge `index`."""
        a, b = self.start.map(lambda c: c[index]), self.end.map(lambda c: c[index])
        return a + (b - a) * t

    def outward(self, index: Int[Array, "*n"]) -> Vecs:
        """A unit direction away from the edge's face(s), perpendicular to the edge: rays leaving
        its points nudged along it miss the faces they graze."""
        a, b = self.start.map(lambda c: c[index]), self.end.map(lambda c: c[index])
        e = normalize(b - a)

        def inward(corner: Vecs) -> Vecs:
            d = corner.map(lambda c: c[index]) - a
            return normalize(d - e * dot(d, e))

        d1 = inward(self.opposite)
        d2 = vecs_where(self.shared[index], inward(self.other), d1)
        away = -(d1 + d2)
        # Two coplanar faces: the edge lies inside a plane, so leave along the plane's normal.
        flat = dot(away, away) < 1e-12
        return vecs_where(flat, normalize(cross(e, d1)), normalize(away))


def edge_sets(scene: Batched) -> list[EdgeSet]:
    """One `EdgeSet` per triangle mesh of `scene`, and one for all its lone triangles."""
    sets = []
    for kind in scene.kinds:
        if isinstance(kind, Triangles):
            corners = [kind.v0, kind.v0 + kind.edge1, kind.v0 + kind.edge2]
            joined = lambda k: Vecs(*(jnp.concatenate([corners[(k + j) % 3][c] for j in range(3)])  # noqa: E731
                                      for c in range(3)))
            start, end, opposite = joined(0), joined(1), joined(2)
            none = jnp.zeros(start.shape, bool)
            sets.append(EdgeSet(start, end, opposite, opposite, none, ~none, flat=True))
    for mesh in scene.meshes:
        flat_corners = mesh.corners.reshape(-1, 3)  # half-edge 3 f + k starts at corner k of face f
        h = jnp.arange(flat_corners.shape[0], dtype=jnp.int32)
        f, k = h // 3, h % 3
        at = lambda i: Vecs.of(flat_corners[i])  # noqa: E731
        twins = jnp.full(h.shape, -1, jnp.int32) if mesh.twins is None else mesh.twins
        twin = jnp.maximum(twins, 0)
        sets.append(EdgeSet(
            at(h), at(3 * f + (k + 1) % 3), at(3 * f + (k + 2) % 3), at(3 * (twin // 3) + (twin % 3 + 2) % 3),
            twins >= 0, twins >= -1, flat=mesh.normals is None,
        ))
    return sets


class View(eqx.Module):
    """Where edges are seen from: a point (the eye, a point light) or, for a directional light,
    the direction its light travels (`point` None)."""

    point: Vecs | None
    travel: Vecs | None


def hard_light_views(scene: Batched) -> list[View]:
    """One `View` per point or directional light of `scene` (one per light of a batch)."""
    views = []
    for light in scene.lights:
        if isinstance(light, (PointLight, DirectionalLight)):
            for i in range(light.num_samples(1)):
                v = light._flat()[0].map(lambda a, i=i: a[i])
                views.append(View(v, None) if isinstance(light, PointLight) else View(None, normalize(v)))
    return views


def _folds(edges: EdgeSet, view: View) -> tuple[Bool[Array, " E"], Bool[Array, " E"]]:
    """Which shared edges are silhouettes seen from `view` (both faces on one side of the plane
    through the viewpoint and the edge) and which are creases (the faces on either side)."""
    e = edges.end - edges.start
    towards = edges.start - view.point if view.point is not None else view.travel
    m = cross(e, towards)
    side = dot(m, edges.opposite - edges.start) * dot(m, edges.other - edges.start)
    return edges.shared & (side > 0), edges.shared & (side < 0)


def _turn(edges: EdgeSet) -> Float[Array, " E"]:
    """How far the normal turns across each shared edge (0 for coplanar faces), whichever way
    the faces are wound."""
    e = edges.end - edges.start
    n1 = normalize(cross(e, edges.opposite - edges.start))
    n2 = normalize(cross(edges.other - edges.start, e))
    d, s = n1 - n2, n1 + n2
    return jnp.minimum(safe_sqrt(dot(d, d)), safe_sqrt(dot(s, s)))


def eye_weights(edges: EdgeSet, camera: Camera, lights: list[View]) -> Float[Array, " E"]:
    """How many samples (relatively) each edge gets seen from the eye: its length in the image
    (pixels; its angular size where it reaches behind the camera) if it is a candidate, else 0.
    Silhouettes seen from the hard `lights` are candidates too: a smooth-shaded face beyond one
    is in the mesh's own shadow."""
    eye = Vecs.of(camera.eye)
    fold, crease = _folds(edges, View(eye, None))
    for light in lights:
        fold = fold | _folds(edges, light)[0]
    r0, c0, d0 = camera.project(edges.start)
    r1, c1, d1 = camera.project(edges.end)
    image = safe_sqrt((r1 - r0) ** 2 + (c1 - c0) ** 2)
    e, mid = edges.end - edges.start, (edges.start + edges.end) * 0.5 - eye
    angular = safe_sqrt(dot(e, e)) * safe_rsqrt(dot(mid, mid)) * camera.width / (2 * jnp.tan(jnp.deg2rad(camera.fov) / 2))
    length = jnp.where((d0 > 0) & (d1 > 0), image, angular)
    kind = jnp.where(fold | ~edges.shared, 1.0, jnp.where(crease, _turn(edges), 0.0) if edges.flat else 0.0)
    return jax.lax.stop_gradient(jnp.where(edges.listed, length * kind, 0))


def light_weights(edges: EdgeSet, view: View) -> Float[Array, " E"]:
    """How many samples (relatively) each edge gets for the shadow it casts from a hard light:
    its angular length seen from the light (its length across the light's direction for a
    directional one) if it is a silhouette or boundary edge, else 0."""
    fold, _ = _folds(edges, view)
    e = edges.end - edges.start
    if view.point is not None:
        mid = (edges.start + edges.end) * 0.5 - view.point
        across = cross(e, mid)
        length = safe_sqrt(dot(across, across)) / jnp.maximum(dot(mid, mid), 1e-30)
    else:
        across = cross(e, view.travel)
        length = safe_sqrt(dot(across, across))
    return jax.lax.stop_gradient(jnp.where(edges.listed & (fold | ~edges.shared), length, 0))


def choose(weights: Float[Array, " E"], u: Float[Array, " n"]):
    """Edges and positions along them for stratified uniforms `u`: the edge in whose share of
    the weights' running total `u` falls, the fraction `t` along it, and the sample's measure
    `1 / (n * probability of its edge)` (0 where no edge has weight); no gradient."""
    weights, u = jax.lax.stop_gradient((weights, u))
    total = jnp.sum(weights)
    cdf = jnp.cumsum(weights) / jnp.where(total > 0, total, 1)
    index = jnp.clip(jnp.searchsorted(cdf, u, side="right"), 0, weights.shape[0] - 1).astype(jnp.int32)
    p = weights[index] / jnp.where(total > 0, total, 1)
    ok = p > 0
    t = jnp.clip((u - (cdf[index] - p)) / jnp.where(ok, p, 1), 0, 1)
    return index, t, jnp.where(ok, 1 / (u.shape[0] * jnp.where(ok, p, 1)), 0)


def single_precision_hits(scene: Batched) -> bool:
    """Whether some mesh's hits are found in single precision (Embree), whatever the dtype."""
    return any(mesh.backend == "embree" for mesh in scene.meshes)


def _tolerance(scene: Batched, dtype) -> float:
    # Hit distances are relative-accurate to a few ulps of the precision hits are found in, but
    # grazing hits at the edge itself (both of its faces) may land a little short of it.
    return math.sqrt(jnp.finfo(jnp.float32 if single_precision_hits(scene) else dtype).eps)


def seen_from(scene: Batched, origin: Vecs, points: Vecs) -> Bool[Array, "*n"]:
    """Whether nothing lies between `origin` and `points` (hits within the tolerance of
    `points` do not count: they are the surfaces the points lie on)."""
    d = points - origin
    dist2 = dot(d, d)
    inv = safe_rsqrt(dist2)
    length = dist2 * inv
    origins = origin.map(lambda a: jnp.broadcast_to(a, length.shape))
    return ~occluded(scene, origins, d * inv, length * (1 - _tolerance(scene, length.dtype)))


def eye_points(scene: Batched, camera: Camera, edges: EdgeSet, index, t) -> tuple[Vecs, Bool[Array, "*n"]]:
    """The edge points `t` along edges `index`, and whether the eye sees them."""
    points = edges.point(index, t)
    return points, seen_from(scene, Vecs.of(camera.eye), points)


def shadow_points(scene: Batched, camera: Camera, edges: EdgeSet, view: View, index, t) -> tuple[Vecs, Bool[Array, "*n"]]:
    """Where the light rays grazing edge points `t` along edges `index` meet the next surface
    (the edge of the shadow), and whether that point is a shadow edge the eye sees."""
    rim = edges.point(index, t)
    # Off the faces the ray grazes by more than the rounding of the precision hits are found in.
    scale = math.sqrt(jnp.finfo(jnp.float32).eps / jnp.finfo(rim.dtype).eps) if single_precision_hits(scene) else 1.0
    nudged = rim + edges.outward(index) * (offset_length(rim) * scale)
    if view.point is not None:
        lit = seen_from(scene, view.point, rim)
        towards = normalize(rim - view.point)
    else:
        towards = view.travel.map(lambda a: jnp.broadcast_to(a, t.shape))
        lit = ~occluded(scene, nudged, -towards, jnp.full(t.shape, jnp.inf, t.dtype))
    hit = nearest_hit(scene, nudged, towards)
    points = hit.position
    return points, lit & hit.hit & seen_from(scene, Vecs.of(camera.eye), points)
