"""The scene, and its batched form: all primitives of one kind in one array."""

import equinox as eqx
import jax.numpy as jnp

from ._accel import MeshHits
from ._base import AbstractGeometry, AbstractLight, AbstractPrimitives
from ._triangle import TriangleMesh
from ._types import Array, ArrayLike, Float, RGB, as_rgb

import difsci as ds


class Scene(eqx.Module):
    """Objects, lights and the background colour.

    **Arguments:**
    - `objects`: geometry (`Sphere`, `Plane`, `Triangle`, `TriangleMesh`), each with a material.
    - `lights`: `PointLight`, `DirectionalLight`, `SphereLight`.
    - `background`: RGB radiance seen by rays that hit nothing (W/(sr m^2)); it lights nothing.

    Every float is a differentiable leaf: `jax.grad` of a loss of `render(scene, camera)` with
    respect to the scene returns a `Scene` of gradients.
    """

    objects: tuple[AbstractGeometry, ...]
    lights: tuple[AbstractLight, ...]
    background: RGB

    def __init__(self, objects=(), lights=(), background: ArrayLike = 0.0):
        objects, lights = tuple(objects), tuple(lights)
        for i, obj in enumerate(objects):
            if not isinstance(obj, AbstractGeometry):
                raise TypeError(f"Scene: `objects[{i}]` must be geometry (Sphere, Plane, Triangle, TriangleMesh), "
                                f"got {type(obj).__name__}")
        for i, light in enumerate(lights):
            if not isinstance(light, AbstractLight):
                raise TypeError(f"Scene: `lights[{i}]` must be a light (PointLight, DirectionalLight, SphereLight), "
                                f"got {type(light).__name__}")
        self.objects, self.lights = objects, lights
        background = as_rgb("Scene", "background", background)
        self.background = ds.check(background, jnp.isfinite(background) & (background >= 0),
                                   "`Scene background` must be >= 0 and finite")


class Batched(eqx.Module):
    """A scene as the kernels see it: per kind, one batch of primitives; one shading table.

    `shading` rows are `(a, bx, by, bz)` (the normal at `x` is along `a x + b`), then `Surface.rows`:
    albedo (3), emission (3), specular (3), shininess, reflectivity (3). Columns follow `kinds` in
    order. `lambertian` (no material has a highlight or a mirror) and `emissive` (some surface emits)
    let the kernels skip what no primitive needs. `meshes` are the triangle meshes whose hits an
    acceleration structure finds (`_accel`); the rest are tested against every ray.
    """

    kinds: tuple[AbstractPrimitives, ...]
    shading: Float[Array, "17 n"]
    meshes: tuple[MeshHits, ...]
    lights: tuple[AbstractLight, ...]
    background: RGB
    lambertian: bool = eqx.field(static=True)
    emissive: bool = eqx.field(static=True)

    @property
    def count(self) -> int:
        return self.shading.shape[1]


def batch_scene(scene: Scene, accel: str = "brute") -> Batched:
    """Group `scene`'s objects (and its area lights' spheres) by kind into batched arrays;
    triangle meshes go to the `accel` backend's hit queries instead."""
    geometry = list(scene.objects) + [g for g in (light.emitter() for light in scene.lights) if g is not None]
    groups: dict[type, list[tuple[AbstractPrimitives, Array]]] = {}
    meshes = []
    for obj in geometry:
        if isinstance(obj, TriangleMesh):
            if obj.faces.shape[0]:
                column = jnp.concatenate([jnp.zeros(4, obj.vertices.dtype), obj.material.surface().rows(())[:, 0]])
                meshes.append(MeshHits.of(obj, column, accel))
            continue
        prims = obj.primitives()
        rows = jnp.concatenate([prims.normal_coefficients(), obj.material.surface().rows(obj.batch_shape)], axis=0)
        groups.setdefault(type(prims), []).append((prims, rows))
    kinds = tuple(kind.concatenate([p for p, _ in group]) for kind, group in groups.items())
    columns = [rows for group in groups.values() for _, rows in group]
    dtype = jnp.result_type(*columns) if columns else jnp.result_type(float)
    shading = jnp.concatenate([c.astype(dtype) for c in columns], axis=1) if columns else jnp.zeros((17, 0), dtype)
    meshes = [eqx.tree_at(lambda m: m.column, m, m.column.astype(dtype)) for m in meshes] if columns else meshes
    lambertian = all(obj.material.is_lambertian for obj in geometry)
    emissive = any(light.emitter() is not None for light in scene.lights)
    return Batched(kinds, shading, tuple(meshes), scene.lights, scene.background, lambertian, emissive)
