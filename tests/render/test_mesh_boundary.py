"""Boundary terms of render gradients at triangle and mesh edges against central finite
differences of high-spp renders with common random numbers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import render
from render._triangle import half_edge_twins

KEY = jax.random.key(3)


def test_half_edge_twins():
    # Two triangles sharing the edge 1-2: half-edges 1 (1->2) and 3 (2->1) pair, listed once.
    twins = np.asarray(half_edge_twins(jnp.array([[0, 1, 2], [2, 1, 3]])))
    assert sorted(twins.tolist()) == [-2, -1, -1, -1, -1, 3] or sorted(twins.tolist()) == [-2, -1, -1, -1, -1, 1]
    shared = np.flatnonzero(twins >= 0)
    assert shared.size == 1 and twins[twins[shared[0]]] == -2
    assert {int(shared[0]), int(twins[shared[0]])} == {1, 3}


def _triangle_loss(spp, boundary=True, size=24):
    def loss(v0):
        tri = render.Triangle(v0, jnp.array([1.0, -0.6, 0.1]), jnp.array([-0.2, 0.9, -0.3]), render.Diffuse(0.8))
        scene = render.Scene([tri], [render.DirectionalLight((0.2, -0.3, -1.0), 3.0)])
        camera = render.Camera((0.1, 0.2, 4.0), (0.0, 0.0, 0.0), fov=40.0, width=size, height=size)
        return jnp.mean(render.render(scene, camera, spp=spp, key=KEY, boundary=boundary, edge_samples=512))

    return loss


V0 = jnp.array([-0.9, -0.5, 0.0])


@pytest.mark.slow
def test_triangle_vertex_gradient_matches_finite_differences():
    grad = jax.jit(jax.grad(_triangle_loss(4)))(V0)
    forward = jax.jit(_triangle_loss(1024, boundary=False))
    h = 0.02
    reference = np.array([(forward(V0.at[i].add(h)) - forward(V0.at[i].add(-h))) / (2 * h) for i in range(3)])
    assert np.all(np.abs(reference) > 1e-3)  # on black, the boundary term is the whole derivative
    np.testing.assert_allclose(grad, reference, rtol=0.05)


def test_triangle_vertex_gradient_sign_and_no_nan():
    # Cheap: the interior derivative alone is far off (wrong sign in x); with the boundary term
    # x and y point the way finite differences do (-0.063, -0.054 at 1024 spp, 32 px).
    grad_fn = jax.jit(jax.grad(_triangle_loss(1, size=16)))
    grad = grad_fn(V0)
    interior = jax.grad(_triangle_loss(1, boundary=False, size=16))(V0)
    assert grad[0] < -0.02 and grad[1] < -0.02 and interior[0] > -0.01
    # An edge-on triangle (seen along its plane) and a degenerate one give finite gradients.
    for v in (jnp.array([-0.2, 0.9, -0.3]), jnp.array([0.4, 0.15, -0.1])):
        assert np.all(np.isfinite(grad_fn(v)))


def _icosphere(level):
    # The icosahedron's 12 vertices (golden-ratio rectangles), each face split in four `level` times.
    g = (1 + 5**0.5) / 2
    v = [(-1, g, 0), (1, g, 0), (-1, -g, 0), (1, -g, 0), (0, -1, g), (0, 1, g), (0, -1, -g), (0, 1, -g),
         (g, 0, -1), (g, 0, 1), (-g, 0, -1), (-g, 0, 1)]
    f = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2), (10, 7, 6),
         (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10),
         (8, 6, 7), (9, 8, 1)]
    v = [np.array(p, float) / np.linalg.norm(p) for p in v]
    for _ in range(level):
        middle = {}

        def mid(a, b):
            if (min(a, b), max(a, b)) not in middle:
                p = v[a] + v[b]
                v.append(p / np.linalg.norm(p))
                middle[min(a, b), max(a, b)] = len(v) - 1
            return middle[min(a, b), max(a, b)]

        f = [t for a, b, c in f for t in ((a, mid(a, b), mid(a, c)), (b, mid(b, c), mid(a, b)),
                                          (c, mid(a, c), mid(b, c)), (mid(a, b), mid(b, c), mid(a, c)))]
    return np.array(v), np.array(f)


def _mesh_on_floor(spp, boundary=True):
    vertices, faces = _icosphere(2)  # 320 faces

    def loss(p):
        verts = jnp.asarray(vertices) * 0.8 + p["shift"]
        scene = render.Scene([render.TriangleMesh(verts, faces, render.Diffuse(0.8)),
                              render.Plane((0.0, -1.0, 0.0), (0.0, 1.0, 0.0), render.Diffuse(0.6))],
                             [render.PointLight(p["light"], 20.0)])
        camera = render.Camera((0.3, 1.0, 4.5), (0.0, -0.3, 0.0), fov=45.0, width=32, height=32)
        return jnp.mean(render.render(scene, camera, spp=spp, key=KEY, boundary=boundary, edge_samples=1024))

    return loss


@pytest.mark.slow
def test_mesh_translation_and_shadow_gradients_match_finite_differences():
    # The mesh's depth moves its silhouette and its shadow's edge on the floor; the light moves
    # the shadow's edge. (Its x and y translation derivatives are checked by neither: at this
    # size the interior derivative next to the silhouette is too noisy for 5 %.)
    p = dict(shift=jnp.array([0.1, 0.0, 0.0]), light=jnp.array([1.5, 3.0, 1.0]))
    grad = jax.jit(jax.grad(_mesh_on_floor(64)))(p)
    forward = jax.jit(_mesh_on_floor(512, boundary=False))
    for name, i, h in [("shift", 2, 0.02), ("light", 0, 0.05), ("light", 1, 0.05)]:
        up, down = dict(p), dict(p)
        up[name], down[name] = p[name].at[i].add(h), p[name].at[i].add(-h)
        reference = (forward(up) - forward(down)) / (2 * h)
        np.testing.assert_allclose(grad[name][i], reference, rtol=0.05, err_msg=f"{name}[{i}]")
