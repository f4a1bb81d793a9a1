"""Directional lights: irradiance times the cosine, independent of distance, hard shadows."""

import numpy as np
import pytest

import render


def test_directional_light_closed_form_and_shadow():
    camera = render.Camera((0.0, 6.0, 0.01), (0.0, 0.0, 0.0), up=(0.0, 0.0, -1.0), fov=60.0, width=9, height=9)
    direction = np.array([0.0, -1.0, -1.0])  # travelling down at 45 degrees
    floor = render.Plane((0.0, 0.0, 0.0), (0.0, 1.0, 0.0), render.Diffuse(0.5))
    blocker = render.Sphere((0.0, 1.5, 1.5), 0.4, render.Diffuse(0.5))  # its shadow falls on the origin
    light = render.DirectionalLight(direction, 3.0)
    lit = np.asarray(render.render(render.Scene([floor], [light]), camera))
    # Every floor pixel receives E cos(45 deg), wherever it is.
    np.testing.assert_allclose(lit, 0.5 / np.pi * 3.0 * np.sqrt(0.5), rtol=1e-12)
    shadowed = np.asarray(render.render(render.Scene([floor, blocker], [light]), camera))
    np.testing.assert_array_equal(shadowed[4, 4], 0.0)


def test_zero_direction_is_a_clear_error():
    with pytest.raises(ValueError, match="`direction` must be a non-zero vector"):
        render.DirectionalLight((0.0, 0.0, 0.0), 1.0)
