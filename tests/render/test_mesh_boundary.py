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
