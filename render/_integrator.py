"""Radiance along rays: nearest hits, direct light with shadow rays, mirror bounces.

Rays are `Vecs` (one array per component); every primitive is tested against every ray as one
`(primitives, rays)` array operation, and reductions over the primitives pick the nearest hit
and decide shadows.
"""

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from . import _sampling
from ._scene import Batched
from ._types import Array, Bool, Float, Int
from ._vector import Vecs, cross, dot, normalize, sum_leading, vecs_where

# Rows of `Batched.shading`.
_NORMAL, _ALBEDO, _EMISSION, _SPECULAR, _SHININESS, _REFLECTIVITY = 0, 4, 7, 10, 13, 14


class _Hit(NamedTuple):
    """Where rays first hit the scene: the `shading` rows of the surface hit (only those the
    scene needs: normal and albedo, then emission, then the glossy terms), each shaped like the rays."""

    hit: Bool[Array, "*rays"]
    position: Vecs
    normal: Vecs  # the shading normal
    geometric: Vecs  # the surface's own normal, on the same side (rays leave along it)
    rows: tuple[Float[Array, "*rays"], ...]


def _rows_needed(scene: Batched) -> int:
    if not scene.lambertian:
        return 17
    return _SPECULAR if scene.emissive else _EMISSION


def _first(distances: Float[Array, "n *rays"]) -> tuple[Float[Array, "*rays"], Int[Array, "*rays"]]:
    """The smallest of `distances` along axis 0 and its index (the first on ties), in one pass."""
    index = jax.lax.broadcasted_iota(jnp.int32, distances.shape, 0)

    def nearer(a, b):
        (ta, ia), (tb, ib) = a, b
        take_b = (tb < ta) | ((tb == ta) & (ib < ia))
        return jnp.where(take_b, tb, ta), jnp.where(take_b, ib, ia)

    init = (jnp.asarray(jnp.inf, distances.dtype), jnp.asarray(0, jnp.int32))
    return jax.lax.reduce((distances, index), init, nearer, (0,))


@jax.custom_jvp
def _chosen(distances, index, nearest):
    """`distances[index]` along axis 0, which is `nearest`: the stored value, with the chosen
    primitive's derivative."""
    return nearest


@_chosen.defjvp
def _chosen_jvp(primals, tangents):
    distances, index, nearest = primals
    return nearest, jnp.take_along_axis(tangents[0], index[None], axis=0)[0]


def nearest_hit(scene: Batched, origins: Vecs, directions: Vecs) -> _Hit:
    """The first surface along each ray: whether there is one, its point, face-forward unit
    normal (towards the ray's origin) and shading rows."""
    needed = _rows_needed(scene)
    table = scene.shading[:needed]
    batch = origins.shape
    if not scene.kinds and not scene.meshes:
        zeros = origins.map(jnp.zeros_like)
        return _Hit(jnp.zeros(batch, bool), zeros, zeros, zeros, tuple(jnp.zeros(batch, origins.dtype) for _ in table))
    if scene.kinds:
        # Every primitive against every ray, `(primitives, *rays)`; which one is nearest is found
        # by one reduction (no gradient: it is a choice), and the distance is then taken from the
        # chosen primitive, so gradients flow to its geometry. A reduction's result is stored, so
        # everything downstream (each colour channel, forward and backward) reads it instead of
        # testing every primitive again.
        distances = jnp.concatenate([kind.against(len(batch)).intersect(origins, directions) for kind in scene.kinds], axis=0)
        nearest, index = _first(jax.lax.stop_gradient(distances))
        t = _chosen(distances, index, nearest)
        rows = [row.at[index].get(mode="promise_in_bounds") for row in table]
    else:
        nearest = jnp.full(batch, jnp.inf, origins.dtype)
        t = nearest
        rows = [jnp.zeros(batch, origins.dtype) for _ in range(needed)]
    mesh_normals = None  # where a mesh face was taken: (taken, geometric normal, shading normal)
    for mesh in scene.meshes:
        # The accelerator chooses the face; its distance (to the face's plane) and normal are
        # computed here from its differentiable corners.
        face = mesh.nearest(origins, directions)
        index = jnp.maximum(face, 0)
        c = mesh.corners[index]  # (*rays, 3, 3)
        v0, v1, v2 = Vecs.of(c[..., 0, :]), Vecs.of(c[..., 1, :]), Vecs.of(c[..., 2, :])
        e1, e2 = v1 - v0, v2 - v0
        n = cross(e1, e2)
        facing = dot(n, directions)
        ok = (face >= 0) & (facing != 0)
        t_mesh = dot(n, v0 - origins) / jnp.where(ok, facing, 1)
        take = ok & (jax.lax.stop_gradient(t_mesh) < nearest)
        nearest = jnp.where(take, jax.lax.stop_gradient(t_mesh), nearest)
        t = jnp.where(take, t_mesh, t)
        rows = [jnp.where(take, mesh.column[i], r) for i, r in enumerate(rows)]
        shade = n
        if mesh.normals is not None:
            # Barycentric coordinates of the hit in the face's plane weight its corners' normals.
            p = origins + directions * jnp.where(take, t_mesh, 0) - v0
            area2 = jnp.where(ok, dot(n, n), 1)
            b1, b2 = dot(cross(p, e2), n) / area2, dot(cross(e1, p), n) / area2
            corner = mesh.normals[index]
            shade = sum((Vecs.of(corner[..., k, :]) * w for k, w in enumerate((1 - b1 - b2, b1, b2))), start=n * 0)
        if mesh_normals is None:
            mesh_normals = (take, n, shade)
        else:
            taken, geometric, shading = mesh_normals
            mesh_normals = (taken | take, vecs_where(take, n, geometric), vecs_where(take, shade, shading))
    hit = nearest < jnp.inf
    t = jnp.where(hit, t, 0)  # finite on a miss
    position = origins + directions * t
    normal = position * rows[_NORMAL] + Vecs(*rows[_NORMAL + 1 : _NORMAL + 4])
    geometric = normal
    if mesh_normals is not None:
        taken, mesh_geometric, mesh_shading = mesh_normals
        geometric = vecs_where(taken, mesh_geometric, normal)
        normal = vecs_where(taken, mesh_shading, normal)
    # Both normals face the ray's origin, as the geometric one decides (a shading normal may
    # lean past the face's plane).
    geometric = normalize(geometric)
    flip = dot(geometric, directions) > 0
    geometric = vecs_where(flip, -geometric, geometric)
    normal = normalize(normal)
    normal = vecs_where(flip, -normal, normal)
    return _Hit(hit, position, normal, geometric, tuple(rows))


def occluded(scene: Batched, origins: Vecs, directions: Vecs, distances: Float[Array, "*rays"]) -> Bool[Array, "*rays"]:
    """Whether anything lies along each ray closer than `distances`."""
    nd = len(distances.shape)
    blocked = [kind.against(nd).occludes(origins, directions, distances) for kind in scene.kinds]
    # A reduction, so its result is stored and read by every channel.
    out = jnp.any(jnp.concatenate(blocked, axis=0), axis=0) if blocked else jnp.zeros(distances.shape, bool)
    for mesh in scene.meshes:
        out = out | mesh.blocks(origins, directions, distances)
    return out


def offset_length(position: Vecs) -> Float[Array, "*rays"]:
    """How far `offset` moves a point: far enough that rounding cannot put it back on its surface."""
    scale = 1 + jnp.maximum(jnp.maximum(jnp.abs(position.x), jnp.abs(position.y)), jnp.abs(position.z))
    return math.sqrt(jnp.finfo(position.dtype).eps) * scale


def offset(position: Vecs, normal: Vecs) -> Vecs:
    """`position` nudged off its surface along `normal`, so rays leaving it do not hit it again."""
    return position + normal * offset_length(position)


def _concatenated(parts: list):
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], Vecs):
        return Vecs(*(jnp.concatenate([p[c] for p in parts], axis=0) for c in range(3)))
    return jnp.concatenate(parts, axis=0)


def direct_light(scene: Batched, hit: _Hit, view: Vecs, uniforms) -> Vecs:
    """Radiance reflected towards `view` (unit, pointing away from the surface) from every light."""
    x, n, rows = hit.position, hit.normal, hit.rows
    samples = [light.sample(x, uniforms(i) if light.needs_random else None) for i, light in enumerate(scene.lights)]
    if not samples:
        return x.map(jnp.zeros_like)
    direction = _concatenated([s.direction for s in samples])  # each component (samples, *rays)
    distance = _concatenated([s.distance for s in samples])
    weight = _concatenated([s.weight for s in samples])
    color = _concatenated([s.color.map(lambda c, d=s.distance: jnp.broadcast_to(c, d.shape[:1] + (1,) * (d.ndim - 1)))
                           for s in samples])
    cos = dot(n, direction)
    # Shadow rays start `offset_length` off the surface, up to that much nearer the light; they
    # stop short of it by that and a little more, so an area light's own sphere never shadows it.
    nudge = offset_length(x)
    shadow_length = (distance - nudge) * (1 - 1e-6)
    lit = (cos > 0) & ~occluded(scene, x + hit.geometric * nudge, direction, shadow_length)
    # Everything per sample is a scalar shared by the three channels; the channels differ only
    # by the light's colour and the surface's reflectances.
    irradiance = jnp.where(lit, cos * weight, 0)  # per unit colour, (samples, *rays)
    albedo = Vecs(*rows[_ALBEDO : _ALBEDO + 3]) / math.pi
    if scene.lambertian:
        return albedo * (color * irradiance).map(sum_leading)
    half = normalize(direction + view)
    cos_h = jnp.maximum(dot(n, half), 0)
    shininess = rows[_SHININESS]
    positive = cos_h > 0
    lobe = jnp.where(positive, jnp.where(positive, cos_h, 1) ** shininess, 0) * ((shininess + 8) / (8 * math.pi))
    specular = Vecs(*rows[_SPECULAR : _SPECULAR + 3])
    return albedo * (color * irradiance).map(sum_leading) + specular * (color * (irradiance * lobe)).map(sum_leading)


def radiance(
    scene: Batched,
    origins: Vecs,
    directions: Vecs,
    ids: Int[Array, "*rays"],
    seed: Int[Array, "2"],
    *,
    max_depth: int,
    light_samples: int,
) -> Vecs:
    """Radiance arriving at `origins` along unit `directions`, W/(sr m^2) per channel (RGB `Vecs`).

    `ids` name the rays for the random numbers (`seed`), which area lights use.
    """
    total = origins.map(jnp.zeros_like)
    throughput = origins.map(jnp.ones_like)
    background = Vecs.of(scene.background.astype(origins.dtype))
    bounces = max_depth if not scene.lambertian else 0
    for depth in range(bounces + 1):
        hit = nearest_hit(scene, origins, directions)

        def light_uniforms(i, depth=depth):
            count = scene.lights[i].num_samples(light_samples)
            u = _sampling.uniforms(seed, ids, 1 + depth * len(scene.lights) + i, count, origins.dtype)
            index = jnp.arange(count).reshape((count,) + (1,) * ids.ndim) % light_samples
            a, b = _sampling.stratify(u[:, 0], u[:, 1], index, light_samples)
            return jnp.stack([a, b], axis=1)

        here = direct_light(scene, hit, -directions, light_uniforms)
        if scene.emissive:
            here = here + Vecs(*hit.rows[_EMISSION : _EMISSION + 3])
        total = total + throughput * vecs_where(hit.hit, here, background)
        if depth == bounces:
            break
        throughput = throughput * Vecs(*hit.rows[_REFLECTIVITY : _REFLECTIVITY + 3]).map(lambda r: jnp.where(hit.hit, r, 0))
        directions = normalize(directions - hit.normal * (2 * dot(directions, hit.normal)))
        origins = offset(hit.position, hit.geometric)
    return total
