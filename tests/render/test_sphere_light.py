"""Spherical area lights: the far-field point-light limit, soft shadows, smooth gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import render

CAMERA = render.Camera((0.0, 3.0, 5.0), (0.0, 0.0, 0.0), fov=50.0, width=12, height=10)
FLOOR = render.Plane((0.0, 0.0, 0.0), (0.0, 1.0, 0.0), render.Diffuse(0.6))
BLOCKER = render.Sphere((0.0, 1.0, 0.0), 0.5, render.Diffuse(0.6))


def test_unshadowed_irradiance_equals_point_light_of_equal_power():
    # A sphere light's irradiance on a facing surface is pi * L * r^2 / d^2 * cos: exactly that of a
    # point light of intensity pi r^2 L while the whole sphere is above the horizon.
    radius, radiance = 0.2, 30.0
    area = render.render(render.Scene([FLOOR], [render.SphereLight((0.5, 3.0, 0.5), radius, radiance)]), CAMERA,
                         key=jax.random.key(0), light_samples=16)
    point = render.render(render.Scene([FLOOR], [render.PointLight((0.5, 3.0, 0.5), np.pi * radius**2 * radiance)]),
                          CAMERA, key=jax.random.key(0))  # the same jittered pixel positions
    visible = np.asarray(area).max(axis=-1) < 1  # not the light itself
    np.testing.assert_allclose(np.asarray(area)[visible], np.asarray(point)[visible], rtol=0.015)  # the cosine varies a little across the cone


def test_soft_shadow_has_a_penumbra_and_a_smooth_gradient():
    def image(x):
        light = render.SphereLight(jnp.stack([x, 3.0, 0.0]), 0.4, 20.0)
        return render.render(render.Scene([FLOOR, BLOCKER], [light]), CAMERA, key=jax.random.key(2), light_samples=16)

    shadowed = np.asarray(image(0.0))
    point = np.asarray(render.render(render.Scene([FLOOR, BLOCKER], [render.PointLight((0.0, 3.0, 0.0), 10.0)]), CAMERA))
    umbra = (point.max(axis=-1) == 0)
    # Pixels in the point light's hard shadow are partly lit by the big light (penumbra) or dark.
    assert np.any((shadowed.max(axis=-1) > 0) & umbra)
    # With the samples held fixed by the key, the image is a smooth function of the light's position.
    grad = np.asarray(jax.jacfwd(lambda x: jnp.sum(image(x)))(0.0))
    fd = (np.sum(image(1e-5)) - np.sum(image(-1e-5))) / 2e-5
    assert np.isfinite(grad)
    np.testing.assert_allclose(grad, fd, rtol=1e-3, atol=1e-6)


def test_needs_a_key_and_a_positive_radius():
    with pytest.raises(ValueError, match="pass `key="):
        render.render(render.Scene([FLOOR], [render.SphereLight((0.0, 3.0, 0.0), 0.3, 1.0)]), CAMERA)
    with pytest.raises(ValueError, match="`radius` must be > 0"):
        render.SphereLight((0.0, 3.0, 0.0), 0.0, 1.0)
