"""Smooth and flat shading of triangle meshes, the procedural torus, and meshes' bad input."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import render

from ..helpers import finite_difference_grad

LIGHT = [render.PointLight((2.0, -3.0, 3.0), 20.0)]
CAMERA = render.Camera((0.0, -4.0, 0.5), (0.0, 0.0, 0.0), fov=35.0, width=40, height=40)


def uv_sphere(n: int):
    """A unit sphere: `n` bands of latitude, `2 n` of longitude, caps of triangles at the poles."""
    theta = np.linspace(0, np.pi, n + 1)[1:-1]
    phi = np.linspace(0, 2 * np.pi, 2 * n, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    rings = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1).reshape(-1, 3)
    vertices = np.concatenate([[[0.0, 0.0, 1.0]], rings, [[0.0, 0.0, -1.0]]])
    m, last = 2 * n, len(vertices) - 1
    j = np.arange(m)
    faces = [np.stack([np.zeros(m, int), 1 + j, 1 + (j + 1) % m], -1)]
    for i in range(n - 2):
        a, b = 1 + i * m + j, 1 + i * m + (j + 1) % m
        faces += [np.stack([a, a + m, b + m], -1), np.stack([a, b + m, b], -1)]
    base = 1 + (n - 2) * m
    faces.append(np.stack([base + j, np.full(m, last), base + (j + 1) % m], -1))
    return vertices, np.concatenate(faces).astype(np.int32)


def relative_difference(image, reference):
    both = (np.asarray(image).sum(-1) > 0) & (np.asarray(reference).sum(-1) > 0)
    assert both.mean() > 0.3
    return np.abs(np.asarray(image) - np.asarray(reference))[both].mean() / np.asarray(reference)[both].mean()


def test_smooth_sphere_mesh_converges_to_the_analytic_sphere():
    vertices, faces = uv_sphere(24)  # 2,208 faces
    sphere = render.render(render.Scene([render.Sphere((0.0, 0.0, 0.0), 1.0, render.Diffuse(0.8))], LIGHT), CAMERA)

    def image(**kwargs):
        mesh = render.TriangleMesh(vertices, faces, render.Diffuse(0.8), **kwargs)
        return render.render(render.Scene([mesh], LIGHT), CAMERA)

    flat = relative_difference(image(), sphere)
    smooth = relative_difference(image(shading="smooth"), sphere)
    exact_normals = relative_difference(image(shading="smooth", normals=vertices), sphere)
    # Facets are visible in flat shading (about 4 %); interpolated normals leave only the
    # silhouette's and the shadow terminator's polygon error.
    assert flat > 0.02
    assert smooth < 0.005 and exact_normals < 0.005
    assert smooth < flat / 8


def test_area_weighted_vertex_normals_match_the_torus_surface():
    vertices, faces = render.torus_mesh(40)
    mesh = render.TriangleMesh(vertices, faces, render.Diffuse(), shading="smooth")
    # The torus's exact normal at a vertex points from the tube's centre circle to the vertex.
    ring = vertices * [1, 1, 0]
    centre = ring / np.linalg.norm(ring, axis=1, keepdims=True)
    exact = (vertices - centre) / np.linalg.norm(vertices - centre, axis=1, keepdims=True)
    got = np.asarray(mesh.vertex_normals())
    assert np.min(np.sum(got * exact, axis=1)) > 0.999  # outward (counter-clockwise winding) and close
    face = np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]], vertices[faces[:, 2]] - vertices[faces[:, 0]])
    centroid = vertices[faces].mean(1)
    assert np.all(np.sum(face * (centroid - centre[faces].mean(1)), axis=1) > 0)


def test_smooth_shading_gradients_match_finite_differences():
    vertices, faces = uv_sphere(10)
    light = jnp.asarray([2.0, -3.0, 3.0])

    def loss(normals, light):
        mesh = render.TriangleMesh(vertices, faces, render.Diffuse(0.8), shading="smooth", normals=normals)
        scene = render.Scene([mesh], [render.PointLight(light, 20.0)])
        return jnp.mean(render.render(scene, CAMERA) ** 2)

    was_x64 = jax.config.jax_enable_x64  # other test modules in this worker may have turned it on
    jax.config.update("jax_enable_x64", True)
    try:
        normals = jnp.asarray(vertices * [1.0, 1.0, 1.2], jnp.float64)
        light64 = jnp.asarray(light, jnp.float64)
        g_normals, g_light = jax.grad(loss, argnums=(0, 1))(normals, light64)
        np.testing.assert_allclose(g_light, finite_difference_grad(lambda p: loss(normals, p), light64), rtol=1e-4)
        # The normals do not move any edge: a directional derivative along a random direction.
        direction = jax.random.normal(jax.random.key(0), normals.shape, jnp.float64)
        step = lambda s: loss(normals + s * direction, light64)  # noqa: E731
        fd = (step(1e-5) - step(-1e-5)) / 2e-5
        np.testing.assert_allclose(jnp.sum(g_normals * direction), fd, rtol=1e-4)
        assert np.all(np.isfinite(g_normals)) and np.abs(g_normals).max() > 0
    finally:
        jax.config.update("jax_enable_x64", was_x64)


def test_vertex_gradients_are_finite_with_degenerate_faces_and_smooth_normals():
    vertices, faces = render.torus_mesh(8)
    faces = np.concatenate([faces, [[0, 0, 1], [2, 2, 2]]])  # zero-area faces: never hit, never NaN
    scene = render.Scene(
        [render.TriangleMesh(vertices, faces, render.Diffuse(), shading="smooth"),
         render.Plane((0.0, 0.0, -0.36), (0.0, 0.0, 1.0), render.Diffuse(0.5))],
        [render.PointLight((0.0, 0.0, 0.0), 3.0)],  # the light inside the torus's hole
    )
    camera = render.Camera((0.3, -2.6, 2.0), (0.0, 0.0, 0.0), fov=45.0, width=16, height=16)

    def loss(vertices):
        return jnp.mean(render.render(eqx.tree_at(lambda s: s.objects[0].vertices, scene, vertices), camera))

    grad = jax.grad(loss)(scene.objects[0].vertices)
    assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0


def test_obj_normals_are_read_and_split_where_faces_disagree(tmp_path):
    path = tmp_path / "two.obj"
    # Two triangles sharing an edge, each with its own normal at the shared corners.
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nvn 0 0 1\nvn 0.6 0 0.8\n"
                    "f 1//1 2//1 3//1\nf 2//2 4//2 3//2\n")
    mesh = render.load_obj(path, render.Diffuse())
    assert mesh.shading == "smooth" and mesh.vertices.shape == (6, 3)
    normals = np.asarray(mesh.normals)[np.asarray(mesh.faces)]
    np.testing.assert_allclose(normals[0], [[0, 0, 1]] * 3)
    np.testing.assert_allclose(normals[1], [[0.6, 0, 0.8]] * 3)
    flat = render.load_obj(path, render.Diffuse(), shading="flat")
    assert flat.normals is None and flat.vertices.shape == (4, 3)
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1//3 2//1 3//1\n")
    with pytest.raises(ValueError, match="line 4.*refers to no normal"):
        render.load_obj(path, render.Diffuse())


def test_bad_meshes_are_errors_naming_what_is_wrong():
    vertices, faces = render.torus_mesh(4)
    with pytest.raises(ValueError, match="`shading` must be one of"):
        render.TriangleMesh(vertices, faces, render.Diffuse(), shading="phong")
    with pytest.raises(ValueError, match="`normals` must have the shape"):
        render.TriangleMesh(vertices, faces, render.Diffuse(), shading="smooth", normals=vertices[:3])
    with pytest.raises(ValueError, match="normals` must be finite and non-zero"):
        render.TriangleMesh(vertices, faces, render.Diffuse(), shading="smooth", normals=vertices * 0)
    bad = faces.copy()
    bad[5] = [0, 1, 99]
    with pytest.raises(ValueError, match=r"face 5 is \[0, 1, 99\]"):
        render.TriangleMesh(vertices, bad, render.Diffuse())
    with pytest.raises(ValueError, match="vertices` must be finite"):
        render.TriangleMesh(np.where(np.arange(16)[:, None] == 3, np.nan, vertices), faces, render.Diffuse())

    @eqx.filter_jit
    def traced(faces):
        return render.TriangleMesh(vertices, faces, render.Diffuse()).corners()

    with pytest.raises(Exception, match="a face refers to no vertex"):
        jax.block_until_ready(traced(jnp.asarray(bad)))
    for n, kwargs in ((2, {}), (10, {"minor": 1.5})):
        with pytest.raises(ValueError, match="torus_mesh"):
            render.torus_mesh(n, **kwargs)


@pytest.mark.parametrize("shading", ["flat", "smooth"])
def test_no_nan_gradient_over_a_sweep_of_lights_and_cameras(shading):
    scene, _ = render.torus_on_floor(8, shading=shading)
    vertices = scene.objects[0].vertices

    @jax.jit
    def grads(vertices, light, eye):
        def loss(vertices, light, eye):
            moved = eqx.tree_at(lambda s: (s.objects[0].vertices, s.lights[0].position), scene, (vertices, light))
            camera = render.Camera(eye, jnp.zeros(3), (0.0, 0.0, 1.0), fov=50.0, width=12, height=12)
            return jnp.mean(render.render(moved, camera))

        return jax.grad(loss, argnums=(0, 1, 2))(vertices, light, eye)

    lights = [vertices[0], vertices[0] * 1.0001, (1.0, 0.0, 0.0), (0.0, 0.0, 0.0), (1.0, -1.5, 3.0)]
    eyes = [(0.0, -3.0, 0.0), (0.0, -3.0, 0.35), (0.3, -2.6, 2.0)]  # grazing the tube's top and the floor
    for light in lights:  # on a vertex, just outside it, inside the tube, in the hole, outside
        for eye in eyes:
            out = grads(vertices, jnp.asarray(light, jnp.float32), jnp.asarray(eye, jnp.float32))
            assert all(np.all(np.isfinite(g)) for g in out), (light, eye)
