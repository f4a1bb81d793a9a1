"""`render`: gradients against finite differences, finite gradients everywhere, batching."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import render

from ..helpers import central_difference

CAMERA = render.Camera((0.4, 2.0, 6.0), (0.0, -0.3, 0.0), fov=45.0, width=14, height=10)


def make_scene(light=(1.0, 3.0, 2.0), intensity=(30.0, 25.0, 20.0)):
    return render.Scene(
        [render.Sphere((0.0, 0.0, 0.0), 1.0, render.Diffuse((0.7, 0.5, 0.3))),
         render.Sphere((1.6, -0.4, 0.5), 0.6, render.Glossy(0.3, specular=0.2, shininess=20.0, reflectivity=0.4)),
         render.Plane((0.0, -1.0, 0.0), (0.0, 1.0, 0.0), render.Diffuse(0.8))],
        [render.PointLight(light, intensity)],
    )


SCENE = make_scene()


@eqx.filter_jit
def _jvp(scene, camera, tangents):
    return jax.jvp(lambda s, c: render.render(s, c, max_depth=1), (scene, camera), tangents)[1]


@eqx.filter_jit
def _vjp(scene, camera, cotangent):
    return jax.vjp(lambda s, c: render.render(s, c, max_depth=1), scene, camera)[1](cotangent)


def _zeros(tree):
    return jax.tree_util.tree_map(lambda x: jnp.zeros_like(x) if eqx.is_inexact_array(x) else x, tree)


PARAMETERS = {
    "light position": (lambda s, c: s.lights[0].position, np.array([0.3, -0.5, 0.8])),
    "light intensity": (lambda s, c: s.lights[0].intensity, np.array([1.0, -2.0, 0.5])),
    "diffuse albedo": (lambda s, c: s.objects[0].material.albedo, np.array([0.5, 1.0, -0.3])),
    "floor albedo": (lambda s, c: s.objects[2].material.albedo, np.array([-1.0, 0.2, 0.4])),
    "glossy shininess": (lambda s, c: s.objects[1].material.shininess, np.array(3.0)),
    "sphere center": (lambda s, c: s.objects[0].center, np.array([0.1, 0.2, -0.1])),
    "camera eye": (lambda s, c: c.eye, np.array([0.2, -0.1, 0.3])),
    "camera fov": (lambda s, c: c.fov, np.array(1.0)),
}


@pytest.mark.parametrize("name", list(PARAMETERS))
def test_gradient_matches_finite_differences_on_smooth_pixels(name):
    where, direction = PARAMETERS[name]
    direction = jnp.asarray(direction, jnp.float64)
    pair = (SCENE, CAMERA)

    def moved(h):
        s, c = eqx.tree_at(lambda p: where(*p), pair, replace_fn=lambda x: x + h * direction)
        return np.asarray(render.render(s, c, max_depth=1))

    tangent = eqx.tree_at(lambda p: where(*p), _zeros(pair), direction)
    forward = np.asarray(_jvp(SCENE, CAMERA, tangent))
    h = 1e-5
    fd = central_difference(moved, 0.0, h)
    fd_half = central_difference(moved, 0.0, h / 2)
    # Smooth pixels: the two step sizes agree (no edge of a shadow or silhouette crossed).
    scale = np.abs(fd).max()
    smooth = np.all(np.abs(fd - fd_half) <= 1e-6 * scale + 1e-9, axis=-1)
    assert smooth.mean() > 0.85
    assert scale > 1e-3  # the parameter does change the image
    np.testing.assert_allclose(forward[smooth], fd[smooth], rtol=1e-5, atol=1e-6 * scale)
    # Reverse mode agrees with forward mode: <w, J v> = <J^T w, v>.
    w = np.asarray(jax.random.normal(jax.random.key(3), forward.shape))
    gs, gc = _vjp(SCENE, CAMERA, jnp.asarray(w))
    np.testing.assert_allclose(np.sum(where(gs, gc) * direction), np.sum(w * forward), rtol=1e-9)


LIGHTS = {
    "above": (1.0, 3.0, 2.0),
    "inside the sphere": (0.1, 0.2, -0.1),
    "at the sphere's centre": (0.0, 0.0, 0.0),
    "on the sphere's surface": (0.0, 1.0, 0.0),
    "on the floor": (0.5, -1.0, 1.0),
    "below the floor": (0.0, -3.0, 0.0),
    "behind the camera": (0.8, 4.0, 12.0),
    "at the camera": (0.4, 2.0, 6.0),
    "far away": (1e4, 2e4, 1e4),
    "grazing the floor": (-50.0, -0.999, 0.0),
}


@pytest.mark.parametrize("where", list(LIGHTS))
def test_gradients_are_finite_for_every_light_position(where):
    scene = make_scene(light=LIGHTS[where])
    image = render.render(scene, CAMERA, max_depth=1)
    assert np.all(np.isfinite(image))
    grads = _vjp(scene, CAMERA, 2 * image)  # the gradient of sum(image**2)
    leaves = jax.tree_util.tree_leaves(eqx.filter(grads, eqx.is_inexact_array))
    assert len(leaves) > 10 and all(bool(jnp.all(jnp.isfinite(x))) for x in leaves), where


def test_light_inside_a_sphere_lights_nothing_outside():
    image = render.render(make_scene(light=(0.1, 0.2, -0.1)), CAMERA)
    np.testing.assert_array_equal(image, 0.0)


def test_misses_see_the_background_and_it_has_no_nan_gradient():
    scene = render.Scene([render.Sphere((0.0, 0.0, 0.0), 0.5, render.Diffuse(0.5))],
                         [render.PointLight((0.0, 2.0, 2.0), 5.0)], background=(0.1, 0.2, 0.3))
    camera = render.Camera((0.0, 0.0, 5.0), (0.0, 0.0, 0.0), width=6, height=6)
    image = np.asarray(render.render(scene, camera))
    np.testing.assert_array_equal(image[0, 0], [0.1, 0.2, 0.3])
    grads = jax.grad(lambda s: jnp.sum(render.render(s, camera)))(scene)
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree_util.tree_leaves(grads))


def test_empty_scene_is_the_background():
    camera = render.Camera((0.0, 0.0, 5.0), (0.0, 0.0, 0.0), width=3, height=2)
    np.testing.assert_array_equal(render.render(render.Scene(background=0.25), camera), 0.25)


def test_vmap_over_cameras_and_over_light_positions():
    eyes = jnp.array([[0.4, 2.0, 6.0], [-1.0, 1.5, 5.0], [2.0, 3.0, 4.0]])
    lights = jnp.array([[1.0, 3.0, 2.0], [-1.0, 2.5, 1.0], [0.0, 4.0, -1.0]])

    def by_camera(eye):
        return render.render(SCENE, render.Camera(eye, CAMERA.target, fov=45.0, width=14, height=10))

    def by_light(position):
        return render.render(make_scene(light=position), CAMERA)

    batched_cameras, batched_lights = jax.vmap(by_camera)(eyes), jax.vmap(by_light)(lights)
    for i in range(3):
        np.testing.assert_allclose(batched_cameras[i], by_camera(eyes[i]), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(batched_lights[i], by_light(lights[i]), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "kwargs, words",
    [(dict(spp=0), "`spp` must be a positive integer"), (dict(spp=4), "pass `key="),
     (dict(max_depth=-1), "`max_depth` must be an integer >= 0")],
)
def test_bad_render_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        render.render(SCENE, CAMERA, **kwargs)
