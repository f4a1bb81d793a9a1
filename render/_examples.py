"""Standard scenes shared by the examples, `difsci demo`, the tests and the benchmarks: three
spheres for light fitting, a procedural torus mesh for meshes at scale."""

import numpy as np

from ._camera import Camera
from ._diffuse import Diffuse
from ._plane import Plane
from ._point_light import PointLight
from ._scene import Scene
from ._sphere import Sphere
from ._triangle import TriangleMesh
from ._types import ArrayLike

#: Where `three_spheres` puts its light by default, metres.
THREE_SPHERES_LIGHT = (1.0, 3.0, 2.0)


def three_spheres(
    light: ArrayLike = THREE_SPHERES_LIGHT, intensity: ArrayLike = 30.0, width: int = 64, height: int = 64
) -> tuple[Scene, Camera]:
    """Three diffuse spheres (red, green, blue; radii 1, 0.6, 0.5 metres) on a grey diffuse floor at
    `y = -1`, lit by one point light at `light` (metres) of `intensity` (W/sr), and a camera
    (`width x height` pixels, 45 degree field of view) looking at them from 6 metres.

    **Returns:** `(scene, camera)`.
    """
    scene = Scene(
        [
            Sphere((0.0, 0.0, 0.0), 1.0, Diffuse((0.8, 0.3, 0.25))),
            Sphere((1.7, -0.4, 0.6), 0.6, Diffuse((0.3, 0.75, 0.35))),
            Sphere((-1.5, -0.5, 0.9), 0.5, Diffuse((0.3, 0.4, 0.85))),
            Plane((0.0, -1.0, 0.0), (0.0, 1.0, 0.0), Diffuse(0.7)),
        ],
        [PointLight(light, intensity)],
    )
    camera = Camera((0.0, 2.0, 6.0), (0.0, -0.3, 0.0), fov=45.0, width=width, height=height)
    return scene, camera


def torus_mesh(n: int, major: float = 1.0, minor: float = 0.35) -> tuple[np.ndarray, np.ndarray]:
    """A torus around the z axis as an `n x n` grid of quads split into `2 n^2` triangles,
    wound counter-clockwise seen from outside: radii `major` (centre to tube centre) and
    `minor` (the tube), metres.

    **Returns:** `(vertices (n^2, 3), faces (2 n^2, 3))` NumPy arrays.
    """
    if not isinstance(n, int) or n < 3:
        raise ValueError(f"torus_mesh: `n` must be an integer >= 3, got {n!r}")
    if not 0 < minor < major:
        raise ValueError(f"torus_mesh: radii must satisfy 0 < minor < major, got minor={minor}, major={major}")
    u = np.linspace(0, 2 * np.pi, n, endpoint=False)
    around, tube = np.meshgrid(u, u, indexing="ij")
    r = major + minor * np.cos(tube)
    vertices = np.stack([r * np.cos(around), r * np.sin(around), minor * np.sin(tube)], -1).reshape(-1, 3)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    a, b = i * n + j, ((i + 1) % n) * n + j
    c, d = ((i + 1) % n) * n + (j + 1) % n, i * n + (j + 1) % n
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    return vertices, faces.astype(np.int32)


def torus_on_floor(
    n: int = 100, *, width: int = 256, height: int = 256, shading: str = "flat", light: ArrayLike = (1.0, -1.5, 3.0)
) -> tuple[Scene, Camera]:
    """A diffuse torus mesh of `2 n^2` triangles (`torus_mesh(n)`, radii 1 and 0.35 metres)
    resting on a diffuse floor at `z = -0.36`, lit by a 12 W/sr point light at `light`, seen by a
    45 degree camera from `(0.3, -2.6, 2)`: the mesh benchmark's scene (`n = 100`: 20,000 triangles).

    **Returns:** `(scene, camera)`; float32.
    """
    vertices, faces = torus_mesh(n)
    mesh = TriangleMesh(vertices.astype(np.float32), faces, Diffuse((0.75, 0.45, 0.3)), shading=shading)
    floor = Plane(np.float32([0, 0, -0.36]), np.float32([0, 0, 1]), Diffuse(np.float32(0.5)))
    scene = Scene([mesh, floor], [PointLight(np.asarray(light, np.float32), np.float32(12.0))])
    camera = Camera(np.float32([0.3, -2.6, 2.0]), np.float32([0, 0, 0]), np.float32([0, 0, 1]), fov=45.0,
                    width=width, height=height)
    return scene, camera


def fit_light_to_photo(
    out_dir,
    true_light: ArrayLike = THREE_SPHERES_LIGHT,
    start_light: ArrayLike = (-1.0, 2.0, 3.5),
    *,
    size: int = 64,
    steps: int = 300,
    learning_rate: float = 0.1,
    fit_albedo: bool = False,
) -> dict:
    """The light-fitting showcase end to end on `three_spheres`.

    Renders the scene with its light at `true_light` (metres), saves it as an 8-bit sRGB PNG
    and reads it back as the "photo"; then, from the light at `start_light` (and, with
    `fit_albedo`, every object grey), fits the light's position (and the colours) with
    `fit_light`. Writes reference.png, fit_strip.png and fit_loss.png to `out_dir`.

    **Returns:** a summary dict (positions, relative error, losses, seconds, picture paths).
    """
    import time
    from pathlib import Path

    import equinox as eqx
    import jax
    import numpy as np

    from ._fit import fit_light, save_fit_pictures
    from ._image import load_png, save_png
    from ._render import render

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    true_light = np.asarray(true_light, float)
    truth, camera = three_spheres(true_light, width=size, height=size)
    save_png(out_dir / "reference.png", render(truth, camera))
    reference = load_png(out_dir / "reference.png")
    start, _ = three_spheres(start_light, width=size, height=size)
    if fit_albedo:
        for i in range(len(start.objects)):
            start = eqx.tree_at(lambda s: s.objects[i].material.albedo, start, np.full(3, 0.5))
    began = time.perf_counter()
    fit = jax.block_until_ready(
        fit_light(start, camera, reference, steps=steps, learning_rate=learning_rate, fit_albedo=fit_albedo)
    )
    seconds = time.perf_counter() - began
    strip, curve = save_fit_pictures(out_dir, fit, camera, reference)
    found = np.asarray(fit.scene.lights[0].position)
    summary = {
        "true_position_m": true_light.tolist(),
        "initial_position_m": np.asarray(start_light, float).tolist(),
        "fitted_position_m": found.tolist(),
        "relative_error": float(np.linalg.norm(found - true_light) / np.linalg.norm(true_light)),
        "initial_loss": float(fit.losses[0]),
        "final_loss": float(fit.final_loss),
        "steps": steps,
        "seconds": seconds,
        "strip": str(strip),
        "loss_curve": str(curve),
    }
    if fit_albedo:
        summary["fitted_albedos"] = [np.asarray(o.material.albedo).round(3).tolist() for o in fit.scene.objects]
    return summary
