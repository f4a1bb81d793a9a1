"""Samples per pixel: stratified, keyed, reproducible."""

import jax
import numpy as np
import pytest

import render
from render import _sampling

W, H = 9, 5
CAMERA = render.Camera((0.0, 0.0, 4.0), (0.0, 0.0, 0.0), fov=40.0, width=W, height=H)


def _half_plane_scene():
    # A square occupying x <= 0 of the plane z = 0: its right edge runs down the middle of the
    # centre column of pixels.
    quad = render.TriangleMesh([[-10.0, -10.0, 0.0], [0.0, -10.0, 0.0], [0.0, 10.0, 0.0], [-10.0, 10.0, 0.0]],
                               [[0, 1, 2], [0, 2, 3]], render.Diffuse(0.5))
    return render.Scene([quad], [render.DirectionalLight((0.0, 0.0, -1.0), np.pi)])


@pytest.mark.parametrize("spp", [4, 16])
def test_stratified_samples_split_an_edge_exactly(spp):
    image = np.asarray(render.render(_half_plane_scene(), CAMERA, spp=spp, key=jax.random.key(1)))
    # Every stratum column lies wholly on one side of the edge, so coverage is exactly 1/2.
    np.testing.assert_allclose(image[:, W // 2], 0.25, rtol=1e-12)
    np.testing.assert_allclose(image[:, : W // 2], 0.5, rtol=1e-12)
    np.testing.assert_array_equal(image[:, W // 2 + 1 :], 0.0)


def test_same_key_same_image_other_key_other_image():
    scene, key = _half_plane_scene(), jax.random.key(7)
    camera = render.Camera((0.0, 0.0, 4.0), (0.3, 0.1, 0.0), fov=40.0, width=W, height=H)
    a = np.asarray(render.render(scene, camera, spp=2, key=key))
    b = np.asarray(render.render(scene, camera, spp=2, key=key))
    c = np.asarray(render.render(scene, camera, spp=2, key=jax.random.key(8)))
    np.testing.assert_array_equal(a, b)
    assert np.any(a != c)


@pytest.mark.parametrize("n", [1, 2, 4, 6, 9])
def test_stratify_puts_one_sample_in_each_cell(n):
    u = np.asarray(jax.random.uniform(jax.random.key(n), (2, 50, n)))
    x, y = _sampling.stratify(u[0], u[1], np.arange(n), n)
    a, b = _sampling.grid_shape(n)
    cells = np.floor(np.asarray(y) * a).astype(int) * b + np.floor(np.asarray(x) * b).astype(int)
    np.testing.assert_array_equal(cells, np.broadcast_to(np.arange(n), (50, n)))


def test_uniforms_are_uniform_and_depend_only_on_key_and_ray():
    seed = _sampling.seed_from_key(jax.random.key(0))
    ids = np.arange(20000)
    u = np.asarray(_sampling.uniforms(seed, ids, 0, 1, np.float64))
    assert u.shape == (1, 2, 20000) and 0 <= u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.005
    part = np.asarray(_sampling.uniforms(seed, ids[5000:6000], 0, 1, np.float64))
    np.testing.assert_array_equal(part, u[:, :, 5000:6000])
    other_stream = np.asarray(_sampling.uniforms(seed, ids, 1, 1, np.float64))
    assert abs(np.corrcoef(u[0, 0], other_stream[0, 0])[0, 1]) < 0.05
