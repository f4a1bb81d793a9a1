"""Mesh acceleration: the BVH (JAX) and Embree find the brute-force hits, and render the same
images and gradients."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import render
from render import _accel, _bvh
from render._triangle import Triangles
from render._vector import Vecs

BACKENDS = ["bvh", "brute"] + (["embree"] if _accel.embree_available() else [])


def torus(n=12, major=1.0, minor=0.35):
    return render.torus_mesh(n, major, minor)


def brute_hits(corners, origins, directions):
    tris = Triangles.from_corners(*(Vecs.of(corners[:, k, None]) for k in range(3)))
    t = np.asarray(tris.intersect(Vecs.of(origins[None]), Vecs.of(directions[None])))
    return np.where(np.isfinite(t.min(0)), t.argmin(0), -1), t.min(0)


def random_rays(key, count, scale=2.0):
    ko, kd = jax.random.split(key)
    origins = jax.random.uniform(ko, (count, 3), minval=-scale, maxval=scale)
    d = jax.random.normal(kd, (count, 3))
    return np.asarray(origins), np.asarray(d / jnp.linalg.norm(d, axis=1, keepdims=True))


def mesh_hits(backend, corners, order):
    return _accel.MeshHits.build(jnp.asarray(corners), order, jnp.zeros(17), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_hits_equal_brute_force_on_random_rays(backend):
    vertices, faces = torus(10)
    corners = vertices[faces]
    mesh = render.TriangleMesh(vertices, faces, render.Diffuse())
    origins, directions = random_rays(jax.random.key(0), 600)  # many start inside the torus
    # Rays through vertices and along the axes (zero direction components).
    origins = np.concatenate([origins, np.zeros((len(vertices), 3)) + [0, 0, 2.0], [[0, 0, 3.0], [3.0, 0, 0]]])
    through = vertices - origins[600 : 600 + len(vertices)]
    directions = np.concatenate([directions, through / np.linalg.norm(through, axis=1, keepdims=True),
                                 [[0, 0, -1.0], [-1.0, 0, 0]]])
    want_face, want_t = brute_hits(corners, origins, directions)
    hits = mesh_hits(backend, corners, mesh.order)
    face = np.asarray(hits.nearest(Vecs.of(jnp.asarray(origins)), Vecs.of(jnp.asarray(directions))))
    # A ray exactly through a vertex is decided by rounding (Embree's float32 and XLA's fused
    # arithmetic under jit both differ from eager Moller-Trumbore): only there may they disagree.
    agree = np.ones(len(face), bool)
    agree[600 : 600 + len(vertices)] = False
    np.testing.assert_array_equal((face >= 0)[agree], (want_face >= 0)[agree])
    assert np.mean((face >= 0) != (want_face >= 0)) < 0.02
    # Ties (a ray through a shared edge or vertex) may pick either face: compare distances.
    both = (face >= 0) & (want_face >= 0) & agree
    got_t = np.array([brute_hits(corners[f : f + 1], origins[i : i + 1], directions[i : i + 1])[1][0]
                      for i, f in enumerate(face) if both[i]])
    tol = 1e-5 if backend == "embree" else 1e-9  # Embree computes in float32
    np.testing.assert_allclose(got_t, want_t[both], rtol=tol)
    assert (face[agree & (want_face >= 0)] >= 0).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_shadow_queries_equal_brute_force(backend):
    vertices, faces = torus(10)
    corners = vertices[faces]
    mesh = render.TriangleMesh(vertices, faces, render.Diffuse())
    origins, directions = random_rays(jax.random.key(1), 800)
    _, t = brute_hits(corners, origins, directions)
    lengths = np.asarray(jax.random.uniform(jax.random.key(2), (800,), maxval=4.0))
    want = t < lengths
    hits = mesh_hits(backend, corners, mesh.order)
    got = np.asarray(hits.blocks(Vecs.of(jnp.asarray(origins)), Vecs.of(jnp.asarray(directions)), jnp.asarray(lengths)))
    near_tie = np.abs(t - lengths) < 1e-4 * lengths
    if backend == "bvh":
        np.testing.assert_array_equal(got[~near_tie], want[~near_tie])
    else:  # Embree decides edges and end points in float32
        assert np.mean(got[~near_tie] != want[~near_tie]) < 0.005
    assert want.sum() > 50 and (~want).sum() > 50


def test_host_order_holds_every_face_once():
    vertices, faces = torus(9)
    order = _bvh.host_order(vertices[faces])
    assert len(order) == _bvh.LEAF_SIZE << _bvh.tree_depth(len(faces))
    np.testing.assert_array_equal(np.sort(order[order >= 0]), np.arange(len(faces)))
    traced = np.asarray(jax.jit(_bvh.traced_order)(jnp.asarray(vertices[faces])))
    np.testing.assert_array_equal(np.sort(traced[traced >= 0]), np.arange(len(faces)))


def scene_of(mesh):
    floor = render.Plane((0.0, 0.0, -0.36), (0.0, 0.0, 1.0), render.Diffuse(0.6))
    return render.Scene([mesh, floor], [render.PointLight((1.0, -1.5, 3.0), 12.0)])


CAMERA = render.Camera((0.3, -2.6, 2.0), (0.0, 0.0, 0.0), fov=45.0, width=24, height=20)


def as_triangles(mesh):
    """The same faces as one batched `Triangle` (tested against every ray, shaded by the generic kernels)."""
    c = mesh.corners()
    return render.Triangle(c[:, 0], c[:, 1], c[:, 2], mesh.material)


@pytest.mark.parametrize("backend", BACKENDS)
def test_images_and_gradients_equal_brute_force(backend):
    vertices, faces = torus(12)
    mesh = render.TriangleMesh(vertices, faces, render.Diffuse((0.7, 0.4, 0.3)))

    def loss(vertices, light, accel):
        m = eqx.tree_at(lambda m: m.vertices, mesh, vertices)
        scene = scene_of(m if accel else as_triangles(m))
        scene = eqx.tree_at(lambda s: s.lights[0].position, scene, light)
        return jnp.mean(render.render(scene, CAMERA, accel=accel or "brute") ** 2)

    light = scene_of(mesh).lights[0].position
    image = render.render(scene_of(mesh), CAMERA, accel=backend)
    np.testing.assert_allclose(image, render.render(scene_of(as_triangles(mesh)), CAMERA), rtol=1e-9, atol=1e-12)
    assert float(jnp.mean(image)) > 0.05
    grads = jax.grad(loss, argnums=(0, 1))(mesh.vertices, light, backend)
    want = jax.grad(loss, argnums=(0, 1))(mesh.vertices, light, None)
    for g, w in zip(grads, want):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-12)
    assert np.abs(np.asarray(grads[0])).max() > 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_moved_vertices_refit_like_a_fresh_build(backend):
    vertices, faces = torus(12)
    mesh = render.TriangleMesh(vertices, faces, render.Diffuse(0.5))
    moved = vertices * np.array([1.3, 0.8, 1.1]) + np.array([0.2, 0.0, 0.1])
    refit = eqx.tree_at(lambda m: m.vertices, mesh, jnp.asarray(moved))  # the old tree, refitted
    fresh = render.TriangleMesh(moved, faces, render.Diffuse(0.5))
    np.testing.assert_allclose(render.render(scene_of(refit), CAMERA, accel=backend),
                               render.render(scene_of(fresh), CAMERA, accel="brute"), rtol=1e-9, atol=1e-12)


def test_empty_mesh_renders_nothing_and_bad_accel_is_an_error():
    empty = render.TriangleMesh(np.zeros((3, 3)), np.zeros((0, 3), np.int32), render.Diffuse())
    floor_only = scene_of(empty)
    for backend in BACKENDS:
        np.testing.assert_allclose(render.render(floor_only, CAMERA, accel=backend),
                                   render.render(render.Scene([floor_only.objects[1]], floor_only.lights), CAMERA))
    with pytest.raises(ValueError, match="accel"):
        render.render(floor_only, CAMERA, accel="octree")


def test_embree_packet_kernel_and_single_ray_queries_agree():
    import shutil

    from render import _embree

    lib = _embree._packets()
    if shutil.which("cc") or shutil.which("gcc"):
        assert lib is not None, "the packet kernel did not build although a C compiler is installed"
    vertices, faces = torus(16)
    corners = np.ascontiguousarray(vertices[faces], np.float32)
    origins, directions = (np.ascontiguousarray(a, np.float32) for a in random_rays(jax.random.key(4), 5003))
    lengths = np.asarray(jax.random.uniform(jax.random.key(5), (5003,), maxval=4.0), np.float32)
    lengths[:7] = [-1.0, 0.0, 1e-30, np.inf, 2.0, 3.0, 0.5]
    scenes = [_embree._SingleRayScene(corners)] + ([_embree._PacketScene(lib, corners)] if lib is not None else [])
    results = []
    for scene in scenes:
        nearest, blocked = np.full(5003, 7, np.int32), np.full(5003, 7, np.int32)
        scene.query(origins, directions, None, nearest, 0, 5003)  # 5003: a partial last packet
        scene.query(origins, directions, np.maximum(lengths, 0), blocked, 0, 5003)
        results.append((nearest, blocked))
    want_face, want_t = brute_hits(vertices[faces], origins, directions)
    for nearest, blocked in results:
        assert np.mean(nearest == want_face) > 0.995 and set(np.unique(blocked)) <= {0, -1}
    if len(results) == 2:
        np.testing.assert_array_equal(results[0][0], results[1][0])
        np.testing.assert_array_equal(results[0][1], results[1][1])
    # Through the public entry: an empty or negative segment blocks nothing.
    out = _embree.query(corners, origins, directions, lengths)
    assert (out[:2] == -1).all()
    np.testing.assert_array_equal(out[2:] == 0, (want_t < lengths)[2:] | ((out[2:] == 0) & np.isclose(want_t, lengths)[2:]))
