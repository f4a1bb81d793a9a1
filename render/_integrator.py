"""Radiance along rays: nearest hits, direct light with shadow rays, mirror bounces.

Rays are `Vecs` (one array per component). A kind with few primitives is tested one primitive at
a time, so a whole bounce fuses into a few loops over the rays; a kind with many (a mesh) is
tested as one `(primitives, rays)` array operation.
"""

import math
from typing import NamedTuple

import jax.numpy as jnp

from . import _sampling
from ._base import AbstractPrimitives
from ._scene import Batched
from ._types import Array, Bool, Float, Int
from ._vector import Vecs, any_leading, dot, normalize, sum_leading, unrolled, vecs_where

# Rows of `Batched.shading`.
_NORMAL, _ALBEDO, _EMISSION, _SPECULAR, _SHININESS, _REFLECTIVITY = 0, 4, 7, 10, 13, 14


class _Hit(NamedTuple):
    """Where rays first hit the scene: the `shading` rows of the surface hit (only those the
    scene needs: normal and albedo, then emission, then the glossy terms), each shaped like the rays."""

    hit: Bool[Array, "*rays"]
    position: Vecs
    normal: Vecs
    rows: tuple[Float[Array, "*rays"], ...]


def _rows_needed(scene: Batched) -> int:
    if not scene.lambertian:
        return 17
    return _SPECULAR if scene.emissive else _EMISSION


def _nearest(kind: AbstractPrimitives, origins: Vecs, directions: Vecs):
    """`(distance, index)` of the nearest of `kind`'s primitives along each ray (`inf`, 0 on a miss)."""
    if unrolled(kind.count):
        t, index = None, jnp.zeros(origins.shape, jnp.int32)
        for j, primitive in enumerate(kind.split()):
            d = primitive.intersect(origins, directions)
            if t is None:
                t = d
            else:
                closer = d < t
                t, index = jnp.where(closer, d, t), jnp.where(closer, j, index)
        return t, index
    distances = kind.against(len(origins.shape)).intersect(origins, directions)
    return jnp.min(distances, axis=0), jnp.argmin(distances, axis=0)


def nearest_hit(scene: Batched, origins: Vecs, directions: Vecs) -> _Hit:
    """The first surface along each ray: whether there is one, its point, face-forward unit
    normal (towards the ray's origin) and shading rows."""
    table = scene.shading[: _rows_needed(scene)]
    batch = origins.shape
    if not scene.kinds:
        zeros = origins.map(jnp.zeros_like)
        return _Hit(jnp.zeros(batch, bool), zeros, zeros, tuple(jnp.zeros(batch, origins.dtype) for _ in table))
    t = jnp.full(batch, jnp.inf, origins.dtype)
    rows = [jnp.zeros(batch, table.dtype) for _ in table]
    column = 0
    for kind in scene.kinds:
        d, index = _nearest(kind, origins, directions)
        closer = d < t
        t = jnp.where(closer, d, t)
        columns = table[:, column : column + kind.count]
        if kind.count == 1:
            rows = [jnp.where(closer, columns[i, 0], r) for i, r in enumerate(rows)]
        elif unrolled(kind.count):
            # A chain of selects over the few primitives: no gather in the loop over rays.
            for i, r in enumerate(rows):
                value = columns[i, 0]
                for j in range(1, kind.count):
                    value = jnp.where(index == j, columns[i, j], value)
                rows[i] = jnp.where(closer, value, r)
        else:
            rows = [jnp.where(closer, jnp.take(columns[i], index), r) for i, r in enumerate(rows)]
        column += kind.count
    hit = t < jnp.inf
    t = jnp.where(hit, t, 0)  # a finite stand-in, so misses never put inf into the gradient
    position = origins + directions * t
    normal = normalize(position * rows[_NORMAL] + Vecs(*rows[_NORMAL + 1 : _NORMAL + 4]))
    normal = vecs_where(dot(normal, directions) > 0, -normal, normal)
    return _Hit(hit, position, normal, tuple(rows))


def occluded(scene: Batched, origins: Vecs, directions: Vecs, distances: Float[Array, "*rays"]) -> Bool[Array, "*rays"]:
    """Whether anything lies along each ray closer than `distances`."""
    blocked = jnp.zeros(distances.shape, bool)
    for kind in scene.kinds:
        if unrolled(kind.count):
            for primitive in kind.split():
                blocked = blocked | primitive.occludes(origins, directions, distances)
        else:
            blocked = blocked | any_leading(kind.against(len(distances.shape)).occludes(origins, directions, distances))
    return blocked


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
    lit = (cos > 0) & ~occluded(scene, x + n * nudge, direction, shadow_length)
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
        origins = offset(hit.position, hit.normal)
    return total
