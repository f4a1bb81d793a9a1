"""Triangles and meshes: hits inside the triangle only, gradients to vertices, bad faces."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import render

CAMERA = render.Camera((0.0, 0.0, 3.0), (0.0, 0.0, 0.0), fov=60.0, width=9, height=9)
LIGHT = render.DirectionalLight((0.0, 0.0, -1.0), 2.0)


def test_triangle_covers_exactly_its_inside():
    # The right triangle x >= -0.3, y >= -0.2, x + y <= 1.3 in the plane z = 0.
    tri = render.Triangle((-0.3, -0.2, 0.0), (1.5, -0.2, 0.0), (-0.3, 1.6, 0.0), render.Diffuse(0.5))
    image = np.asarray(render.render(render.Scene([tri], [LIGHT]), CAMERA))
    origins, directions = CAMERA.rays(*np.meshgrid(np.arange(9) + 0.5, np.arange(9) + 0.5, indexing="ij"))
    t = -origins[2] / directions[2]
    x, y = origins[0] + t * directions[0], origins[1] + t * directions[1]
    u, v = x + 0.3, y + 0.2
    inside = (u > 1e-9) & (v > 1e-9) & (u + v < 1.8 - 1e-9)
    assert 3 < inside.sum() < 40
    np.testing.assert_allclose(image[inside], 0.5 / np.pi * 2.0, rtol=1e-12)
    outside = (u < -1e-9) | (v < -1e-9) | (u + v > 1.8 + 1e-9)
    np.testing.assert_array_equal(image[outside], 0.0)


def test_mesh_vertex_gradients_are_finite_and_move_the_shading():
    mesh = render.TriangleMesh([[-1.0, -1.0, 0.0], [1.0, -1.0, 0.0], [0.0, 1.0, 0.0]], [[0, 1, 2]], render.Diffuse(0.5))
    point = render.PointLight((0.0, 0.0, 1.0), 3.0)

    def total(vertices):
        m = render.TriangleMesh(vertices, mesh.faces, mesh.material)
        return jnp.sum(render.render(render.Scene([m], [point]), CAMERA))

    grad = jax.grad(total)(mesh.vertices)
    assert np.all(np.isfinite(grad)) and np.abs(grad[:, 2]).max() > 0


@pytest.mark.parametrize(
    "faces, words", [([[0, 1, 5]], "lie in \\[0, 2\\].*face 0 is \\[0, 1, 5\\]"), ([[0.0, 1.0, 2.0]], "must be integers"), ([0, 1, 2], "shape")]
)
def test_bad_faces_are_a_clear_error(faces, words):
    with pytest.raises(ValueError, match=words):
        render.TriangleMesh(np.eye(3), np.asarray(faces), render.Diffuse())
