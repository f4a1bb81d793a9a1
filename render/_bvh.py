"""A bounding-volume hierarchy over a triangle mesh, traversed in JAX (every backend).

The tree is implicit and complete: `2^depth` leaves of `LEAF_SIZE` triangle slots each, node `k`
with children `2k + 1` and `2k + 2`, leaves last. Only the order of the triangles in the slots
depends on the geometry (`BVHOrder`, built once on the host); the boxes are recomputed from the
current vertices inside the compiled function by a reduction per level (O(triangles)), so a mesh
whose vertices are being optimised keeps a valid tree, and no array's shape depends on the data.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._types import Array, Bool, Float, Int
from ._vector import Vecs, cross, dot

#: Triangles per leaf.
LEAF_SIZE = 4


def tree_depth(count: int) -> int:
    """Levels below the root for `count` triangles (leaves hold up to `LEAF_SIZE`)."""
    return max(0, math.ceil(math.log2(max(1, -(-count // LEAF_SIZE)))))


def host_order(corners: np.ndarray) -> np.ndarray:
    """The face in each slot (`-1` for an empty slot): recursive median splits along each node's
    longest centroid extent, so every node's triangles are its slots' contiguous range.

    `corners` is `(F, 3 corners, 3 xyz)`; the result has `LEAF_SIZE * 2^depth` entries.
    """
    count = corners.shape[0]
    depth = tree_depth(count)
    slots = LEAF_SIZE << depth
    if count == 0:
        return np.full(slots, -1, np.int32)
    centroids = corners.mean(axis=1)
    order = np.arange(count)
    for level in range(depth):
        size = slots >> level  # slots per node at this level: nodes cover contiguous slot ranges
        segment = np.arange(count) // size
        c = centroids[order]
        lo = np.full((slots, 3), np.inf)
        hi = np.full((slots, 3), -np.inf)
        lo[:count], hi[:count] = c, c
        extent = hi.reshape(-1, size, 3).max(axis=1) - lo.reshape(-1, size, 3).min(axis=1)
        axis = np.argmax(extent, axis=1)[segment]
        key = c[np.arange(count), axis]
        order = order[np.lexsort((key, segment))]
    return np.concatenate([order, np.full(slots - count, -1)]).astype(np.int32)


def traced_order(corners: Float[Array, "F 3 3"]) -> Int[Array, " slots"]:
    """A slot order computed under `jit` (for meshes built from traced vertices): triangles
    sorted along the Morton curve of their centroids, a linear BVH (Karras 2012) on the same
    complete tree."""
    count = corners.shape[0]
    slots = LEAF_SIZE << tree_depth(count)
    if count == 0:
        return jnp.full(slots, -1, jnp.int32)
    centroids = jax.lax.stop_gradient(jnp.mean(corners, axis=1))
    lo, hi = jnp.min(centroids, axis=0), jnp.max(centroids, axis=0)
    cells = jnp.clip((centroids - lo) / jnp.where(hi > lo, hi - lo, 1) * 1023, 0, 1023).astype(jnp.uint32)
    code = jnp.zeros(count, jnp.uint32)
    for bit in range(10):
        for axis in range(3):
            code = code | (((cells[:, axis] >> bit) & 1) << (3 * bit + 2 - axis))
    order = jnp.argsort(code).astype(jnp.int32)
    return jnp.concatenate([order, jnp.full(slots - count, -1, jnp.int32)])


class SlotTriangles(eqx.Module):
    """The mesh's triangles in slot order (`v0`, edges; empty slots are degenerate at the
    origin, which no ray hits) and the tree's boxes, root first (`lo`, `hi`, each `(nodes,)` per
    component)."""

    v0: Vecs
    edge1: Vecs
    edge2: Vecs
    lo: Vecs
    hi: Vecs
    faces: Int[Array, " slots"]
    depth: int = eqx.field(static=True)


def refit(corners: Float[Array, "F 3 3"], order: Int[Array, " slots"]) -> SlotTriangles:
    """The slot triangles and every node's bounding box for the current `corners` (no gradient:
    the tree only decides which triangles a ray is tested against)."""
    corners = jax.lax.stop_gradient(corners)
    slots = order.shape[0]
    depth = round(math.log2(slots // LEAF_SIZE))
    filled = order >= 0
    c = jnp.where(filled[:, None, None], corners[jnp.maximum(order, 0)], 0)
    v0, v1, v2 = Vecs.of(c[:, 0]), Vecs.of(c[:, 1]), Vecs.of(c[:, 2])
    # Boxes grow by a relative sliver so that rounding in the slab test never drops a triangle.
    lo_t = jnp.where(filled[:, None], jnp.min(c, axis=1), jnp.inf)
    hi_t = jnp.where(filled[:, None], jnp.max(c, axis=1), -jnp.inf)
    pad = 1e-5 * (jnp.abs(lo_t) + jnp.abs(hi_t) + (hi_t - lo_t)) + 1e-30
    pad = jnp.where(filled[:, None], pad, 0)
    lo_level = jnp.min((lo_t - pad).reshape(-1, LEAF_SIZE, 3), axis=1)
    hi_level = jnp.max((hi_t + pad).reshape(-1, LEAF_SIZE, 3), axis=1)
    los, his = [lo_level], [hi_level]
    for _ in range(depth):
        lo_level = jnp.min(lo_level.reshape(-1, 2, 3), axis=1)
        hi_level = jnp.max(hi_level.reshape(-1, 2, 3), axis=1)
        los.append(lo_level)
        his.append(hi_level)
    lo = jnp.concatenate(los[::-1], axis=0)
    hi = jnp.concatenate(his[::-1], axis=0)
    return SlotTriangles(v0, v1 - v0, v2 - v0, Vecs.of(lo), Vecs.of(hi), order, depth)


def _slab(lo: Vecs, hi: Vecs, origin: Vecs, inverse: Vecs, t_max) -> tuple[Bool[Array, ""], Float[Array, ""]]:
    """Whether the ray enters the box before `t_max` (and leaves it after 0), and where it enters."""
    a = (lo - origin) * inverse
    b = (hi - origin) * inverse
    near = jnp.maximum(jnp.maximum(jnp.minimum(a.x, b.x), jnp.minimum(a.y, b.y)), jnp.minimum(a.z, b.z))
    far = jnp.minimum(jnp.minimum(jnp.maximum(a.x, b.x), jnp.maximum(a.y, b.y)), jnp.maximum(a.z, b.z))
    return (near <= far) & (far > 0) & (near < t_max), near


def _leaf_hits(tris: SlotTriangles, leaf: Int[Array, ""], origin: Vecs, direction: Vecs):
    """Distances to the `LEAF_SIZE` triangles of `leaf` (`inf` where missed) and their slots."""
    slot = leaf.astype(jnp.int32) * LEAF_SIZE + jnp.arange(LEAF_SIZE, dtype=jnp.int32)
    take = lambda v: v.map(lambda a: a[slot])  # noqa: E731
    v0, e1, e2 = take(tris.v0), take(tris.edge1), take(tris.edge2)
    p = cross(direction, e2)
    det = dot(e1, p)
    ok = det != 0
    inv = 1 / jnp.where(ok, det, 1)
    s = origin - v0
    u = dot(s, p) * inv
    q = cross(s, e1)
    v = dot(direction, q) * inv
    t = dot(e2, q) * inv
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
    return jnp.where(hit, t, jnp.inf), slot


def _traverse(tris: SlotTriangles, origin: Vecs, direction: Vecs, t_max, any_hit: bool):
    """One ray through the tree: the nearest slot hit before `t_max` (or, with `any_hit`, the
    first found) and its distance."""
    tiny = jnp.asarray(1e-30, direction.dtype)
    inverse = direction.map(lambda d: 1 / jnp.where(jnp.abs(d) < tiny, jnp.where(d < 0, -tiny, tiny), d))
    n_internal = (1 << tris.depth) - 1
    stack_size = tris.depth + 2
    box = lambda k: (tris.lo.map(lambda a: a[k]), tris.hi.map(lambda a: a[k]))  # noqa: E731
    root_hit, _ = _slab(*box(0), origin, inverse, t_max)
    stack = jnp.zeros(stack_size, jnp.int32)
    init = (stack, root_hit.astype(jnp.int32), jnp.asarray(t_max, direction.dtype), jnp.int32(-1))

    def cond(state):
        _, top, t_best, slot_best = state
        going = top > 0
        return going & (slot_best < 0) if any_hit else going

    def body(state):
        stack, top, t_best, slot_best = state
        top = top - 1
        node = stack[top]
        internal = node < n_internal
        # An internal node: push the children whose boxes the ray enters before the best hit so
        # far, the nearer one last (popped first).
        left = jnp.where(internal, 2 * node + 1, 0)
        hit_l, near_l = _slab(*box(left), origin, inverse, t_best)
        hit_r, near_r = _slab(*box(left + 1), origin, inverse, t_best)
        hit_l, hit_r = hit_l & internal, hit_r & internal
        left_first = near_l <= near_r
        first = jnp.where(left_first, left + 1, left)  # pushed first: the farther child
        second = jnp.where(left_first, left, left + 1)
        first_hit = jnp.where(left_first, hit_r, hit_l)
        second_hit = jnp.where(left_first, hit_l, hit_r)
        stack = jnp.where(first_hit, stack.at[top].set(first), stack)
        top = top + first_hit
        stack = jnp.where(second_hit, stack.at[top].set(second), stack)
        top = top + second_hit
        # A leaf: test its triangles.
        t, slots = _leaf_hits(tris, jnp.where(internal, 0, node - n_internal), origin, direction)
        t = jnp.where(internal, jnp.inf, t)
        i = jnp.argmin(t)
        better = t[i] < t_best
        return stack, top, jnp.where(better, t[i], t_best), jnp.where(better, slots[i], slot_best)

    _, _, t_best, slot_best = jax.lax.while_loop(cond, body, init)
    return slot_best, t_best


def nearest_faces(tris: SlotTriangles, origins: Vecs, directions: Vecs) -> Int[Array, "*rays"]:
    """The face each ray hits first (`-1` for none)."""
    shape = origins.shape
    flat = lambda v: v.map(lambda a: jnp.broadcast_to(a, shape).reshape(-1))  # noqa: E731
    slot, _ = jax.vmap(lambda o, d: _traverse(tris, o, d, jnp.inf, False))(flat(origins), flat(directions))
    face = jnp.where(slot >= 0, tris.faces[jnp.maximum(slot, 0)], -1)
    return face.reshape(shape)


def any_face(tris: SlotTriangles, origins: Vecs, directions: Vecs, distances: Float[Array, "*rays"]) -> Bool[Array, "*rays"]:
    """Whether each ray hits some face at a distance in `(0, distances)`."""
    shape = distances.shape
    flat = lambda a: jnp.broadcast_to(a, shape).reshape(-1)  # noqa: E731
    slot, _ = jax.vmap(lambda o, d, t: _traverse(tris, o, d, t, True))(
        origins.map(flat), directions.map(flat), flat(distances)
    )
    return (slot >= 0).reshape(shape)
