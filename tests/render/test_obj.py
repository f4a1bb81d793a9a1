"""Wavefront .obj loading."""

import numpy as np
import pytest

import render

OBJ = """# a quad in the plane z = 0, wider than the view, and a stray triangle
v -3.0 -2.9 0.0
v 3.1 -2.9 0.0
v 3.1 3.0 0.0
v -3.0 3.0 0.0
vt 0 0
vn 0 0 1
g quad
f 1/1/1 2/1/1 3/1/1 4/1/1
v 10 10 -1
v 11 10 -1
v 10 11 -1
f -3//1 -2//1 -1//1
"""


def test_obj_quad_is_two_triangles_and_renders_like_a_plane(tmp_path):
    path = tmp_path / "quad.obj"
    path.write_text(OBJ)
    material = render.Diffuse((0.4, 0.5, 0.6))
    mesh = render.load_obj(path, material, scale=1.0)
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [0, 2, 3], [4, 5, 6]])
    assert mesh.vertices.shape == (7, 3)
    camera = render.Camera((0.2, 0.1, 3.0), (0.0, 0.0, 0.0), fov=40.0, width=10, height=8)
    light = render.PointLight((0.5, 1.0, 2.0), 9.0)
    from_mesh = render.render(render.Scene([mesh], [light]), camera)
    from_plane = render.render(render.Scene([render.Plane((0.0, 0.0, 0.0), (0.0, 0.0, 1.0), material)], [light]), camera)
    np.testing.assert_allclose(from_mesh, from_plane, rtol=1e-10)
    # The same triangles as `Triangle`s (batched corners) give the same image.
    corners = np.asarray(mesh.vertices)[np.asarray(mesh.faces)]
    triangles = render.Triangle(corners[:, 0], corners[:, 1], corners[:, 2], material)
    np.testing.assert_allclose(render.render(render.Scene([triangles], [light]), camera), from_mesh, rtol=1e-12)


def test_obj_scale(tmp_path):
    path = tmp_path / "quad.obj"
    path.write_text(OBJ)
    mesh = render.load_obj(path, render.Diffuse(), scale=0.01)
    np.testing.assert_allclose(mesh.vertices[0], [-0.03, -0.029, 0.0])


@pytest.mark.parametrize(
    "text, words",
    [("v 0 0 0\nv 1 0 0\nf 1 2 3\n", "refers to no vertex"), ("v 0 0\n", "three coordinates"),
     ("v 0 0 0\n", "has no faces"), ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2\n", "at least three corners")],
)
def test_bad_obj_files_say_where(tmp_path, text, words):
    path = tmp_path / "bad.obj"
    path.write_text(text)
    with pytest.raises(ValueError, match=words):
        render.load_obj(path, render.Diffuse())
