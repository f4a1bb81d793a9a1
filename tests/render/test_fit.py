"""Fitting a point light (and surface colours) to a reference image."""

import numpy as np
import pytest
from PIL import Image

import render

TRUE_LIGHT = np.array([1.0, 3.0, 2.0])
CAMERA = render.Camera((0.0, 2.0, 6.0), (0.0, -0.3, 0.0), fov=45.0, width=32, height=32)


def make_scene(light, albedo=(0.7, 0.4, 0.3)):
    return render.Scene(
        [render.Sphere((0.0, 0.0, 0.0), 1.0, render.Diffuse(albedo)),
         render.Sphere((1.5, -0.5, 0.8), 0.5, render.Diffuse(0.5)),
         render.Plane((0.0, -1.0, 0.0), (0.0, 1.0, 0.0), render.Diffuse(0.8))],
        [render.PointLight(light, 30.0)],
    )


REFERENCE = render.render(make_scene(TRUE_LIGHT), CAMERA)


@pytest.fixture(scope="module")
def position_fit():
    return render.fit_light(make_scene((-0.5, 2.2, 3.0)), CAMERA, REFERENCE, steps=200, learning_rate=0.1)


def test_fit_recovers_the_light_position_from_a_displaced_start(position_fit):
    found = np.asarray(position_fit.scene.lights[0].position)
    assert np.linalg.norm(found - TRUE_LIGHT) / np.linalg.norm(TRUE_LIGHT) < 1e-3
    losses = np.asarray(position_fit.losses)
    assert losses.shape == (200,) and losses[-1] < 1e-4 * losses[0] and float(position_fit.final_loss) < losses[-1]
    # Only the light moved.
    np.testing.assert_array_equal(position_fit.initial.lights[0].position, [-0.5, 2.2, 3.0])
    np.testing.assert_array_equal(position_fit.scene.objects[0].material.albedo, [0.7, 0.4, 0.3])


def test_fit_light_and_albedo_together():
    start = make_scene((-0.5, 2.2, 3.0), albedo=0.5)
    fit = render.fit_light(start, CAMERA, REFERENCE, steps=800, learning_rate=0.1, fit_albedo=True)
    found = np.asarray(fit.scene.lights[0].position)
    assert np.linalg.norm(found - TRUE_LIGHT) / np.linalg.norm(TRUE_LIGHT) < 2e-2
    np.testing.assert_allclose(fit.scene.objects[0].material.albedo, [0.7, 0.4, 0.3], rtol=3e-2)
    np.testing.assert_allclose(fit.scene.objects[2].material.albedo, 0.8, rtol=3e-2)


def test_fit_writes_a_strip_and_a_loss_curve(tmp_path, position_fit):
    strip, curve = render.save_fit_pictures(tmp_path / "out", position_fit, CAMERA, REFERENCE)
    with Image.open(strip) as im:
        assert im.size == (3 * 32 + 2 * 2, 32)
        pixels = np.asarray(im.convert("RGB"))
    # The fitted panel matches the reference panel; the initial one does not.
    initial, fitted, reference = pixels[:, :32], pixels[:, 34:66], pixels[:, 68:100]
    assert np.abs(fitted.astype(int) - reference).max() <= 1
    assert np.abs(initial.astype(int) - reference).max() > 20
    with Image.open(curve) as im:
        assert im.size[0] > 100 and im.size[1] > 100


@pytest.mark.parametrize(
    "kwargs, words",
    [(dict(light=1), "`light` must index"), (dict(steps=0), "`steps` must be a positive integer"),
     (dict(reference=np.zeros((8, 8, 3))), "`reference` must have the camera's shape"),
     (dict(learning_rate=0.0), "`learning_rate` must be > 0")],
)
def test_fit_light_bad_arguments(kwargs, words):
    args = dict(reference=REFERENCE) | kwargs
    reference = args.pop("reference")
    with pytest.raises(ValueError, match=words):
        render.fit_light(make_scene((0.0, 3.0, 0.0)), CAMERA, reference, **args)


def test_fit_light_needs_a_point_light():
    scene = render.Scene([render.Sphere((0.0, 0.0, 0.0), 1.0, render.Diffuse())], [render.DirectionalLight((0, -1, 0), 1.0)])
    with pytest.raises(ValueError, match="must be a PointLight"):
        render.fit_light(scene, CAMERA, REFERENCE)
