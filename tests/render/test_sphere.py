"""Spheres: closed-form radiance of a lit sphere, bad radii, batched spheres."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import render

from . import reference

EYE, TARGET, UP, FOV, W, H = (0.3, 0.4, 5.0), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0), 35.0, 16, 12
CENTER, RADIUS, ALBEDO = (0.1, -0.2, 0.3), 1.1, (0.9, 0.5, 0.2)
LIGHT, INTENSITY = (2.0, 3.0, 4.0), (10.0, 20.0, 30.0)


def test_lit_sphere_matches_closed_form_at_every_pixel():
    scene = render.Scene([render.Sphere(CENTER, RADIUS, render.Diffuse(ALBEDO))], [render.PointLight(LIGHT, INTENSITY)])
    image = np.asarray(render.render(scene, render.Camera(EYE, TARGET, UP, FOV, W, H)))
    assert image.shape == (H, W, 3) and image.dtype == np.float64
    kinds = []
    for row in range(H):
        for col in range(W):
            o, d = reference.camera_ray(EYE, TARGET, UP, FOV, W, H, row, col)
            expected, kind = reference.shade([(CENTER, RADIUS, ALBEDO)], [], LIGHT, INTENSITY, o, d)
            kinds.append(kind)
            np.testing.assert_allclose(image[row, col], expected, rtol=1e-10, atol=1e-14)
    # The image has the sphere's lit side, its dark side and the black background.
    lit = [k == "lit" for k in kinds]
    assert 20 < sum(lit) < H * W - 20 and "miss" in kinds
    assert np.sum(image.max(axis=-1) == 0) > sum(k == "miss" for k in kinds)  # the far side is dark


def test_batched_spheres_render_like_separate_ones():
    material = render.Diffuse(0.7)
    centers, radii = jnp.array([[-1.0, 0.0, 0.0], [1.2, 0.3, -0.5]]), jnp.array([0.6, 0.8])
    light = render.PointLight((0.0, 3.0, 3.0), 40.0)
    camera = render.Camera((0.0, 0.5, 6.0), (0.0, 0.0, 0.0), width=12, height=8)
    batched = render.Scene([render.Sphere(centers, radii, material)], [light])
    separate = render.Scene([render.Sphere(c, r, material) for c, r in zip(centers, radii)], [light])
    np.testing.assert_allclose(render.render(batched, camera), render.render(separate, camera), rtol=1e-12)


@pytest.mark.parametrize("radius", [-1.0, 0.0, [1.0, -2.0]])
def test_nonpositive_radius_is_a_clear_error(radius):
    with pytest.raises(ValueError, match="Sphere: `radius` must be > 0"):
        render.Sphere((0.0, 0.0, 0.0), radius, render.Diffuse())


def test_nonpositive_radius_is_caught_under_jit():
    make = jax.jit(lambda r: render.Sphere((0.0, 0.0, 0.0), r, render.Diffuse()).radius)
    assert float(make(2.0)) == 2.0
    with pytest.raises(Exception, match="`radius` must be > 0"):
        jax.block_until_ready(make(-1.0))


def test_bad_center_shape_names_the_argument():
    with pytest.raises(ValueError, match="`center` must have shape"):
        render.Sphere((0.0, 1.0), 1.0, render.Diffuse())


def test_infinite_radius_is_a_clear_error():
    with pytest.raises(ValueError, match="Sphere: `radius` must be > 0 and finite"):
        render.Sphere((0.0, 0.0, 0.0), float("inf"), render.Diffuse())
