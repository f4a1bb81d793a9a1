"""Planes: closed-form radiance of a lit floor, hard shadows that are exactly zero, bad normals."""

import jax
import numpy as np
import pytest

import render

from . import reference

EYE, TARGET, UP, FOV, W, H = (0.5, 3.0, 6.0), (0.0, -0.8, 0.0), (0.0, 1.0, 0.0), 50.0, 20, 16
SPHERE = ((0.0, 0.2, 0.0), 0.8, (0.6, 0.6, 0.6))
FLOOR = ((0.0, -1.0, 0.0), (0.0, 2.0, 0.0), (0.3, 0.8, 0.5))  # a normal of any length
LIGHT, INTENSITY = (0.4, 4.0, 0.3), (50.0, 40.0, 30.0)


def test_floor_and_sphere_match_closed_form_and_shadows_are_exactly_zero():
    scene = render.Scene(
        [render.Sphere(SPHERE[0], SPHERE[1], render.Diffuse(SPHERE[2])),
         render.Plane(FLOOR[0], FLOOR[1], render.Diffuse(FLOOR[2]))],
        [render.PointLight(LIGHT, INTENSITY)],
    )
    image = np.asarray(render.render(scene, render.Camera(EYE, TARGET, UP, FOV, W, H)))
    kinds = np.empty((H, W), object)
    expected = np.zeros((H, W, 3))
    for row in range(H):
        for col in range(W):
            o, d = reference.camera_ray(EYE, TARGET, UP, FOV, W, H, row, col)
            expected[row, col], kinds[row, col] = reference.shade([SPHERE], [FLOOR], LIGHT, INTENSITY, o, d)
    # Away from shadow and silhouette edges (where a pixel centre may round either way), every
    # pixel is the closed form; every pixel in the shadow is exactly zero.
    same = np.ones((H, W), bool)
    padded = np.pad(kinds, 1, mode="edge")
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            same &= padded[1 + dr : 1 + dr + H, 1 + dc : 1 + dc + W] == kinds
    np.testing.assert_allclose(image[same], expected[same], rtol=1e-10, atol=1e-14)
    shadow = kinds == "shadow"
    assert shadow.sum() >= 10 and np.all(image[shadow] == 0.0)
    lit = (kinds == "lit") & (expected.max(axis=-1) > 0)
    assert lit.sum() > 100 and np.all(image[lit & same].max(axis=-1) > 0)


def test_plane_is_lit_from_either_side():
    # Flipping the normal changes nothing: the side facing the camera is the one lit.
    camera = render.Camera((0.0, 2.0, 3.0), (0.0, 0.0, 0.0), width=6, height=6)
    light = render.PointLight((1.0, 2.0, 0.0), 10.0)
    up, down = (render.Scene([render.Plane((0.0, 0.0, 0.0), n, render.Diffuse(0.5))], [light])
                for n in ((0.0, 1.0, 0.0), (0.0, -1.0, 0.0)))
    np.testing.assert_allclose(render.render(up, camera), render.render(down, camera), rtol=1e-12)


@pytest.mark.parametrize("normal", [(0.0, 0.0, 0.0), [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]])
def test_zero_normal_is_a_clear_error(normal):
    with pytest.raises(ValueError, match="Plane: `normal` must be a non-zero vector"):
        render.Plane((0.0, 0.0, 0.0), normal, render.Diffuse())


def test_zero_normal_is_caught_under_jit():
    make = jax.jit(lambda n: render.Plane((0.0, 0.0, 0.0), n, render.Diffuse()).normal)
    with pytest.raises(Exception, match="`normal` must be a non-zero vector"):
        jax.block_until_ready(make(np.zeros(3)))


def test_infinite_normal_is_a_clear_error():
    with pytest.raises(ValueError, match="Plane: `normal` must be a non-zero vector with finite components"):
        render.Plane((0.0, 0.0, 0.0), (0.0, float("inf"), 0.0), render.Diffuse())
