"""Property tests over the scene objects, lights, materials and camera: random valid values
give a finite image with finite gradients; random invalid ones (NaN, inf, negative, zero,
wrong shape, wrong dtype, wrong type) are a ValueError naming the argument eagerly, and under
`eqx.filter_jit` the same message on the error's first line.

Constructors cost microseconds eagerly; the jitted constructors and the one tiny render are
compiled once and reused by every example.
"""

import math

import equinox as eqx
import hypothesis.strategies as hs
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import render

from ..helpers import assert_finite, assert_rejected

SETTINGS = settings(max_examples=4, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
EAGER = settings(SETTINGS, max_examples=30)

MAT = render.Diffuse(0.5)
VALID = {
    "point": hs.tuples(*[hs.floats(-2.0, 2.0)] * 3),
    "direction": hs.tuples(hs.floats(0.2, 1.0), hs.floats(-1.0, 1.0), hs.floats(-1.0, 1.0)),
    "positive": hs.floats(0.2, 2.0),
    "power": hs.floats(0.0, 20.0),  # emission: >= 0 and finite
    "unit": hs.floats(0.0, 1.0),
    "fov": hs.floats(10.0, 120.0),
    "exponent": hs.floats(0.0, 100.0),
}
_BAD_VEC = [(math.nan, 0.0, 0.0), (0.0, math.inf, 0.0), (0.0, 0.0, -math.inf)]
_MALFORMED_VEC = [(1.0, 2.0), np.ones((2, 2)), 3.0, "1,2,3", None, (1j, 0.0, 0.0), (True, False, True)]
INVALID = {
    "point": _BAD_VEC + _MALFORMED_VEC,
    "direction": _BAD_VEC + [(0.0, 0.0, 0.0)] + _MALFORMED_VEC,
    "positive": [math.nan, math.inf, 0.0, -1.0, "1", None, 1j, True],
    "power": [math.nan, math.inf, -1.0, (1.0, math.nan, 1.0), (1.0, 2.0), "1", None, 1j],
    "unit": [math.nan, math.inf, -0.1, 1.5, (0.5, 2.0, 0.5), (0.5, 0.5), "0.5", None, 1j],
    "fov": [math.nan, math.inf, 0.0, -10.0, 180.0, 200.0, np.ones(2), "40", None, 1j],
    # A scalar per material; an array of them is a batch, not a mistake.
    "exponent": [math.nan, math.inf, -1.0, "50", None, 1j, True],
}

# name -> (constructor of keyword arguments, {argument: kind})
OBJECTS = {
    "Sphere": (lambda center, radius: render.Sphere(center, radius, MAT), {"center": "point", "radius": "positive"}),
    "Plane": (lambda point, normal: render.Plane(point, normal, MAT), {"point": "point", "normal": "direction"}),
    "Triangle": (lambda v0: render.Triangle(v0, jnp.array([1.0, 0.0, 0.0]), jnp.array([0.0, 1.0, 0.0]), MAT),
                 {"v0": "point"}),
    "PointLight": (render.PointLight, {"position": "point", "intensity": "power"}),
    "DirectionalLight": (render.DirectionalLight, {"direction": "direction", "irradiance": "power"}),
    "SphereLight": (render.SphereLight, {"center": "point", "radius": "positive", "radiance": "power"}),
    "Diffuse": (render.Diffuse, {"albedo": "unit"}),
    "Glossy": (render.Glossy, {"albedo": "unit", "specular": "power", "shininess": "exponent", "reflectivity": "unit"}),
    "Camera": (lambda eye, fov: render.Camera(eye, (0.0, 0.0, 0.0), fov=fov, width=4, height=3),
               {"eye": "direction", "fov": "fov"}),
    "Scene": (lambda background: render.Scene((), (), background), {"background": "power"}),
}


@hs.composite
def valid_params(draw, table):
    return {name: draw(VALID[kind]) for name, kind in table.items()}


@hs.composite
def one_invalid(draw, table, numeric_only=False):
    params = draw(valid_params(table))
    name = draw(hs.sampled_from(sorted(table)))
    bad = [v for v in INVALID[table[name]] if not numeric_only or _numeric_like(v, params[name])]
    params[name] = draw(hs.sampled_from(bad))
    return params, name


def _numeric_like(bad, good):
    # A value that can be traced in place of a valid one: real numbers of the same shape.
    try:
        b, g = np.asarray(bad), np.asarray(good)
    except Exception:  # noqa: BLE001
        return False
    return b.dtype.kind == "f" and b.shape == g.shape


_JIT_MAKE = {key: eqx.filter_jit(lambda p, make=make: make(**p)) for key, (make, _) in OBJECTS.items()}


@pytest.mark.parametrize("key", sorted(OBJECTS))
@EAGER
@given(data=hs.data())
def test_valid_values_construct_finite_objects(key, data):
    make, table = OBJECTS[key]
    obj = make(**data.draw(valid_params(table)))
    assert_finite(obj)


@pytest.mark.parametrize("key", sorted(OBJECTS))
@EAGER
@given(data=hs.data())
def test_invalid_values_name_the_argument(key, data):
    make, table = OBJECTS[key]
    params, name = data.draw(one_invalid(table))
    assert_rejected(lambda: make(**params), name)


@pytest.mark.parametrize("key", sorted(OBJECTS))
@SETTINGS
@given(data=hs.data())
def test_invalid_values_name_the_argument_under_jit(key, data):
    _, table = OBJECTS[key]
    params, name = data.draw(one_invalid(table, numeric_only=True))
    arrays = {k: jnp.asarray(v, float) for k, v in params.items()}
    assert_rejected(lambda: _JIT_MAKE[key](arrays), name, jitted=True)


MESH_VERTICES = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
MESH_FACES = np.array([[0, 1, 2], [0, 1, 3]])


@EAGER
@given(
    which=hs.sampled_from(["vertices", "faces", "normals", "shading"]),
    bad=hs.sampled_from(["nan", "shape", "dtype", "type", "range"]),
)
def test_mesh_invalid_arguments_name_the_argument(which, bad):
    kwargs = {"vertices": MESH_VERTICES, "faces": MESH_FACES, "normals": MESH_VERTICES + 1.0, "shading": "smooth"}
    value = {
        "vertices": {"nan": np.where(MESH_VERTICES == 1.0, np.nan, MESH_VERTICES), "shape": MESH_VERTICES[:, :2],
                     "dtype": MESH_VERTICES + 0j, "type": "cube", "range": np.full((4, 3), np.inf)},
        "faces": {"nan": MESH_FACES * 1.0, "shape": MESH_FACES[:, :2], "dtype": MESH_FACES.astype(float),
                  "type": "0 1 2", "range": MESH_FACES + 5},
        "normals": {"nan": np.full((4, 3), np.nan), "shape": np.ones((3, 3)), "dtype": MESH_VERTICES + 1j,
                    "type": "up", "range": np.zeros((4, 3))},
        "shading": {"nan": "phong", "shape": "", "dtype": "FLAT", "type": 1, "range": "gouraud"},
    }[which][bad]
    kwargs[which] = value
    assert_rejected(lambda: render.TriangleMesh(kwargs["vertices"], kwargs["faces"], MAT, shading=kwargs["shading"],
                                                normals=kwargs["normals"]), which)


def test_render_needs_a_scene_and_a_camera():
    camera = render.Camera((0.0, 0.0, 5.0), (0.0, 0.0, 0.0), width=4, height=3)
    with pytest.raises(TypeError, match="`scene` must be a render.Scene"):
        render.render("scene", camera)
    with pytest.raises(TypeError, match="`camera` must be a render.Camera"):
        render.render(render.Scene(), None)
    for name, kwargs in [("spp", {"spp": 0}), ("spp", {"spp": True}), ("max_depth", {"max_depth": -1}),
                         ("light_samples", {"light_samples": 1.5})]:
        assert_rejected(lambda: render.render(render.Scene(), camera, **kwargs), name)


# --- valid scenes render finitely, with finite gradients to every float --------------------


def _scene(p):
    glossy = render.Glossy(p["albedo"], p["specular"], p["shininess"], p["reflectivity"])
    objects = (render.Sphere(p["center"], p["radius"], glossy), render.Plane(jnp.array([0.0, -1.0, 0.0]), p["normal"], MAT),
               render.Triangle(p["v0"], jnp.array([1.0, 0.0, -1.0]), jnp.array([0.0, 1.0, -1.0]), MAT))
    lights = (render.PointLight(p["position"], p["intensity"]), render.DirectionalLight(p["direction"], p["irradiance"]))
    return render.Scene(objects, lights, p["background"])


@eqx.filter_jit
def _image_and_grad(p):
    def loss(p):
        camera = render.Camera(p["eye"], jnp.zeros(3), fov=p["fov"], width=4, height=3)
        return jnp.mean(render.render(_scene(p), camera))

    return jax.value_and_grad(loss)(p)


SCENE_TABLE = {"albedo": "unit", "specular": "power", "shininess": "exponent", "reflectivity": "unit",
               "center": "point", "radius": "positive", "normal": "direction", "v0": "point",
               "position": "point", "intensity": "power", "direction": "direction", "irradiance": "power",
               "background": "power", "fov": "fov"}


@SETTINGS
@given(p=valid_params(SCENE_TABLE), eye=hs.tuples(hs.floats(-1.0, 1.0), hs.floats(-1.0, 1.0), hs.floats(6.0, 8.0)))
def test_valid_scenes_render_finite_images_with_finite_gradients(p, eye):
    p = {k: jnp.asarray(v, float) for k, v in {**p, "eye": eye}.items()}
    # Shading points inside the sphere or exactly on a light would be degenerate, not invalid.
    p["position"] = p["position"] + jnp.array([0.0, 4.0, 0.0])
    value, grad = _image_and_grad(p)
    assert_finite((value, grad))
    assert value >= 0
