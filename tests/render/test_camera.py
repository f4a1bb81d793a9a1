"""The camera: field of view, orientation, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import render

from . import reference


def test_rays_match_the_pinhole_model():
    camera = render.Camera((1.0, 2.0, 3.0), (0.0, 0.5, -1.0), (0.0, 1.0, 0.2), 70.0, 7, 5)
    rows, cols = np.meshgrid(np.arange(5) + 0.5, np.arange(7) + 0.5, indexing="ij")
    origins, directions = camera.rays(rows, cols)
    for r in range(5):
        for c in range(7):
            o, d = reference.camera_ray(camera.eye, camera.target, camera.up, 70.0, 7, 5, r, c)
            np.testing.assert_allclose(origins[:, r, c], o, rtol=1e-12)
            np.testing.assert_allclose(directions[:, r, c], d, rtol=1e-12, atol=1e-15)


def test_image_is_not_mirrored():
    # A sphere to the right of and above the view axis appears in the top-right of the image.
    scene = render.Scene([render.Sphere((1.0, 1.0, 0.0), 0.5, render.Diffuse(1.0))],
                         [render.PointLight((0.0, 0.0, 5.0), 30.0)])
    image = np.asarray(render.render(scene, render.Camera((0.0, 0.0, 5.0), (0.0, 0.0, 0.0), width=8, height=8)))
    bright = image.max(axis=-1) > 0
    assert bright[:4, 4:].sum() > 0 and bright[4:].sum() == 0 and bright[:, :4].sum() == 0


@pytest.mark.parametrize("fov", [0.0, -10.0, 180.0, 250.0])
def test_fov_outside_0_180_is_a_clear_error(fov):
    with pytest.raises(ValueError, match=r"Camera: `fov` must lie in \(0, 180\) degrees"):
        render.Camera((0.0, 0.0, 5.0), (0.0, 0.0, 0.0), fov=fov)


def test_fov_is_checked_under_jit():
    make = jax.jit(lambda fov: render.Camera((0.0, 0.0, 5.0), (0.0, 0.0, 0.0), fov=fov).fov)
    assert float(make(45.0)) == 45.0
    with pytest.raises(Exception, match="`fov` must lie in"):
        jax.block_until_ready(make(180.0))


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(target=(0.0, 0.0, 5.0)), "`target` must differ from `eye`"),
        (dict(up=(0.0, 0.0, 2.0)), "`up` must not be parallel"),
        (dict(width=0), "`width` must be a positive integer"),
        (dict(height=2.5), "`height` must be a positive integer"),
        (dict(eye=(0.0, np.nan, 5.0)), "`Camera eye` must be finite"),
    ],
)
def test_bad_camera_arguments(kwargs, words):
    args = dict(eye=(0.0, 0.0, 5.0), target=(0.0, 0.0, 0.0)) | kwargs
    with pytest.raises(ValueError, match=words):
        render.Camera(**args)


def test_eye_on_target_is_checked_under_jit():
    make = jax.jit(lambda eye: render.Camera(eye, (0.0, 0.0, 0.0), width=4, height=3).basis())
    assert np.all(np.isfinite(np.asarray(make(jnp.array([0.0, 0.0, 5.0])))))
    with pytest.raises(Exception, match="`target` must differ from `eye`"):
        jax.block_until_ready(make(jnp.zeros(3)))
    with pytest.raises(Exception, match="`up` must not be parallel"):
        jax.block_until_ready(make(jnp.array([0.0, 3.0, 0.0])))
