"""Point lights: irradiance falls as 1/r^2 and follows the cosine; bad intensities."""

import numpy as np
import pytest

import render

# A 5x5 image of the plane z = 0 seen head-on: the centre pixel looks along the axis at the origin.
CAMERA = render.Camera((0.0, 0.0, 4.0), (0.0, 0.0, 0.0), fov=30.0, width=5, height=5)


def _centre(light_position, intensity=7.0, albedo=0.6):
    scene = render.Scene([render.Plane((0.0, 0.0, 0.0), (0.0, 0.0, 1.0), render.Diffuse(albedo))],
                         [render.PointLight(light_position, intensity)])
    return np.asarray(render.render(scene, CAMERA))[2, 2]


@pytest.mark.parametrize("distance", [0.5, 1.0, 2.0, 3.0])
def test_radiance_falls_with_inverse_square_distance(distance):
    value = _centre((0.0, 0.0, distance))
    np.testing.assert_allclose(value, 0.6 / np.pi * 7.0 / distance**2, rtol=1e-12)
    np.testing.assert_allclose(_centre((0.0, 0.0, 2 * distance)), value / 4, rtol=1e-12)


def test_radiance_follows_the_cosine_and_light_behind_the_surface_is_dark():
    # The light at 60 degrees off the normal, at distance 2: cos = 1/2.
    angle = np.pi / 3
    value = _centre((2 * np.sin(angle), 0.0, 2 * np.cos(angle)))
    np.testing.assert_allclose(value, 0.6 / np.pi * 7.0 * 0.5 / 4, rtol=1e-12)
    # Below the plane it lights the other side, which the camera does not see.
    np.testing.assert_array_equal(_centre((0.0, 0.0, -1.0)), 0.0)


def test_intensity_is_rgb_and_scales_linearly():
    rgb = _centre((0.0, 0.0, 1.0), intensity=(1.0, 2.0, 3.0))
    np.testing.assert_allclose(rgb, 0.6 / np.pi * np.array([1.0, 2.0, 3.0]), rtol=1e-12)


def test_negative_intensity_is_a_clear_error():
    with pytest.raises(ValueError, match="PointLight intensity` must be >= 0"):
        render.PointLight((0.0, 0.0, 0.0), (1.0, -1.0, 1.0))


def test_infinite_intensity_is_a_clear_error():
    with pytest.raises(ValueError, match="PointLight intensity` must be >= 0 and finite"):
        render.PointLight((0.0, 0.0, 0.0), (1.0, float("inf"), 1.0))
    with pytest.raises(ValueError, match="DirectionalLight irradiance` must be >= 0 and finite"):
        render.DirectionalLight((0.0, -1.0, 0.0), float("nan"))
