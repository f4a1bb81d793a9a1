"""Boundary terms of render gradients (silhouettes and shadow edges of spheres) against central
finite differences of high-spp renders with common random numbers."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import render

KEY = jax.random.key(7)


def _glowing(p):
    # A sphere of uniform radiance on black: the image's derivative is all boundary term.
    scene = render.Scene([], [render.SphereLight(p["center"], p["radius"], 2.0)])
    camera = render.Camera(p["eye"], p["target"], fov=p["fov"], width=16, height=16)
    return scene, camera


GLOWING = dict(
    center=jnp.array([1.1, 0.5, -0.3]), radius=jnp.array(0.9), eye=jnp.array([0.2, 0.8, 5.0]),
    target=jnp.array([0.0, 0.1, 0.0]), fov=jnp.array(40.0),
)


def _mean(make, spp, boundary=True):
    def loss(p):
        scene, camera = make(p)
        image = render.render(scene, camera, spp=spp, key=KEY, light_samples=1, boundary=boundary)
        return jnp.mean(image)

    return loss


def _central(f, p, name, index, h):
    def at(step):
        value = p[name] if index is None else p[name][index]
        moved = p[name] + step if index is None else p[name].at[index].set(value + step)
        return f({**p, name: moved})

    return (at(h) - at(-h)) / (2 * h)


def _entry(tree, name, index):
    return tree[name] if index is None else tree[name][index]


_GLOWING_FORWARD = jax.jit(_mean(_glowing, 4096, boundary=False))


@pytest.fixture(scope="module")
def glowing_grad():
    return eqx.filter_jit(jax.grad(_mean(_glowing, 1)))


def test_project_inverts_ray_vecs():
    camera = render.Camera((0.3, 1.0, 4.0), (0.1, 0.0, -0.2), fov=50.0, width=12, height=8)
    rows = jnp.array([0.0, 3.25, 7.9, 4.0])
    cols = jnp.array([0.0, 11.5, 2.2, 6.0])
    origins, directions = camera.ray_vecs(rows, cols)
    points = origins + directions * jnp.array([1.0, 2.5, 7.0, 0.3])
    r, c, depth = camera.project(points)
    np.testing.assert_allclose(r, rows, atol=1e-10)
    np.testing.assert_allclose(c, cols, atol=1e-10)
    forward = camera.basis()[2]
    np.testing.assert_allclose(depth, (points.stacked(axis=-1) - camera.eye) @ forward, rtol=1e-12)
    behind = camera.project(origins - directions)[2]
    assert np.all(np.asarray(behind) < 0)


@pytest.mark.parametrize(
    "name, index, h",
    [("center", 0, 0.1), ("center", 1, 0.1), ("center", 2, 0.1), ("radius", None, 0.1),
     ("eye", 1, 0.1), ("eye", 2, 0.1), ("target", 1, 0.1), ("fov", None, 1.0)],
)
def test_silhouette_gradient_matches_finite_differences(glowing_grad, name, index, h):
    grad = glowing_grad(GLOWING)
    reference = _central(_GLOWING_FORWARD, GLOWING, name, index, h)
    assert abs(float(reference)) > 1e-4  # the boundary term is the whole derivative here
    np.testing.assert_allclose(_entry(grad, name, index), reference, rtol=0.05)


def test_interior_gradient_unchanged(glowing_grad):
    # The image is linear in the sphere's radiance, and the edges do not move with it.
    def loss(p, radiance):
        scene, camera = _glowing(p)
        scene = eqx.tree_at(lambda s: s.lights[0].radiance, scene, radiance)
        return jnp.mean(render.render(scene, camera, key=KEY, light_samples=1))

    radiance = jnp.array([2.0, 1.0, 0.5])
    grad = jax.grad(loss, argnums=1)(GLOWING, radiance)
    image = render.render(*_glowing(GLOWING), key=KEY, light_samples=1)  # radiance 2 in every channel
    np.testing.assert_allclose(grad, jnp.mean(image, axis=(0, 1)) / (2.0 * 3), rtol=1e-10)


@pytest.mark.parametrize(
    "change",
    [
        dict(eye=jnp.array([1.1, 0.5, -0.3])),  # the camera at the sphere's centre
        dict(eye=jnp.array([1.1, 0.5, 0.55])),  # inside the sphere, near its surface
        dict(eye=jnp.array([1.1, 0.5, 0.6 + 1e-9])),  # on the surface: the silhouette degenerates
        dict(center=jnp.array([0.4, 0.2, 4.9])),  # the sphere around and behind the eye
        dict(center=jnp.array([2.6, 0.2, -0.3])),  # the silhouette grazes the image's edge
        dict(radius=jnp.array(1e-4)),  # a sphere smaller than a pixel
    ],
)
def test_no_nan_gradients(glowing_grad, change):
    grad = glowing_grad({**GLOWING, **change})
    for leaf in jax.tree_util.tree_leaves(grad):
        assert np.all(np.isfinite(leaf))


def test_boundary_flag_changes_no_pixel():
    scene, camera = _glowing(GLOWING)
    with_terms = render.render(scene, camera, spp=4, key=KEY, light_samples=1, boundary=True)
    without = render.render(scene, camera, spp=4, key=KEY, light_samples=1, boundary=False)
    np.testing.assert_array_equal(with_terms, without)


def test_bad_edge_samples():
    scene, camera = _glowing(GLOWING)
    with pytest.raises(ValueError, match="edge_samples"):
        render.render(scene, camera, key=KEY, edge_samples=0)


# A diffuse sphere before a floor under a hard light: silhouettes against the floor and the
# edge of the shadow on it.


def _on_floor(light):
    def make(p):
        lights = {"point": render.PointLight(p["light"], 25.0), "directional": render.DirectionalLight(p["light"], 4.0)}
        scene = render.Scene(
            [render.Sphere(p["center"], p["radius"], render.Diffuse(p["albedo"])),
             render.Plane((0.0, -1.2, 0.0), (0.0, 1.0, 0.0), render.Diffuse(0.6))],
            [lights[light]],
        )
        camera = render.Camera(p["eye"], (0.0, -0.5, 0.0), fov=p["fov"], width=24, height=24)
        return scene, camera

    return make


FLOOR = dict(
    center=jnp.array([0.3, 0.0, 0.0]), radius=jnp.array(0.8), albedo=jnp.array(0.7),
    eye=jnp.array([0.5, 1.5, 5.0]), fov=jnp.array(45.0),
)
LIGHTS = {"point": jnp.array([2.0, 3.0, 1.0]), "directional": jnp.array([-0.6, -1.0, -0.3])}


@pytest.mark.slow
@pytest.mark.parametrize("light", ["point", "directional"])
def test_floor_gradients_match_finite_differences(light):
    p = {**FLOOR, "light": LIGHTS[light]}
    make = _on_floor(light)
    grad = eqx.filter_jit(jax.grad(_mean(make, 64)))(p)
    interior = eqx.filter_jit(jax.grad(_mean(make, 64, boundary=False)))(p)
    forward = jax.jit(_mean(make, 4096, boundary=False))
    checks = [("center", 1), ("center", 2), ("light", 0), ("light", 1), ("eye", 1), ("fov", None)]
    # The directional light lights the floor out to its horizon, whose edge the camera turns
    # with; under it the radius and eye-x derivatives are respectively large and within the
    # finite differences' noise (and the reverse under the point light).
    checks += [("radius", None)] if light == "directional" else [("eye", 0)]
    for name, index in checks:
        reference = _central(forward, p, name, index, 0.5 if name == "fov" else 0.05)
        np.testing.assert_allclose(_entry(grad, name, index), reference, rtol=0.05, err_msg=f"{name}[{index}]")
    # Interior derivatives (the albedo moves no edge) are those without boundary terms.
    np.testing.assert_allclose(grad["albedo"], interior["albedo"], rtol=1e-10)
