"""Radiance along rays: nearest hits, direct light with shadow rays, mirror bounces.

Every function works on batches of rays stored component-first (`(3, n)`) and on all primitives
of a kind at once, so one XLA fusion tests every ray against every sphere.
"""

import math
from typing import NamedTuple

import jax.numpy as jnp

from . import _sampling
from ._scene import Batched
from ._types import Array, Bool, Float, Int, Vecs
from ._vector import dot, normalize, sum_leading, unrolled

# Rows of `Batched.shading`.
_NORMAL, _ALBEDO, _EMISSION, _SPECULAR, _SHININESS, _REFLECTIVITY = 0, 4, 7, 10, 13, 14


class _Hit(NamedTuple):
    """Where rays first hit the scene: the `shading` rows of the surface hit (only those the
    scene needs: normal and albedo, then emission, then the glossy terms)."""

    hit: Bool[Array, "*rays"]
    position: Vecs
    normal: Vecs
    rows: Float[Array, "k *rays"]


def _rows_needed(scene: Batched) -> int:
    if not scene.lambertian:
        return 17
    return _SPECULAR if scene.emissive else _EMISSION


def nearest_hit(scene: Batched, origins: Vecs, directions: Vecs) -> _Hit:
    """The first surface along each ray: whether there is one, its point, face-forward unit
    normal (towards the ray's origin) and shading rows."""
    table = scene.shading[: _rows_needed(scene)]
    batch = origins.shape[1:]
    if not scene.kinds:
        zeros = jnp.zeros_like(origins)
        return _Hit(jnp.zeros(batch, bool), zeros, zeros, jnp.zeros((table.shape[0],) + batch, origins.dtype))
    if unrolled(scene.count):
        # A running nearest hit, one primitive at a time: it fuses into one loop over the rays.
        t = jnp.full(batch, jnp.inf, origins.dtype)
        rows = jnp.zeros((table.shape[0],) + batch, table.dtype)
        column = 0
        for kind in scene.kinds:
            distances = kind.intersect(origins, directions)
            for j in range(distances.shape[0]):
                closer = distances[j] < t
                t = jnp.where(closer, distances[j], t)
                rows = jnp.where(closer, table[:, column].reshape((-1,) + (1,) * len(batch)), rows)
                column += 1
    else:
        distances = jnp.concatenate([kind.intersect(origins, directions) for kind in scene.kinds], axis=0)
        t = jnp.min(distances, axis=0)
        rows = jnp.take(table, jnp.argmin(distances, axis=0), axis=1)
    hit = t < jnp.inf
    t = jnp.where(hit, t, 0)  # a finite stand-in, so misses never put inf into the gradient
    position = origins + t * directions
    normal = normalize(rows[_NORMAL] * position + rows[_NORMAL + 1 : _NORMAL + 4])
    normal = jnp.where(dot(normal, directions) > 0, -normal, normal)
    return _Hit(hit, position, normal, rows)


def occluded(scene: Batched, origins: Vecs, directions: Vecs, distances: Float[Array, "*rays"]) -> Bool[Array, "*rays"]:
    """Whether anything lies along each ray closer than `distances`."""
    blocked = jnp.zeros(distances.shape, bool)
    for kind in scene.kinds:
        blocked = blocked | kind.occludes(origins, directions, distances)
    return blocked


def offset_length(position: Vecs) -> Float[Array, "*rays"]:
    """How far `offset` moves a point: far enough that rounding cannot put it back on its surface."""
    scale = 1 + jnp.maximum(jnp.maximum(jnp.abs(position[0]), jnp.abs(position[1])), jnp.abs(position[2]))
    return math.sqrt(jnp.finfo(position.dtype).eps) * scale


def offset(position: Vecs, normal: Vecs) -> Vecs:
    """`position` nudged off its surface along `normal`, so rays leaving it do not hit it again."""
    return position + normal * offset_length(position)


def direct_light(scene: Batched, hit: _Hit, view: Vecs, uniforms) -> Vecs:
    """Radiance reflected towards `view` (unit, pointing away from the surface) from every light."""
    x, n, rows = hit.position, hit.normal, hit.rows
    directions, distances, weights = [], [], []
    for i, light in enumerate(scene.lights):
        samples = light.sample(x, uniforms(i) if light.needs_random else None)
        directions.append(samples.direction)
        distances.append(samples.distance)
        weights.append(samples.weight)
    if not directions:
        return jnp.zeros_like(x)
    direction = jnp.concatenate(directions, axis=1)  # (3, samples, *rays)
    distance = jnp.concatenate(distances, axis=0)
    weight = jnp.concatenate(weights, axis=1)
    cos = dot(n[:, None], direction)
    # Shadow rays start `offset_length` off the surface, up to that much nearer the light; they
    # stop short of it by that and a little more, so an area light's own sphere never shadows it.
    nudge = offset_length(x)
    shadow_length = (distance - nudge) * (1 - 1e-6)
    lit = (cos > 0) & ~occluded(scene, (x + n * nudge)[:, None], direction, shadow_length)
    brdf = rows[_ALBEDO : _ALBEDO + 3, None] / math.pi
    if not scene.lambertian:
        half = normalize(direction + view[:, None])
        cos_h = jnp.maximum(dot(n[:, None], half), 0)
        shininess = rows[_SHININESS, None]
        positive = cos_h > 0
        lobe = jnp.where(positive, jnp.where(positive, cos_h, 1) ** shininess, 0)
        brdf = brdf + rows[_SPECULAR : _SPECULAR + 3, None] * ((shininess + 8) / (8 * math.pi) * lobe)
    contribution = jnp.where(lit, brdf * weight * cos, 0)  # (3, samples, *rays)
    return sum_leading(jnp.moveaxis(contribution, 1, 0))


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
    """Radiance arriving at `origins` along unit `directions`, W/(sr m^2) per channel, `(3, *rays)`.

    `ids` name the rays for the random numbers (`seed`), which area lights use.
    """
    total = jnp.zeros_like(origins)
    throughput = jnp.ones_like(origins)
    background = scene.background.astype(origins.dtype).reshape((3,) + (1,) * (origins.ndim - 1))
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
            here = here + hit.rows[_EMISSION : _EMISSION + 3]
        total = total + throughput * jnp.where(hit.hit, here, background)
        if depth == bounces:
            break
        throughput = throughput * jnp.where(hit.hit, hit.rows[_REFLECTIVITY : _REFLECTIVITY + 3], 0)
        directions = normalize(directions - 2 * dot(directions, hit.normal) * hit.normal)
        origins = offset(hit.position, hit.normal)
    return total
