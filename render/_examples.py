"""A small standard scene shared by the light-fitting example, `difsci demo` and the benchmark."""

from ._camera import Camera
from ._diffuse import Diffuse
from ._plane import Plane
from ._point_light import PointLight
from ._scene import Scene
from ._sphere import Sphere
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
