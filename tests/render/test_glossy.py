"""The glossy material: mirror bounces, the Blinn-Phong highlight, bad parameters."""

import numpy as np
import pytest

import render

from . import reference

SPHERE = render.Sphere((0.0, 1.5, 0.0), 0.8, render.Diffuse((0.9, 0.6, 0.3)))
LIGHT = render.PointLight((0.5, 0.7, 3.0), 40.0)  # low, so the sphere's underside is lit
W = H = 16


def test_mirror_floor_shows_the_scene_seen_from_the_mirrored_camera():
    mirror = render.Plane((0.0, 0.0, 0.0), (0.0, 1.0, 0.0), render.Glossy(albedo=0.0, reflectivity=0.7))
    eye, target, fov = (0.0, 2.0, 6.0), (0.0, -1.5, 0.0), 22.0
    camera = render.Camera(eye, target, fov=fov, width=W, height=H)
    background = (0.01, 0.02, 0.03)
    image = np.asarray(render.render(render.Scene([SPHERE, mirror], [LIGHT], background), camera, max_depth=1))
    # The mirror image of the camera (reflected in y = 0; a reflection swaps left and right)
    # sees the sphere directly, without the mirror.
    virtual = ((0.0, -2.0, 6.0), (0.0, 1.5, 0.0), (0.0, -1.0, 0.0), fov, W, H)
    direct = np.asarray(render.render(render.Scene([SPHERE], [LIGHT], background), render.Camera(*virtual)))[:, ::-1]
    kind = np.zeros((H, W), int)  # 0: sky, 1: mirror showing sky, 2: mirror showing the sphere
    for r in range(H):
        for c in range(W):
            o, d = reference.camera_ray(eye, target, (0.0, 1.0, 0.0), fov, W, H, r, c)
            if reference.hit_sphere(o, d, SPHERE.center, 0.8) < np.inf or d[1] >= 0:
                continue
            vo, vd = reference.camera_ray(*virtual, r, W - 1 - c)
            kind[r, c] = 2 if reference.hit_sphere(vo, vd, SPHERE.center, 0.8) < np.inf else 1
    # Compare away from the sphere's rim (a pixel centre there may round either way).
    padded = np.pad(kind, 1, mode="edge")
    steady = np.all([padded[1 + a : 1 + a + H, 1 + b : 1 + b + W] == kind for a in (-1, 0, 1) for b in (-1, 0, 1)], 0)
    check = steady & (kind > 0)
    assert (check & (kind == 2)).sum() > 5 and (check & (kind == 1)).sum() > 5
    assert np.all(direct[check & (kind == 2)].max(axis=-1) > 0.05)
    np.testing.assert_allclose(image[check], 0.7 * direct[check], rtol=1e-6)
    # Without bounces the mirror (no diffuse or highlight) is black.
    flat = np.asarray(render.render(render.Scene([SPHERE, mirror], [LIGHT], background), camera, max_depth=0))
    np.testing.assert_array_equal(flat[kind > 0], 0.0)


def test_highlight_is_normalised_blinn_phong():
    # A glossy plane seen head-on with the light beside the camera: at the centre pixel the half
    # vector is the normal, so the lobe is at its peak (shininess + 8) / (8 pi).
    camera = render.Camera((0.0, 0.0, 2.0), (0.0, 0.0, 0.0), fov=20.0, width=3, height=3)
    plane = render.Plane((0.0, 0.0, 0.0), (0.0, 0.0, 1.0), render.Glossy(0.2, specular=0.5, shininess=30.0))
    centre = np.asarray(render.render(render.Scene([plane], [render.PointLight((0.0, 0.0, 2.0), 8.0)]), camera))[1, 1]
    np.testing.assert_allclose(centre, (0.2 / np.pi + 0.5 * 38 / (8 * np.pi)) * 8.0 / 4.0, rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, words",
    [(dict(albedo=1.5), "Glossy albedo` must lie in"), (dict(specular=-0.1), "Glossy specular` must be >= 0"),
     (dict(reflectivity=2.0), "Glossy reflectivity` must lie in"), (dict(shininess=-1.0), "shininess")],
)
def test_bad_glossy_parameters(kwargs, words):
    with pytest.raises(ValueError, match=words):
        render.Glossy(**kwargs)
